"""Browser story for subscriptions: subscribe, get billed, cancel; the producer follows it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from subscriptions.models import Subscription
from subscriptions.tasks import collect_recurrences, create_due_recurrences
from tests.e2e.conftest import login
from tests.factories import PASSWORD, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_subscribe_get_billed_cancel_and_the_producer_sees_it(page, browser, live_server, shot):
    plan = PlanFactory(
        name="Monthly",
        price_minor=4990,
        promo_first_price_minor=990,
        product__name="Growth Club",
        product__producer__email="paula@example.com",
    )
    UserFactory(email="bruno@example.com")

    login(page, "bruno@example.com", PASSWORD)
    page.goto(f"/p/{plan.product.pk}/")
    page.get_by_role("link", name="Subscribe").click()
    page.get_by_label("Country").select_option("BR")
    # The country change refreshes the form (htmx); let it land before typing into it.
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Boleto Bancário")).to_be_visible()  # offered in Brazil
    page.get_by_label("Boleto Bancário").check()
    expect(page.locator("#field-card_number")).to_be_hidden()  # a slip needs no card
    page.get_by_label("Credit card").check()
    expect(page.locator("#field-card_number")).to_be_visible()
    page.get_by_label("Card number", exact=True).fill("4242 4242 4242 4242")
    shot(page, "30-subscribe")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("You subscribed to Growth Club.")).to_be_visible()
    expect(page.locator(".details")).to_contain_text("Active")
    expect(page.locator("table")).to_contain_text("R$9.90")  # promotional first installment

    # A month later the beat tasks bill the next installment (triggered here).
    subscription = Subscription.objects.get()
    # Due yesterday: a recurrence is due from BILLING_LOCAL_HOUR of its date, whatever the hour now.
    yesterday = timezone.now().date() - timedelta(days=1)
    Subscription.objects.filter(pk=subscription.pk).update(next_charge_date=yesterday)
    assert create_due_recurrences() == 1
    assert collect_recurrences() == 1
    page.reload()
    row = page.locator("tbody tr", has_text="R$49.90")
    expect(row).to_contain_text("Paid")
    shot(page, "31-subscription-billed")

    page.get_by_role("link", name="Cancel subscription").click()
    expect(page.get_by_role("heading", name="Cancel subscription")).to_be_visible()
    page.get_by_role("button", name="Confirm cancellation").click()
    expect(page.get_by_text("Your subscription was canceled.")).to_be_visible()
    expect(page.locator(".details")).to_contain_text("Canceled by the customer")

    producer_context = browser.new_context(base_url=live_server.url)
    producer = producer_context.new_page()
    login(producer, "paula@example.com", PASSWORD)
    producer.goto(f"/products/{plan.product.pk}/subscribers/")
    row = producer.locator("tr", has_text="bruno@example.com")
    expect(row).to_contain_text("Canceled by the customer")
    expect(row).to_contain_text("#1 Paid")
    expect(row).to_contain_text("#2 Paid")
    producer.get_by_label("Status").select_option("active")
    expect(producer.locator("#subscriber-list")).to_contain_text("No subscribers")
    shot(producer, "32-subscribers")
    producer_context.close()
    subscription.refresh_from_db()
    assert (subscription.status, subscription.paid_count) == ("canceled_by_customer", 2)
