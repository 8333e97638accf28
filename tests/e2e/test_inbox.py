"""Browser stories for the inbox: nothing waits unseen. A cocreator finds the invitation in the
bell and on the dashboard and answers it; a producer approves a termination request from the
inbox; a buyer whose card was declined hears of it, updates the card from the link, and the
retry pays."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coproduction.models import Contract
from coproduction.services.contracts import contract_invite, contract_request_end
from subscriptions.models import Recurrence, Subscription
from subscriptions.tasks import collect_recurrences, create_due_recurrences
from tests.coproduction.factories import ContractFactory, invite_fields
from tests.e2e.conftest import link_from_last_email, login
from tests.factories import PASSWORD, PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import DECLINED, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def bell_count(page):
    return page.locator("#bell .bell-count")


def test_a_cocreator_finds_the_invitation_in_the_bell_and_the_dashboard(page, shot):
    producer = UserFactory(validated=True, full_name="Paula Lima")
    product = ProductFactory(producer=producer, name="Data Course")
    cocreator = UserFactory(validated=True, email="caio@example.com")
    contract_invite(
        product=product, actor=producer, cocreator_email=cocreator.email, **invite_fields()
    )

    login(page, "caio@example.com", PASSWORD)
    expect(bell_count(page)).to_have_text("1")
    # The dashboard lists it too, with the button that answers it.
    expect(page.get_by_text("invited you to co-produce")).to_be_visible()
    shot(page, "inbox-01-dashboard-invitation")

    page.locator("#bell").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    item = page.locator(".inbox-item", has_text="Paula Lima invited you to co-produce Data Course")
    expect(item).to_have_class("inbox-item unread")
    shot(page, "inbox-02-inbox")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "inbox-02-inbox-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    item.get_by_role("button").first.click()

    expect(page.get_by_role("link", name="Accept invite")).to_be_visible()
    expect(page.locator("#bell .bell-count")).to_have_count(0)  # read once opened
    page.get_by_role("link", name="Accept invite").click()
    page.get_by_label("I have read and accept the Co-production Terms of Use").check()
    page.get_by_role("button", name="Accept invite").click()
    expect(page.get_by_text("You are now a cocreator of Data Course.")).to_be_visible()
    assert Contract.objects.get().status == Contract.Status.ACTIVE


def test_a_producer_approves_a_termination_request_from_the_inbox(page, shot):
    producer = UserFactory(validated=True, email="paula@example.com")
    product = ProductFactory(producer=producer, name="Data Course")
    cocreator = UserFactory(validated=True, full_name="Caio Souza")
    contract = ContractFactory(product=product, cocreator=cocreator, active=True)
    contract_request_end(contract=contract, actor=cocreator)

    login(page, "paula@example.com", PASSWORD)
    expect(bell_count(page)).to_have_text("1")
    page.goto("/account/inbox/")
    item = page.locator(".inbox-item", has_text="Request to end the co-production of Data Course")
    item.get_by_role("button").first.click()

    row = page.locator("tr", has_text="Termination")
    expect(row).to_be_visible()
    shot(page, "inbox-03-termination-request")
    if row.locator("summary").count():
        row.locator("summary").click()
    row.get_by_role("button", name="Accept").click()
    expect(page.locator("tr", has_text="Termination")).to_contain_text("Accepted")
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED


def test_a_declined_card_is_told_updated_from_the_link_and_the_retry_pays(page, shot, mailoutbox):
    plan = PlanFactory(name="Monthly", price_minor=4990, product__name="Growth Club")
    buyer = UserFactory(email="bruno@example.com")
    subscription = subscribe(plan, buyer)
    yesterday = timezone.now().date() - timedelta(days=1)
    Subscription.objects.filter(pk=subscription.pk).update(
        next_charge_date=yesterday, payment_token=DECLINED
    )
    mailoutbox.clear()
    assert create_due_recurrences() == 1
    assert collect_recurrences() == 1
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.OVERDUE
    (email,) = [m for m in mailoutbox if "declined" in m.subject]
    assert email.to == ["bruno@example.com"]

    login(page, "bruno@example.com", PASSWORD)
    expect(bell_count(page)).to_be_visible()
    page.goto("/account/inbox/")
    expect(page.locator(".inbox-item").first).to_contain_text(
        "Your payment for Growth Club was declined: update your card"
    )
    shot(page, "inbox-04-declined")

    page.goto(link_from_last_email(r"/subscriptions/\d+/"))
    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()
    shot(page, "inbox-05-update-card")
    page.get_by_label("Credit card").check()
    page.get_by_label("New card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Update payment").click()
    expect(page.get_by_text("Payment details updated; the next charges use them.")).to_be_visible()

    assert collect_recurrences() == 1  # the new card is tried at the next run
    second = Recurrence.objects.get(subscription=subscription, number=2)
    assert second.status == Recurrence.Status.PAID
    page.reload()
    expect(page.locator(".details")).to_contain_text("Active")
    page.goto("/account/inbox/")
    expect(page.locator(".inbox-item").first).to_contain_text("Payment received")
