"""Races on PostgreSQL: real threads, each on its own connection, act on one sale at the same
moment. Row locks and the attempt recorded before the gateway call must keep every charge,
refund and split single whatever the interleaving."""

import time

import pytest
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidTransition
from coproduction.models import LedgerEntry, TermsOfUse
from coproduction.services import ledger
from products.models import PaymentAttempt, Refund, Sale, SimulatedGatewayCharge
from products.payments.gateway import SimulatedGateway
from products.services import sales as services
from products.services.sales import sale_pay, sale_refund, sale_start
from tests.concurrency import errors, run_together
from tests.factories import (
    AffiliationFactory,
    ProductFactory,
    SaleFactory,
    UserFactory,
    checkout_token,
    use_gateway,
)
from tests.sales.test_ledger import cocreator_contract

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

APPROVED = "4242424242424242"


@pytest.fixture(autouse=True)
def published_terms():
    # A transactional test's flush removes the migration's rows; put the terms back.
    return TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Co-creation terms"})[0]


class SlowGateway(SimulatedGateway):
    """Answers after a while, so a second payment arrives while the first is in flight."""

    def charge(self, **kwargs):
        time.sleep(0.3)
        return super().charge(**kwargs)


@pytest.mark.parametrize("gateway", [SimulatedGateway, SlowGateway], ids=["fast", "slow"])
def test_two_payments_of_one_sale_charge_once(monkeypatch, gateway):
    use_gateway(monkeypatch, gateway)
    product = ProductFactory()
    affiliation = AffiliationFactory(product=product, approved=True)
    cocreator_contract(product, percent="10")
    sale = sale_start(
        product=product,
        buyer=(buyer_ := UserFactory()),
        method="card",
        country="BR",
        affiliate_code=affiliation.code,
        checkout_token=checkout_token(buyer_, "race"),
    )

    results = run_together(
        lambda: sale_pay(sale=sale, token=APPROVED), lambda: sale_pay(sale=sale, token=APPROVED)
    )

    (paid,) = [result for result in results if isinstance(result, Sale)]
    (error,) = errors(results)
    assert isinstance(error, DomainError)
    assert error.message in (
        "Your payment is already being processed. Please wait.",
        "This purchase is already paid.",
    )
    assert paid.status == Sale.Status.PAID
    assert SimulatedGatewayCharge.objects.filter(kind="charge").count() == 1
    assert PaymentAttempt.objects.get().status == PaymentAttempt.Status.APPROVED
    split = LedgerEntry.objects.filter(sale=sale, entry_type="split")
    assert list(split.values_list("role", flat=True)) == [
        "platform",
        "affiliate",
        "cocreator",
        "producer",
    ]
    assert sum(split.values_list("amount_minor", flat=True)) == sale.amount_minor


def test_the_same_form_submitted_twice_at_once_makes_one_sale_and_one_charge(monkeypatch):
    use_gateway(monkeypatch, SlowGateway)
    product, buyer = ProductFactory(), UserFactory()

    token = checkout_token(buyer, "double-click")

    def submit():
        sale = sale_start(
            product=product,
            buyer=buyer,
            method="card",
            country="BR",
            affiliate_code=None,
            checkout_token=token,
        )
        return sale_pay(sale=sale, token=APPROVED)

    results = run_together(submit, submit)

    assert all(isinstance(error, DomainError) for error in errors(results))
    assert len(errors(results)) == 1
    assert Sale.objects.get().status == Sale.Status.PAID
    assert SimulatedGatewayCharge.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="split").count() == 2


def test_two_refunds_of_60_percent_at_once_one_wins(monkeypatch):
    sale = SaleFactory(paid=True)
    producer = sale.product.producer
    original = ledger.ledger_write_reversal

    def slow_reversal(**kwargs):
        time.sleep(0.3)  # hold the sale's lock: the other refund must wait, then see less left
        return original(**kwargs)

    monkeypatch.setattr(ledger, "ledger_write_reversal", slow_reversal)

    results = run_together(
        lambda: sale_refund(sale=sale, actor=producer, amount_minor=6000),
        lambda: sale_refund(sale=sale, actor=producer, amount_minor=6000),
    )

    (refund,) = [result for result in results if isinstance(result, Refund)]
    (error,) = errors(results)
    assert type(error) is DomainError
    assert error.message == "At most R$40.00 is left to refund on this sale."
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor) == (Sale.Status.PARTIALLY_REFUNDED, 6000)
    assert sale.refunded_minor <= sale.amount_minor
    assert list(Refund.objects.all()) == [refund]
    assert sum(refund.ledger_entries.values_list("amount_minor", flat=True)) == -6000
    assert SimulatedGatewayCharge.objects.filter(kind="refund").count() == 1


def test_a_refund_and_a_chargeback_at_once_never_take_back_more_than_was_paid(monkeypatch):
    sale = SaleFactory(paid=True)
    original = ledger.ledger_write_reversal

    def slow_reversal(**kwargs):
        time.sleep(0.3)
        return original(**kwargs)

    monkeypatch.setattr(ledger, "ledger_write_reversal", slow_reversal)

    results = run_together(
        lambda: sale_refund(sale=sale, actor=sale.product.producer, amount_minor=7000),
        lambda: services.sale_chargeback(sale=sale, actor=None),
    )

    sale.refresh_from_db()
    assert sale.refunded_minor <= sale.amount_minor
    assert sum(Refund.objects.values_list("amount_minor", flat=True)) == sale.refunded_minor
    ledger_total = sum(LedgerEntry.objects.filter(sale=sale).values_list("amount_minor", flat=True))
    assert ledger_total == sale.amount_minor - sale.refunded_minor
    # Whichever came first, the chargeback took exactly what was left.
    assert sale.status == Sale.Status.CHARGED_BACK
    assert sale.refunded_minor == sale.amount_minor
    assert all(isinstance(error, InvalidTransition) for error in errors(results))


def test_ledger_write_splits_from_two_threads_writes_each_split_once(monkeypatch):
    product = ProductFactory()
    sales = [
        sale_start(
            product=product,
            buyer=(buyer_ := UserFactory()),
            method="card",
            country="BR",
            affiliate_code=None,
            checkout_token=checkout_token(buyer_, f"batch-{n}"),
        )
        for n in range(5)
    ]
    # Paid by a batch whose ledger step has not run yet.
    Sale.objects.update(status=Sale.Status.PAID, paid_at=timezone.now())
    original = ledger.split_entries

    def slow_split_entries(sale, contracts):
        time.sleep(0.05)
        return original(sale, contracts)

    monkeypatch.setattr(ledger, "split_entries", slow_split_entries)
    ids = [sale.pk for sale in sales]

    results = run_together(
        lambda: ledger.ledger_write_splits(sale_ids=ids),
        lambda: ledger.ledger_write_splits(sale_ids=list(reversed(ids))),
    )

    assert errors(results) == []
    assert sorted(results) == [0, 5]
    for sale in sales:
        split = LedgerEntry.objects.filter(sale=sale, entry_type="split")
        assert list(split.values_list("line", flat=True)) == [0, 1]
        assert sum(split.values_list("amount_minor", flat=True)) == sale.amount_minor
