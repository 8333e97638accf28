"""Each dashboard costs the same number of queries with 1 and with 50 rows of its data: sales,
subscriptions, recurrences, contracts, invitations, requests, purchases and slips."""

from datetime import timedelta

import pytest
from django.utils import timezone

from products.models import Affiliation
from subscriptions.models import Subscription
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.dashboards.builders import (
    dashboard_queries,
    one_time_slip,
    paid,
    recurrence,
    recurrence_slip,
)
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

# Ceilings, so a fixed but wasteful number of queries is noticed too (a first visit: the
# ledger's sums are not in the cache yet).
PRODUCER_QUERIES = 10
COCREATOR_QUERIES = 8
BUYER_QUERIES = 11


def producer_with(rows: int):
    """A producer with `rows` of everything the producer section reads, in two currencies."""
    producer = UserFactory(validated=True)
    brl = ProductFactory(producer=producer, currency="BRL")
    eur = ProductFactory(producer=producer, currency="EUR")
    paid(brl, rows)
    paid(eur, rows, at=timezone.now() - timedelta(days=40))  # last month, or the one before
    plan = PlanFactory(product__producer=producer, product__currency="BRL")
    for index in range(rows):
        SubscriptionFactory(plan=plan, status=Subscription.Status.ACTIVE)
        overdue = SubscriptionFactory(plan=plan, status=Subscription.Status.OVERDUE)
        recurrence(overdue)
        SubscriptionFactory(
            plan=plan,
            status=Subscription.Status.CANCELED_BY_CUSTOMER,
            ended_at=timezone.now(),
        )
        contract = ContractFactory(product=brl, active=True)
        ChangeRequestFactory(contract=contract, by_cocreator=True)
        answered = ContractFactory(product=eur, active=True)
        ChangeRequestFactory(contract=answered, refused=True, responded_by=answered.cocreator)
        AffiliationFactory(product=brl, status=Affiliation.Status.PENDING)
        if index and index % 10 == 0:  # more products in the top list as rows grow
            paid(ProductFactory(producer=producer), 1)
    return producer


def test_producer_dashboard_queries_do_not_grow(client):
    one, html_one = dashboard_queries(client, producer_with(1))
    fifty, html_fifty = dashboard_queries(client, producer_with(50))

    assert fifty == one, (one, fifty)
    assert one <= PRODUCER_QUERIES
    # Both really drew the figures, not an empty page.
    for html in (html_one, html_fifty):
        assert "Revenue this month · BRL" in html and "Recoverable revenue" in html
        assert "asked to end the co-production" in html


def cocreator_with(rows: int):
    """A validated cocreator with `rows` invitations, active contracts (each with a sale that
    pays them), changes and termination requests waiting for their answer."""
    cocreator = UserFactory(validated=True)
    for index in range(rows):
        ContractFactory(cocreator=cocreator)  # an invitation
        contract = ContractFactory(
            cocreator=cocreator, active=True, accepted_at=timezone.now() - timedelta(days=1)
        )
        paid(contract.product, 1)
        if index % 2:
            ChangeRequestFactory(contract=contract)
        else:
            ChangeRequestFactory(contract=contract, termination=True)
    return cocreator


def test_cocreator_dashboard_queries_do_not_grow(client):
    one, html_one = dashboard_queries(client, cocreator_with(1))
    fifty, html_fifty = dashboard_queries(client, cocreator_with(50))

    assert fifty == one, (one, fifty)
    assert one <= COCREATOR_QUERIES
    assert "Accept invite" in html_one and "Earnings per co-production" in html_one
    assert html_fifty.count("Accept invite") == 8  # the first eight, then "More"
    for html in (html_one, html_fifty):
        assert "asked to end the co-production" in html
    assert "Change to approve on" in html_fifty


def buyer_with(rows: int):
    """A buyer with `rows` one-time purchases, subscriptions, slips and declined cards."""
    buyer = UserFactory(validated=True)
    product = ProductFactory()
    plan = PlanFactory()
    for _ in range(rows):
        paid(product, 1, buyer=buyer)
        SubscriptionFactory(plan=plan, buyer=buyer, status=Subscription.Status.ACTIVE)
        declined = SubscriptionFactory(plan=plan, buyer=buyer, status=Subscription.Status.OVERDUE)
        recurrence(declined)
        one_time_slip(product, buyer)
        recurrence_slip(buyer, plan)
    return buyer


def test_buyer_dashboard_queries_do_not_grow(client):
    one, html_one = dashboard_queries(client, buyer_with(1))
    fifty, html_fifty = dashboard_queries(client, buyer_with(50))

    assert fifty == one, (one, fifty)
    assert one <= BUYER_QUERIES
    for html in (html_one, html_fifty):
        assert "Pay the slip" in html and "Update payment" in html
    assert html_fifty.count("Pay the slip") == 8  # the first eight, then "More"
    assert "More slips to pay in My purchases" in html_fifty


def test_a_person_with_every_role_costs_the_sum_of_their_sections(client):
    """Producer, cocreator and buyer at once: all three sections, producer first."""
    person = producer_with(1)
    ContractFactory(cocreator=person)
    SubscriptionFactory(buyer=person, status=Subscription.Status.ACTIVE)

    count, html = dashboard_queries(client, person)

    assert count <= PRODUCER_QUERIES + COCREATOR_QUERIES + BUYER_QUERIES
    producer_at = html.index('id="dash-producer"')
    cocreator_at = html.index('id="dash-cocreator"')
    buyer_at = html.index('id="dash-buyer"')
    assert producer_at < cocreator_at < buyer_at
