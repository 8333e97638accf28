"""Refunds and chargebacks through the services: who may refund what and when, the status the
sale moves to, and the reversing ledger entries (proportional, exact, never beyond a share)."""

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from coproduction.models import LedgerEntry
from products.models import Refund, Sale, SimulatedGatewayCharge
from products.payments.gateway import SimulatedGateway
from products.services.sales import sale_chargeback, sale_pay, sale_refund
from tests.factories import (
    AffiliationFactory,
    ProductFactory,
    SaleFactory,
    UserFactory,
    use_gateway,
)
from tests.sales.test_ledger import buy, cocreator_contract

pytestmark = pytest.mark.django_db

Status = Sale.Status


@pytest.fixture
def sale(time_machine):
    """100.00 BRL with a 35 % affiliate and a 10 % cocreator: 1040 / 3136 / 582 / 5242."""
    time_machine.move_to(timezone.now(), tick=False)
    product = ProductFactory(guarantee_days=7)
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=35)
    cocreator_contract(product, percent="10")
    return buy(product, code=affiliation.code)


def by_line(sale, entry_type=None) -> dict[int, int]:
    entries = LedgerEntry.objects.filter(sale=sale)
    if entry_type:
        entries = entries.filter(entry_type=entry_type)
    totals: dict[int, int] = defaultdict(int)
    for line, amount in entries.values_list("line", "amount_minor"):
        totals[line] += amount
    return dict(totals)


def reversal_of(refund) -> list[int]:
    return list(refund.ledger_entries.order_by("line").values_list("amount_minor", flat=True))


def snapshot(sale):
    sale.refresh_from_db()
    return (
        sale.status,
        sale.refunded_minor,
        Refund.objects.filter(sale=sale).count(),
        LedgerEntry.objects.filter(sale=sale).count(),
        SimulatedGatewayCharge.objects.filter(kind="refund").count(),
    )


def test_partial_refund_then_the_rest(sale):
    producer = sale.product.producer

    first = sale_refund(sale=sale, actor=producer, amount_minor=3000, reason="Late delivery")
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor, sale.refundable_minor) == (
        Status.PARTIALLY_REFUNDED,
        3000,
        7000,
    )
    assert (first.kind, first.amount_minor, first.reason, first.requested_by) == (
        Refund.Kind.REFUND,
        3000,
        "Late delivery",
        producer,
    )
    assert reversal_of(first) == [-312, -941, -174, -1573]  # of 312, 940.8, 174.6, 1572.6

    rest = sale_refund(sale=sale, actor=producer)

    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor, sale.refundable_minor) == (Status.REFUNDED, 10000, 0)
    assert rest.amount_minor == 7000
    assert sum(reversal_of(rest)) == -7000
    assert set(by_line(sale).values()) == {0}  # every line back to zero


def test_each_reversal_sums_to_its_refund_and_no_line_gives_back_more_than_it_got(sale):
    producer = sale.product.producer
    for amount in (1, 333, 2500, 1, 4000):
        refund = sale_refund(sale=sale, actor=producer, amount_minor=amount)
        assert sum(reversal_of(refund)) == -amount
        assert all(value <= 0 for value in reversal_of(refund))
        split = by_line(sale, LedgerEntry.EntryType.SPLIT)
        for line, total in by_line(sale).items():
            assert 0 <= total <= split[line]

    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor) == (Status.PARTIALLY_REFUNDED, 6835)


def test_reversing_entries_copy_the_lines_they_reverse(sale):
    refund = sale_refund(sale=sale, actor=sale.product.producer, amount_minor=5000)

    originals = {e.line: e for e in LedgerEntry.objects.filter(sale=sale, entry_type="split")}
    for entry in refund.ledger_entries.all():
        original = originals[entry.line]
        assert entry.entry_type == LedgerEntry.EntryType.REFUND
        assert (entry.role, entry.beneficiary_id, entry.contract_id, entry.affiliation_id) == (
            original.role,
            original.beneficiary_id,
            original.contract_id,
            original.affiliation_id,
        )
        assert entry.created_at == refund.created_at


@pytest.mark.parametrize("amount", [7001, 10**9])
def test_a_refund_larger_than_what_is_left_is_refused_and_changes_nothing(sale, amount):
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=3000)
    before = snapshot(sale)

    with pytest.raises(DomainError) as raised:
        sale_refund(sale=sale, actor=sale.product.producer, amount_minor=amount)

    assert raised.value.message == "At most R$70.00 is left to refund on this sale."
    assert snapshot(sale) == before


@pytest.mark.parametrize("amount", [0, -100])
def test_a_refund_of_nothing_is_refused(sale, amount):
    before = snapshot(sale)

    with pytest.raises(DomainError, match="above zero"):
        sale_refund(sale=sale, actor=sale.product.producer, amount_minor=amount)

    assert snapshot(sale) == before


def test_the_buyer_gets_everything_left_within_the_guarantee(sale, time_machine):
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=1000)
    # The last moment of the guarantee: the end of its 7th day in the buyer's zone (UTC here).
    time_machine.move_to(sale.guarantee_ends_at - timedelta(seconds=1))

    refund = sale_refund(sale=sale, actor=sale.buyer, amount_minor=1, reason="Not for me")

    assert refund.amount_minor == 9000  # the buyer's refund is always the whole remainder
    sale.refresh_from_db()
    assert sale.status == Status.REFUNDED


def test_the_buyer_is_refused_after_the_guarantee(sale, time_machine):
    time_machine.move_to(sale.guarantee_ends_at)
    before = snapshot(sale)

    with pytest.raises(DomainError, match="7-day guarantee period of this purchase is over"):
        sale_refund(sale=sale, actor=sale.buyer)

    assert snapshot(sale) == before


def test_the_guarantee_follows_the_products_setting(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    sale = SaleFactory(product=ProductFactory(guarantee_days=30), paid=True)
    time_machine.shift(timedelta(days=20))

    assert sale_refund(sale=sale, actor=sale.buyer).amount_minor == 10000


@pytest.mark.parametrize("who", ["stranger", "affiliate", "cocreator"])
def test_nobody_else_may_refund(sale, who):
    actor = {
        "stranger": UserFactory(),
        "affiliate": sale.affiliation.affiliate,
        "cocreator": sale.product.contracts.get().cocreator,
    }[who]
    before = snapshot(sale)

    with pytest.raises(PermissionDenied):
        sale_refund(sale=sale, actor=actor)

    assert snapshot(sale) == before


@pytest.mark.parametrize("who", ["producer", "admin"])
def test_the_producer_and_an_admin_refund_any_amount_long_after_the_guarantee(
    sale, time_machine, who
):
    actor = sale.product.producer if who == "producer" else UserFactory(is_staff=True)
    time_machine.move_to(sale.paid_at + timedelta(days=400))

    refund = sale_refund(sale=sale, actor=actor, amount_minor=1234)

    assert refund.requested_by == actor
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor) == (Status.PARTIALLY_REFUNDED, 1234)


def test_the_gateway_refunds_the_approved_payment_with_a_key_per_refund(sale):
    refund = sale_refund(sale=sale, actor=sale.product.producer, amount_minor=2500)

    charge = SimulatedGatewayCharge.objects.get(kind="refund")
    paid = sale.attempts.get(status="approved")
    assert (charge.idempotency_key, charge.amount_minor) == (
        f"refund-{refund.pk}-attempt-{paid.pk}",
        2500,
    )
    assert refund.status == Refund.Status.SUCCEEDED
    refund.refresh_from_db()
    assert refund.gateway_reference == charge.reference


class WatchingGateway(SimulatedGateway):
    """Records how deep in transactions each call happens."""

    depths: list[int] = []

    def charge(self, **kwargs):
        self.depths.append(len(connection.atomic_blocks))
        return super().charge(**kwargs)

    def refund(self, **kwargs):
        self.depths.append(len(connection.atomic_blocks))
        return super().refund(**kwargs)


def test_the_gateway_is_never_called_inside_a_transaction(monkeypatch):
    use_gateway(monkeypatch, WatchingGateway)
    WatchingGateway.depths = []
    sale = SaleFactory()
    outside = len(connection.atomic_blocks)  # the test's own transaction

    sale_pay(sale=sale, token="4242424242424242")
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=100)

    assert WatchingGateway.depths == [outside, outside]


def test_refunding_an_unpaid_sale_is_refused():
    sale = SaleFactory()

    for actor in (sale.product.producer, sale.buyer):
        with pytest.raises(InvalidTransition, match="Nothing is left"):
            sale_refund(sale=sale, actor=actor)
    assert not Refund.objects.exists()


def test_a_refunded_sale_cannot_be_refunded_again(sale):
    sale_refund(sale=sale, actor=sale.product.producer)
    before = snapshot(sale)

    with pytest.raises(InvalidTransition, match="Nothing is left"):
        sale_refund(sale=sale, actor=sale.product.producer, amount_minor=1)

    assert snapshot(sale) == before


def test_a_chargeback_after_a_partial_refund_reverses_only_what_is_left(sale):
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=3000)

    chargeback = sale_chargeback(sale=sale, actor=None)

    assert (chargeback.kind, chargeback.amount_minor, chargeback.reason) == (
        Refund.Kind.CHARGEBACK,
        7000,
        "Chargeback",
    )
    assert set(chargeback.ledger_entries.values_list("entry_type", flat=True)) == {"chargeback"}
    assert sum(reversal_of(chargeback)) == -7000
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor, sale.refundable_minor) == (
        Status.CHARGED_BACK,
        10000,
        0,
    )
    assert set(by_line(sale).values()) == {0}
    # The card issuer took the money itself: nothing is sent back through the gateway.
    assert SimulatedGatewayCharge.objects.filter(kind="refund").count() == 1


def test_nothing_is_left_after_a_chargeback(sale):
    sale_chargeback(sale=sale, actor=None, reason="Fraud")
    before = snapshot(sale)

    with pytest.raises(InvalidTransition, match="Nothing is left to charge back"):
        sale_chargeback(sale=sale, actor=None)
    with pytest.raises(InvalidTransition, match="Nothing is left to refund"):
        sale_refund(sale=sale, actor=sale.product.producer)

    assert snapshot(sale) == before
    assert Refund.objects.get().reason == "Fraud"


def test_status_walk_paid_partially_refunded_refunded(sale):
    producer = sale.product.producer
    seen = [Sale.objects.get(pk=sale.pk).status]
    for amount in (1000, 2000, None):
        sale_refund(sale=sale, actor=producer, amount_minor=amount)
        seen.append(Sale.objects.get(pk=sale.pk).status)

    assert seen == [
        Status.PAID,
        Status.PARTIALLY_REFUNDED,
        Status.PARTIALLY_REFUNDED,
        Status.REFUNDED,
    ]
    assert all(after in Sale.TRANSITIONS[before] for before, after in pairwise(seen))


def test_ledger_per_line_and_per_person_is_zero_after_a_full_refund(sale):
    for amount in (777, 1, 5000):
        sale_refund(sale=sale, actor=sale.product.producer, amount_minor=amount)
    sale_refund(sale=sale, actor=sale.product.producer)

    assert set(by_line(sale).values()) == {0}
    per_person = (
        LedgerEntry.objects.filter(sale=sale)
        .values("beneficiary")
        .annotate(total=Sum("amount_minor"))
    )
    assert {row["total"] for row in per_person} == {0}
    assert LedgerEntry.objects.filter(sale=sale, entry_type="split").count() == 4
