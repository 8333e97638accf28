"""Refunds have outcomes (issue 8, finding 7): requested → sent → succeeded | failed; the
reversal is written when the gateway confirms, a failed refund is retried by beat and shown to
admins, and a payment split over two cards refunds each card its proportional part."""

from datetime import timedelta

import pytest
import time_machine
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from coproduction.models import LedgerEntry
from products.models import Refund, Sale, SimulatedGatewayCharge
from products.payments.gateway import SimulatedGateway
from products.services.refunds import refunds_retry, sale_refund
from products.tasks import retry_refunds
from tests.factories import PlanFactory, SaleFactory, UserFactory
from tests.subscriptions.factories import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def refusing_gateway():
    """The simulator refuses refunds of the references put in this set."""
    SimulatedGateway.failing_refunds = set()
    yield SimulatedGateway.failing_refunds
    SimulatedGateway.failing_refunds = set()


def ledger_total(sale) -> int:
    return LedgerEntry.objects.filter(sale=sale).aggregate(t=Sum("amount_minor"))["t"] or 0


def test_a_refund_the_gateway_refuses_leaves_the_books_unchanged_and_is_retried(
    refusing_gateway,
):
    sale = SaleFactory(paid=True, amount_minor=10000)
    refusing_gateway.add(sale.attempts.get().gateway_reference)

    refund = sale_refund(sale=sale, actor=sale.product.producer, amount_minor=4000)

    assert refund.status == Refund.Status.FAILED
    assert refund.last_error and refund.tries == 1
    sale.refresh_from_db()
    assert sale.status == Sale.Status.PAID  # nothing went back yet
    assert ledger_total(sale) == 10000  # no reversal written
    assert sale.refundable_minor == 6000  # the 4000 stay reserved: never refunded twice
    assert not SimulatedGatewayCharge.objects.filter(kind="refund").exists()

    assert refunds_retry() == 0  # its back-off has not passed
    refusing_gateway.clear()  # the gateway recovers
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert retry_refunds() == 1  # the beat task
    refund.refresh_from_db()
    sale.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert sale.status == Sale.Status.PARTIALLY_REFUNDED
    assert ledger_total(sale) == 6000
    assert SimulatedGatewayCharge.objects.filter(kind="refund").count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert refunds_retry() == 0  # done: never sent again


def test_a_lost_refund_answer_is_sent_again_with_the_same_key(monkeypatch):
    sale = SaleFactory(paid=True, amount_minor=10000)
    calls = []
    original = SimulatedGateway.refund

    def lose_first(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        result = original(self, **kwargs)
        if len(calls) == 1:
            raise SystemExit("the worker died after the gateway refunded")
        return result

    monkeypatch.setattr(SimulatedGateway, "refund", lose_first)
    with pytest.raises(SystemExit):
        sale_refund(sale=sale, actor=sale.product.producer, amount_minor=10000)
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.SENT
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert refunds_retry() == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert calls[0] == calls[1]  # the same key: the gateway refunds once
    assert SimulatedGatewayCharge.objects.filter(kind="refund").count() == 1
    assert ledger_total(sale) == 0


def test_failed_refunds_are_listed_for_admins_and_can_be_sent_again(client, refusing_gateway):
    sale = SaleFactory(paid=True)
    refusing_gateway.add(sale.attempts.get().gateway_reference)
    refund = sale_refund(sale=sale, actor=sale.product.producer, amount_minor=100)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:products_refund_changelist")

    listed = client.get(url, {"status__exact": "failed"})
    assert listed.context["cl"].result_count == 1
    refusing_gateway.clear()
    client.post(url, {"action": "send_again", "_selected_action": [refund.pk]})
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED


def test_a_two_card_payment_refunds_each_card_its_proportional_part():
    plan = PlanFactory(price_minor=10000)
    subscription = subscribe(plan, second_token="tok_approved", second_amount_minor=2500)
    sale = subscription.recurrences.get(number=1).sale
    card1, card2 = sale.attempts.order_by("number")
    assert (card1.amount_minor, card2.amount_minor) == (7500, 2500)

    first = sale_refund(sale=sale, actor=plan.product.producer, amount_minor=4001)
    second = sale_refund(sale=sale, actor=plan.product.producer, amount_minor=5999)

    refunded = {
        c.idempotency_key: c.amount_minor
        for c in SimulatedGatewayCharge.objects.filter(kind="refund")
    }
    assert refunded[f"refund-{first.pk}-attempt-{card1.pk}"] == 3001
    assert refunded[f"refund-{first.pk}-attempt-{card2.pk}"] == 1000
    # Together each card got back exactly what it paid.
    per_card = {card1.pk: 0, card2.pk: 0}
    for refund in (first, second):
        for part in refund.card_parts:
            per_card[part["attempt"]] += part["amount_minor"]
    assert per_card == {card1.pk: 7500, card2.pk: 2500}
    sale.refresh_from_db()
    assert sale.status == Sale.Status.REFUNDED
    assert ledger_total(sale) == 0
