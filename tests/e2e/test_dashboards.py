"""Browser story for the dashboards: a producer reads their figures, a cocreator answers a
pending invitation from the dashboard, a buyer finds the slip to pay and the declined card;
each at 1280 and 390 px, with nothing scrolling sideways."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from subscriptions.models import Subscription
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.dashboards.builders import (
    first_paid,
    one_time_slip,
    paid,
    recurrence,
    recurrence_slip,
)
from tests.e2e.conftest import login
from tests.factories import (
    PASSWORD,
    AffiliationFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
)
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 390)


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls {overflow}px sideways"


def at_both_widths(page, shot, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        no_sideways_scroll(page)
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_producer_dashboard(page, shot):
    producer = UserFactory(
        email="paula@example.com", full_name="Paula Prado", validated=True, time_zone="UTC"
    )
    course = ProductFactory(producer=producer, name="Growth Course", price_minor=19700)
    euro = ProductFactory(producer=producer, name="Lisbon Workshop", currency="EUR")
    paid(course, 6, amount_minor=19700)
    paid(
        course,
        4,
        amount_minor=19700,
        at=timezone.now() - timedelta(days=timezone.localdate().day + 2),
    )
    paid(course, 9, amount_minor=19700, at=timezone.now() - timedelta(days=100))
    paid(euro, 2, amount_minor=4500)
    plan = PlanFactory(product__producer=producer, product__name="Growth Club", price_minor=4990)
    long_ago = timezone.now() - timedelta(days=90)
    for _ in range(3):
        first_paid(SubscriptionFactory(plan=plan, status=Subscription.Status.ACTIVE), long_ago)
    overdue = first_paid(
        SubscriptionFactory(plan=plan, status=Subscription.Status.OVERDUE), long_ago
    )
    recurrence(overdue)
    canceled = SubscriptionFactory(
        plan=plan, status=Subscription.Status.CANCELED_BY_CUSTOMER, ended_at=timezone.now()
    )
    first_paid(canceled, long_ago)
    contract = ContractFactory(
        product=course, active=True, cocreator__full_name="Carla Costa Cocreator"
    )
    ChangeRequestFactory(contract=contract, by_cocreator=True)
    AffiliationFactory(product=course, affiliate__email="a.very.long.affiliate.email@example.com")

    login(page, "paula@example.com", PASSWORD)

    section = page.locator("section[aria-labelledby=dash-producer]")
    expect(section).to_contain_text("Revenue this month · BRL")
    expect(section).to_contain_text("R$1,182.00")  # 6 * 197.00, never added to the euros
    expect(section).to_contain_text("Revenue this month · EUR")
    expect(section).to_contain_text("€90.00")
    expect(section).to_contain_text("Last month: R$788.00")
    expect(section).to_contain_text("MRR · BRL")
    expect(section).to_contain_text("R$199.60")  # three active and one overdue at 49.90
    expect(section).to_contain_text("Recoverable revenue · BRL")
    expect(section).to_contain_text("1 of 5 subscribers at the start of the month canceled")
    expect(section.locator("svg.bar-chart-revenue")).to_have_count(2)
    expect(section.get_by_text("Top products this month")).to_be_visible()
    waiting = page.locator(".dash-waiting")
    expect(waiting).to_contain_text("asked to end the co-production of Growth Course")
    expect(waiting).to_contain_text("asked to be an affiliate of Growth Course")
    at_both_widths(page, shot, "60-dashboard-producer")

    waiting.get_by_role("link", name="Answer").click()
    expect(page).to_have_url(re.compile(rf"/co-productions/{contract.pk}/history/"))


def test_cocreator_answers_a_pending_invitation_from_the_dashboard(page, shot):
    cocreator = UserFactory(email="carla@example.com", full_name="Carla Costa", validated=True)
    invitation = ContractFactory(
        cocreator=cocreator,
        product__name="Launch Kit",
        product__producer__full_name="Paula Prado",
        commission_percent=15,
    )
    earning = ContractFactory(
        cocreator=cocreator,
        active=True,
        accepted_at=timezone.now() - timedelta(days=60),
        product__name="Growth Course",
        end_date=timezone.localdate() + timedelta(days=200),
    )
    paid(earning.product, 3, amount_minor=10000)
    last_month = timezone.now() - timedelta(days=timezone.localdate().day + 2)
    paid(earning.product, 2, amount_minor=10000, at=last_month)
    ChangeRequestFactory(contract=earning)

    login(page, "carla@example.com", PASSWORD)

    waiting = page.locator(".dash-waiting")
    expect(waiting).to_contain_text("Paula invited you to co-produce Launch Kit")
    expect(waiting).to_contain_text("Change to approve on Growth Course")
    earnings = page.locator("#dash-cocreator-earnings").locator("xpath=..")
    expect(earnings).to_contain_text("R$26.88")  # three sales this month, 8.96 each
    expect(earnings).to_contain_text("R$17.92")  # two last month
    at_both_widths(page, shot, "61-dashboard-cocreator")

    waiting.get_by_role("link", name="Accept invite").click()
    expect(page).to_have_url(re.compile(rf"/products/cocreator/{invitation.pk}/accept/"))
    page.get_by_label("I have read and accept the Co-production Terms of Use").check()
    page.get_by_role("button", name="Accept invite").click()
    expect(page.get_by_text("You are now a cocreator of Launch Kit.")).to_be_visible()

    page.goto("/dashboard/")
    expect(page.locator(".dash-waiting")).not_to_contain_text("invited you to co-produce")
    expect(page.locator("#dash-cocreator-contracts").locator("xpath=..")).to_contain_text(
        "Launch Kit"
    )


def test_buyer_sees_what_to_pay_and_update(page, shot):
    buyer = UserFactory(email="bruno@example.com", full_name="Bruno Buyer", time_zone="UTC")
    plan = PlanFactory(product__name="Growth Club", name="Monthly", price_minor=4990)
    SubscriptionFactory(
        plan=plan,
        buyer=buyer,
        status=Subscription.Status.ACTIVE,
        next_charge_date=timezone.localdate() + timedelta(days=9),
    )
    declined = SubscriptionFactory(
        plan=PlanFactory(product__name="Yoga Weekly", name="Premium yearly", periodicity="yearly"),
        buyer=buyer,
        status=Subscription.Status.OVERDUE,
    )
    recurrence(declined, next_attempt_at=timezone.now() + timedelta(days=2))
    recurrence_slip(buyer, PlanFactory(product__name="Boleto Club"))
    slip = one_time_slip(ProductFactory(name="Spreadsheet Pack", price_minor=2990), buyer)
    paid(ProductFactory(name="E-book on pricing"), 1, buyer=buyer)

    login(page, "bruno@example.com", PASSWORD)

    action = page.locator(".dash-needs-action")
    expect(action).to_contain_text("A payment slip of R$29.90 for Spreadsheet Pack")
    expect(action).to_contain_text("The payment for Yoga Weekly was declined")
    section = page.locator("section[aria-labelledby=dash-buyer]")
    expect(section).to_contain_text("Next charge")
    expect(section).to_contain_text("Waiting for your slip to be paid")
    expect(section).to_contain_text("Payment declined; next try on")
    expect(section.get_by_role("link", name="My subscriptions").first).to_be_visible()
    at_both_widths(page, shot, "62-dashboard-buyer")

    action.get_by_role("link", name="Update payment").click()
    expect(page).to_have_url(re.compile(rf"/subscriptions/{declined.pk}/"))
    page.go_back()
    page.locator(f"a[href='/purchases/{slip.pk}/slip/']").click()
    expect(page).to_have_url(re.compile(rf"/purchases/{slip.pk}/slip/"))
