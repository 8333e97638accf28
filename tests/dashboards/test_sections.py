"""Who sees which dashboard section, and what waits for each person, with links to the screen
where it is answered."""

import datetime as dt
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from products import reports
from subscriptions.models import Recurrence, Subscription
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.dashboards.builders import (
    DASHBOARD,
    dashboard_queries,
    one_time_slip,
    paid,
    recurrence,
    recurrence_slip,
)
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def html_of(client, user) -> str:
    return dashboard_queries(client, user)[1]


# ---------------------------------------------------------------------------- access


def test_anonymous_is_sent_to_login():
    response = Client().get(DASHBOARD)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_a_person_with_no_role_is_shown_how_to_start(client):
    html = html_of(client, UserFactory())
    assert "Get started" in html
    assert 'id="dash-producer"' not in html and 'id="dash-cocreator"' not in html
    assert 'id="dash-buyer"' not in html


def test_only_the_sections_of_the_roles_a_person_has():
    client = Client()
    producer = ProductFactory().producer
    buyer = UserFactory()
    SubscriptionFactory(buyer=buyer)
    cocreator = ContractFactory().cocreator

    seen = {}
    for name, user in (("producer", producer), ("buyer", buyer), ("cocreator", cocreator)):
        html = html_of(client, user)
        seen[name] = {
            role for role in ("producer", "cocreator", "buyer") if f'id="dash-{role}"' in html
        }
    assert seen == {"producer": {"producer"}, "buyer": {"buyer"}, "cocreator": {"cocreator"}}


def test_a_declined_invitation_alone_makes_no_cocreator_section(client):
    declined = ContractFactory(declined=True)
    ContractFactory(canceled=True, cocreator=declined.cocreator)
    assert 'id="dash-cocreator"' not in html_of(client, declined.cocreator)


def test_no_one_sees_another_producers_money(client):
    producer = UserFactory(validated=True)
    paid(ProductFactory(producer=producer, name="Mine"), 1, amount_minor=12345)
    other = UserFactory(validated=True)
    paid(ProductFactory(producer=other, name="Theirs"), 1, amount_minor=77777)

    html = html_of(client, producer)

    assert "R$123.45" in html
    assert "777.77" not in html and "Theirs" not in html


# ---------------------------------------------------------------- producer: what waits


def test_producer_sees_a_cocreators_termination_request_with_the_link_to_answer_it(client):
    contract = ContractFactory(active=True, product__name="Growth Course")
    ChangeRequestFactory(contract=contract, by_cocreator=True)
    own = ContractFactory(active=True, product=ProductFactory(producer=contract.product.producer))
    ChangeRequestFactory(contract=own)  # the producer's own proposal waits for the cocreator

    waiting = list(reports_waiting(contract.product.producer))
    html = html_of(client, contract.product.producer)

    assert [c.contract_id for c in waiting] == [contract.pk]
    assert "asked to end the co-production of <strong>Growth Course</strong>" in html
    assert reverse("coproduction:history", args=[contract.pk]) in html
    assert reverse("coproduction:history", args=[own.pk]) not in html


def reports_waiting(producer):
    from coproduction.selectors import producer_waiting

    since = timezone.now() - timedelta(days=30)
    return producer_waiting(producer=producer, since=since, count=8).terminations


def test_producer_sees_answers_to_their_requests_for_thirty_days(client):
    contract = ContractFactory(active=True, product__name="Course")
    producer = contract.product.producer
    ChangeRequestFactory(contract=contract, refused=True)
    old = ContractFactory(active=True, product=ProductFactory(producer=producer))
    ChangeRequestFactory(
        contract=old, accepted=True, responded_at=timezone.now() - timedelta(days=31)
    )

    html = html_of(client, producer)

    assert "refused your request (Commission percentage)" in html
    assert reverse("coproduction:history", args=[contract.pk]) in html
    assert reverse("coproduction:history", args=[old.pk]) not in html


def test_producer_sees_affiliation_requests_and_validation_status(client):
    affiliation = AffiliationFactory(product__name="Course")
    AffiliationFactory(product=affiliation.product, approved=True)
    producer = affiliation.product.producer

    html = html_of(client, producer)

    assert f"<strong>{affiliation.affiliate.email}</strong> asked to be an affiliate" in html
    assert html.count("asked to be an affiliate") == 1
    assert reverse("products:affiliates", args=[affiliation.product_id]) in html
    assert "Account validation" in html and "Validated" in html


def test_an_unvalidated_producer_is_offered_the_validation(client):
    producer = UserFactory()
    ProductFactory(producer=producer)
    html = html_of(client, producer)
    assert "Not submitted" in html and reverse("accounts:validation") in html


# ------------------------------------------------------------------------ cocreator


def test_cocreator_sees_invitations_with_accept_and_information_links(client):
    contract = ContractFactory(product__name="Launch Kit", commission_percent=15)
    html = html_of(client, contract.cocreator)
    assert "invited you to co-produce <strong>Launch Kit</strong>" in html
    assert "15 % commission" in html
    assert reverse("coproduction:accept", args=[contract.pk]) in html
    assert reverse("coproduction:information", args=[contract.pk]) in html


def test_an_unvalidated_cocreator_is_told_to_validate_not_shown_the_invitation(client):
    contract = ContractFactory(cocreator=UserFactory(), product__name="Secret Product")
    html = html_of(client, contract.cocreator)
    assert "Secret Product" not in html
    assert reverse("coproduction:accept", args=[contract.pk]) not in html
    assert "Only a validated account can see invitations" in html


def test_cocreator_sees_changes_and_terminations_waiting_for_their_answer(client):
    cocreator = UserFactory(validated=True)
    change = ChangeRequestFactory(contract__cocreator=cocreator, contract__product__name="A")
    ending = ChangeRequestFactory(
        contract__cocreator=cocreator, contract__product__name="B", termination=True
    )
    mine = ChangeRequestFactory(contract__cocreator=cocreator, by_cocreator=True)

    html = html_of(client, cocreator)

    assert "Change to approve on <strong>A</strong>: Commission percentage" in html
    assert "asked to end the co-production of <strong>B</strong>" in html
    assert reverse("coproduction:history", args=[change.contract_id]) in html
    assert reverse("coproduction:history", args=[ending.contract_id]) in html
    # Their own request waits for the producer, not for them.
    assert reverse("coproduction:history", args=[mine.contract_id]) not in html


def test_cocreator_contracts_show_their_end_dates_active_first(client):
    cocreator = UserFactory(validated=True)
    eternal = ContractFactory(cocreator=cocreator, active=True, product__name="Eternal One")
    dated = ContractFactory(
        cocreator=cocreator, active=True, product__name="Dated", end_date=dt.date(2030, 5, 31)
    )
    ended = ContractFactory(cocreator=cocreator, ended=True, product__name="Over")
    ContractFactory(cocreator=cocreator, declined=True, product__name="Declined one")

    from coproduction.selectors import cocreator_waiting

    assert cocreator_waiting(cocreator=cocreator, count=8).contracts == [dated, eternal, ended]
    html = html_of(client, cocreator)
    assert "Until May 31, 2030" in html and "Eternal" in html
    assert "Declined one" not in html


def test_cocreator_earnings_per_contract_and_month():
    cocreator = UserFactory(validated=True)
    accepted = timezone.now() - timedelta(days=80)
    first = ContractFactory(
        cocreator=cocreator, active=True, accepted_at=accepted, product__name="First"
    )
    second = ContractFactory(
        cocreator=cocreator, active=True, accepted_at=accepted, product__name="Second"
    )
    # Another cocreator of the same product: their share is not this one's.
    ContractFactory(product=first.product, active=True, accepted_at=accepted)
    today = timezone.localdate()
    last_month = reports.month_before(reports.month_start(today))
    paid(first.product, 2, amount_minor=10000)  # 10 % of 89.60 each: 8.96
    paid(first.product, 1, amount_minor=10000, at=timezone.now() - timedelta(days=today.day + 1))
    paid(second.product, 1, amount_minor=20000)

    rows = reports.cocreator_earnings_by_contract(user=cocreator, zone=dt.UTC, today=today)

    by_name = {row.product_name: row for row in rows}
    assert set(by_name) == {"First", "Second"}
    assert (by_name["First"].this_month, by_name["First"].last_month) == (2 * 896, 896)
    assert by_name["First"].total == 3 * 896
    assert by_name["First"].months[1][0] == last_month
    assert by_name["Second"].this_month > 0 and by_name["Second"].last_month == 0
    assert all(row.contract_id in (first.pk, second.pk) for row in rows)


# ---------------------------------------------------------------------------- buyer


def test_buyer_sees_subscriptions_with_their_next_charge_and_links(client):
    buyer = UserFactory(time_zone="America/Sao_Paulo")
    plan = PlanFactory(product__name="Club", name="Gold", price_minor=4990)
    sub = SubscriptionFactory(
        plan=plan,
        buyer=buyer,
        status=Subscription.Status.ACTIVE,
        next_charge_date=dt.date(2030, 1, 10),
    )
    paid(ProductFactory(name="E-book"), 1, buyer=buyer)

    html = html_of(client, buyer)

    assert "Next charge Jan 10, 2030 · R$49.90" in html
    assert reverse("subscriptions:detail", args=[sub.pk]) in html
    assert reverse("subscriptions:mine") in html and reverse("products:purchases") in html
    assert "E-book" in html


def test_a_subscription_waiting_for_its_slip_does_not_show_a_next_charge(client):
    buyer = UserFactory()
    plan = PlanFactory(product__name="Club")
    slip = recurrence_slip(buyer, plan, next_charge_date=dt.date(2030, 2, 10))

    html = html_of(client, buyer)

    assert "Waiting for your slip to be paid" in html
    assert "Next charge" not in html
    assert reverse("products:slip", args=[slip.sale_id]) in html
    assert "Pay the slip" in html


def test_slips_to_pay_are_the_ones_still_payable_and_the_buyers_own(client):
    buyer = UserFactory()
    product = ProductFactory(name="Course")
    payable = one_time_slip(product, buyer)
    old = one_time_slip(product, buyer, started_at=timezone.now() - timedelta(days=4))
    someone_elses = one_time_slip(product, UserFactory())
    expired = recurrence_slip(buyer, PlanFactory())
    Recurrence.objects.filter(pk=expired.pk).update(
        slip_expires_at=timezone.now() - timedelta(minutes=1)
    )

    from subscriptions.selectors import slips_to_pay

    found = list(slips_to_pay(buyer=buyer, now=timezone.now()))
    assert found == [payable]
    assert found[0].pay_by > timezone.now()
    html = html_of(client, buyer)
    assert reverse("products:slip", args=[payable.pk]) in html
    for sale_id in (old.pk, someone_elses.pk, expired.sale_id):
        assert reverse("products:slip", args=[sale_id]) not in html


def test_a_declined_card_links_to_updating_the_payment(client):
    buyer = UserFactory()
    plan = PlanFactory(product__name="Club")
    declined = SubscriptionFactory(plan=plan, buyer=buyer, status=Subscription.Status.OVERDUE)
    recurrence(declined)
    SubscriptionFactory(plan=plan, buyer=buyer, status=Subscription.Status.ACTIVE)
    SubscriptionFactory(plan=plan, buyer=buyer, status="overdue", method="boleto")

    html = html_of(client, buyer)

    assert "The payment for <strong>Club</strong> was declined" in html
    assert html.count("was declined") == 1  # a slip is paid, not updated
    assert reverse("subscriptions:detail", args=[declined.pk]) + "#payment" in html


def test_nothing_to_act_on_shows_no_action_card(client):
    buyer = UserFactory()
    SubscriptionFactory(buyer=buyer, status=Subscription.Status.ACTIVE)
    assert "Needs your action" not in html_of(client, buyer)


def test_in_portuguese_money_reads_the_reader_way_and_chart_coordinates_stay_numbers(client):
    import re

    producer = UserFactory(validated=True, language="pt-br")
    paid(ProductFactory(producer=producer), 1, amount_minor=123456)

    html = html_of(client, producer)

    assert "R$\xa01.234,56" in html
    assert re.search(r'<rect x="[0-9.]+" y="[0-9.]+" width="[0-9.]+"', html)
    assert not re.search(r'(x|y|width|height)="[0-9]+,[0-9]', html)
