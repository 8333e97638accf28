"""Checkout through the services: starting a sale, paying it through the simulated gateway, the
outcomes a buyer can meet (declined, insufficient funds, error, lost answer, cash slip), and the
rules that keep one checkout from charging twice."""

import contextlib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidTransition
from coproduction.models import LedgerEntry
from products.models import Sale, SimulatedGatewayCharge
from products.payments.gateway import MESSAGES, GatewayResult, Outcome, SimulatedGateway
from products.services.sales import (
    affiliation_for_code,
    sale_pay,
    sale_start,
)
from tests.factories import (
    AffiliationFactory,
    ProductFactory,
    UserFactory,
    checkout_token,
    record_outcome,
    use_gateway,
)

pytestmark = pytest.mark.django_db

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT = "4000000000009995"
ERROR = "4000000000000119"
TIMEOUT = "4000000000000259"


def start(product, buyer=None, *, method="card", country="BR", code=None, key="form-1"):
    buyer = buyer or UserFactory()
    return sale_start(
        product=product,
        buyer=buyer,
        method=method,
        country=country,
        affiliate_code=code,
        checkout_token=checkout_token(buyer, key),
    )


@pytest.fixture
def sale():
    return start(ProductFactory())


def attempts(sale) -> list[tuple[int, str]]:
    return list(sale.attempts.order_by("number").values_list("number", "status"))


# --- starting a sale ---------------------------------------------------------------------------


def test_start_creates_a_pending_sale_at_the_products_price():
    product = ProductFactory(price_minor=4990, currency="USD")
    buyer = UserFactory()

    sale = start(product, buyer, country="us")

    assert (sale.status, sale.amount_minor, sale.currency) == (Sale.Status.PENDING, 4990, "USD")
    assert (sale.buyer, sale.method, sale.country, sale.paid_at) == (buyer, "card", "US", None)
    assert not LedgerEntry.objects.exists()


def test_the_same_form_submitted_twice_finds_the_same_sale():
    product, buyer = ProductFactory(), UserFactory()

    first = start(product, buyer, key="same")
    again = start(product, buyer, key="same")

    assert again.pk == first.pk
    assert Sale.objects.count() == 1


def test_someone_elses_checkout_key_is_refused():
    product, owner = ProductFactory(), UserFactory()
    start(product, owner, key="taken")
    token = checkout_token(owner, "taken")

    def submit(buyer, product, token):
        return sale_start(
            product=product,
            buyer=buyer,
            method="card",
            country="BR",
            affiliate_code=None,
            checkout_token=token,
        )

    with pytest.raises(DomainError, match="not valid any more"):
        submit(UserFactory(), product, token)  # another buyer replaying my form
    with pytest.raises(DomainError, match="not valid any more"):
        submit(owner, ProductFactory(), token)  # my form, sent to another product
    with pytest.raises(DomainError, match="not valid any more"):
        submit(owner, product, "sub-1-2")  # a key typed by hand
    assert Sale.objects.count() == 1


def test_the_producer_cannot_buy_their_own_product():
    product = ProductFactory()

    with pytest.raises(DomainError, match="cannot buy it"):
        start(product, product.producer)
    assert not Sale.objects.exists()


@pytest.mark.parametrize(
    "product_kwargs",
    [{"is_active": False}, {"subscription": True}],
    ids=["inactive", "subscription"],
)
def test_products_not_on_sale_are_refused(product_kwargs):
    with pytest.raises(DomainError, match="not on sale"):
        start(ProductFactory(**product_kwargs))
    assert not Sale.objects.exists()


@pytest.mark.parametrize(
    "method, country",
    [("boleto", "US"), ("oxxo", "BR"), ("sepa", "BR"), ("bitcoin", "BR"), ("", "BR")],
)
def test_a_method_not_offered_in_the_country_is_refused(method, country):
    with pytest.raises(DomainError, match="not available in your country"):
        start(ProductFactory(), method=method, country=country)
    assert not Sale.objects.exists()


def test_start_attributes_the_sale_to_an_approved_affiliate_code():
    product = ProductFactory()
    affiliation = AffiliationFactory(product=product, approved=True)

    assert start(product, code=affiliation.code).affiliation == affiliation


@pytest.mark.parametrize("code", [None, "", "no-such-code"])
def test_no_or_unknown_code_attributes_nothing(code):
    product = ProductFactory()
    AffiliationFactory(product=product, approved=True)

    assert affiliation_for_code(product=product, code=code, buyer=UserFactory()) is None


def test_a_pending_affiliation_code_attributes_nothing():
    product = ProductFactory()
    affiliation = AffiliationFactory(product=product)

    assert start(product, code=affiliation.code).affiliation is None


# --- paying ------------------------------------------------------------------------------------


def test_an_approved_card_pays_the_sale_and_writes_its_split(sale):
    paid = sale_pay(sale=sale, token=APPROVED)

    assert paid.status == Sale.Status.PAID
    assert paid.paid_at is not None
    assert attempts(sale) == [(1, "approved")]
    attempt = sale.attempts.get()
    assert attempt.idempotency_key == f"sale-{sale.pk}-attempt-1"
    assert attempt.gateway_reference == SimulatedGatewayCharge.objects.get().reference
    assert sum(LedgerEntry.objects.filter(sale=sale).values_list("amount_minor", flat=True)) == (
        sale.amount_minor
    )


@pytest.mark.parametrize(
    "token, outcome",
    [
        (DECLINED, Outcome.DECLINED),
        (INSUFFICIENT, Outcome.INSUFFICIENT_FUNDS),
        (ERROR, Outcome.ERROR),
    ],
)
def test_a_refused_payment_raises_the_gateway_message_and_leaves_the_sale_pending(
    sale, token, outcome
):
    with pytest.raises(DomainError) as raised:
        sale_pay(sale=sale, token=token)

    assert raised.value.message == MESSAGES[outcome]
    sale.refresh_from_db()
    assert (sale.status, sale.paid_at) == (Sale.Status.PENDING, None)
    assert not LedgerEntry.objects.exists()
    attempt = sale.attempts.get()
    assert (attempt.status, attempt.message) == (outcome.value, MESSAGES[outcome])
    assert attempt.finished_at is not None


def test_after_a_declined_card_another_card_pays_the_same_sale(sale):
    with pytest.raises(DomainError, match="declined"):
        sale_pay(sale=sale, token=DECLINED)

    paid = sale_pay(sale=sale, token=APPROVED)

    assert paid.pk == sale.pk
    assert paid.status == Sale.Status.PAID
    assert attempts(sale) == [(1, "declined"), (2, "approved")]
    assert list(
        SimulatedGatewayCharge.objects.order_by("idempotency_key").values_list(
            "idempotency_key", "outcome"
        )
    ) == [(f"sale-{sale.pk}-attempt-1", "declined"), (f"sale-{sale.pk}-attempt-2", "approved")]
    assert LedgerEntry.objects.filter(sale=sale).count() == 2


def test_a_lost_answer_is_retried_with_the_same_key_and_charges_once(sale):
    with pytest.raises(DomainError, match="did not answer in time"):
        sale_pay(sale=sale, token=TIMEOUT)
    sale.refresh_from_db()
    assert sale.status == Sale.Status.PENDING
    assert attempts(sale) == [(1, "timeout")]

    paid = sale_pay(sale=sale, token=TIMEOUT)

    assert paid.status == Sale.Status.PAID
    assert attempts(sale) == [(1, "approved")]
    charge = SimulatedGatewayCharge.objects.get()
    assert (charge.kind, charge.idempotency_key) == ("charge", f"sale-{sale.pk}-attempt-1")
    assert LedgerEntry.objects.filter(sale=sale, entry_type="split").count() == 2


def test_a_lost_answer_retried_with_a_declined_card_still_reports_the_first_charge(sale):
    """The money moved on the first call: asking again must not charge nor refuse."""
    with pytest.raises(DomainError):
        sale_pay(sale=sale, token=TIMEOUT)

    assert sale_pay(sale=sale, token=DECLINED).status == Sale.Status.PAID
    assert SimulatedGatewayCharge.objects.count() == 1


class CrashingGateway(SimulatedGateway):
    """Dies after charging, before anyone records the answer (a worker killed mid-request)."""

    def charge(self, **kwargs):
        super().charge(**kwargs)
        raise ConnectionResetError("worker died")


def test_an_attempt_in_flight_blocks_a_second_payment_until_it_is_stale(
    sale, monkeypatch, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    use_gateway(monkeypatch, CrashingGateway)
    with pytest.raises(ConnectionResetError):
        sale_pay(sale=sale, token=APPROVED)
    monkeypatch.undo()
    assert attempts(sale) == [(1, "started")]

    time_machine.shift(timedelta(seconds=119))
    with pytest.raises(DomainError, match="already being processed"):
        sale_pay(sale=sale, token=APPROVED)

    time_machine.shift(timedelta(seconds=2))
    paid = sale_pay(sale=sale, token=APPROVED)

    assert paid.status == Sale.Status.PAID
    assert attempts(sale) == [(1, "approved")]
    assert SimulatedGatewayCharge.objects.count() == 1


def test_paying_a_paid_sale_is_an_invalid_transition(sale):
    sale_pay(sale=sale, token=APPROVED)

    with pytest.raises(InvalidTransition, match="already paid"):
        sale_pay(sale=sale, token=APPROVED)

    assert SimulatedGatewayCharge.objects.count() == 1
    assert attempts(sale) == [(1, "approved")]


def test_a_double_submitted_payment_makes_one_sale_and_one_charge():
    product, buyer = ProductFactory(), UserFactory()
    sale_pay(sale=start(product, buyer, key="twice"), token=APPROVED)

    again = start(product, buyer, key="twice")
    assert again.status == Sale.Status.PAID  # the view stops here and says "already paid"
    with pytest.raises(InvalidTransition):
        sale_pay(sale=again, token=APPROVED)

    assert Sale.objects.count() == 1
    assert SimulatedGatewayCharge.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="split").count() == 2


def test_a_cash_slip_is_pending_with_no_ledger_until_confirmed():
    sale = start(ProductFactory(), method="boleto", country="BR")

    issued = sale_pay(sale=sale, token="")

    assert issued.status == Sale.Status.PENDING
    assert attempts(sale) == [(1, "pending")]
    assert not LedgerEntry.objects.exists()
    with pytest.raises(DomainError, match="waiting for your payment slip"):
        sale_pay(sale=sale, token="")
    assert SimulatedGatewayCharge.objects.count() == 1


def test_confirming_a_pending_attempt_pays_once_however_often_it_is_recorded():
    sale = start(ProductFactory(), method="boleto", country="BR")
    sale_pay(sale=sale, token="")
    attempt = sale.attempts.get()
    confirmed = GatewayResult(Outcome.APPROVED, attempt.gateway_reference, "Paid")

    first = record_outcome(attempt=attempt, result=confirmed)
    paid_at = first.paid_at
    second = record_outcome(attempt=attempt, result=confirmed)

    assert first.status == second.status == Sale.Status.PAID
    assert second.paid_at == paid_at
    assert LedgerEntry.objects.filter(sale=sale).count() == 2
    assert sale.attempts.get().status == "approved"


def test_recording_an_outcome_again_on_a_finished_attempt_changes_nothing(sale):
    with pytest.raises(DomainError):
        sale_pay(sale=sale, token=DECLINED)
    attempt = sale.attempts.get()

    record_outcome(attempt=attempt, result=GatewayResult(Outcome.APPROVED, "sim_forged", "Paid"))

    sale.refresh_from_db()
    attempt.refresh_from_db()
    assert (sale.status, attempt.status, attempt.gateway_reference) == (
        Sale.Status.PENDING,
        "declined",
        SimulatedGatewayCharge.objects.get().reference,
    )
    assert not LedgerEntry.objects.exists()


def test_the_receipt_is_emailed_when_the_payment_commits(sale, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sale_pay(sale=sale, token=APPROVED)
    assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1

    # The commit runs the receipt task, which queues the email on its own commit.
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()

    (message,) = mail.outbox
    assert message.to == [sale.buyer.email]
    assert sale.product.name in message.subject
    assert "R$100.00" in message.body
    assert "/purchases/" in message.body


def test_no_receipt_for_a_declined_card(sale, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        sale_pay(sale=sale, token=DECLINED)

    assert mail.outbox == []


def test_an_unpaid_cash_slip_gets_the_slip_not_a_receipt(django_capture_on_commit_callbacks):
    sale = start(ProductFactory(), method="boleto", country="BR")

    with django_capture_on_commit_callbacks(execute=True):
        sale_pay(sale=sale, token="")

    (message,) = mail.outbox
    assert "payment slip" in message.subject
    assert f"/purchases/{sale.pk}/slip/" in message.body


# --- retrying a checkout with another method ---------------------------------------------------


def test_after_a_refused_card_the_same_checkout_may_pay_with_a_wallet():
    product, buyer = ProductFactory(), UserFactory()
    with pytest.raises(DomainError):
        sale_pay(sale=start(product, buyer, key="k"), token=DECLINED)

    sale = start(product, buyer, key="k", method="paypal", country="us")
    paid = sale_pay(sale=sale, token="tok_approved")

    assert (paid.status, paid.method, paid.country) == (Sale.Status.PAID, "paypal", "US")
    assert list(paid.attempts.values_list("number", "method", "status")) == [
        (1, "card", "declined"),
        (2, "paypal", "approved"),
    ]


def test_after_a_refused_card_the_same_checkout_may_issue_a_cash_slip():
    product, buyer = ProductFactory(), UserFactory()
    with pytest.raises(DomainError):
        sale_pay(sale=start(product, buyer, key="k"), token=INSUFFICIENT)

    issued = sale_pay(sale=start(product, buyer, key="k", method="boleto"), token="")

    assert (issued.status, issued.method) == (Sale.Status.PENDING, "boleto")
    assert attempts(issued) == [(1, "insufficient_funds"), (2, "pending")]
    assert not LedgerEntry.objects.exists()


def test_the_retry_method_must_exist_in_the_country():
    product, buyer = ProductFactory(), UserFactory()
    with pytest.raises(DomainError):
        sale_pay(sale=start(product, buyer, key="k"), token=DECLINED)

    with pytest.raises(DomainError, match="not available in your country"):
        start(product, buyer, key="k", method="oxxo", country="BR")
    assert Sale.objects.get().method == "card"


@pytest.mark.parametrize(
    "first_method, token, status",
    [("card", TIMEOUT, "timeout"), ("boleto", "", "pending")],
    ids=["answer lost", "slip issued"],
)
def test_a_payment_that_may_have_gone_through_keeps_its_method(first_method, token, status):
    product, buyer = ProductFactory(), UserFactory()
    with contextlib.suppress(DomainError):  # the lost answer raises; the slip does not
        sale_pay(sale=start(product, buyer, key="k", method=first_method), token=token)

    again = start(product, buyer, key="k", method="paypal")

    assert again.method == first_method
    assert attempts(again) == [(1, status)]
