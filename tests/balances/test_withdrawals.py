"""Withdrawals (coproduction.services.withdrawals) through the shipped payout simulator: the
whole lifecycle with its ledger entries, balance figures and state events at every step;
review of the first withdrawal to an account and of large ones; failure, rejection and
cancellation giving the money back; every refusal with its message and nothing written; the
signed webhook (duplicates, unknown keys replayed, forged signatures, late outcomes); a gateway
that does not answer (sent again by beat with the same key) or refuses.

Celery runs eagerly in tests: a task queued on commit runs when the captured on-commit
callbacks are executed, the simulator's webhook right after the dispatch that queued it."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db.models import Sum

from accounts.exceptions import DomainError
from coproduction import balances
from coproduction.models import Balance, BalanceRelease, LedgerEntry, Withdrawal
from coproduction.payout_gateway import (
    SIGNATURE_HEADER,
    PayoutRefused,
    PayoutTimeout,
    SimulatedPayoutGateway,
    sign,
    simulated_webhook_for,
    webhook_body,
)
from coproduction.services import withdrawals as services
from coproduction.services.withdrawals import (
    payout_webhook_handle,
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_dispatch,
    withdrawal_reject,
    withdrawal_request,
    withdrawals_dispatch_stale,
)
from coproduction.tasks import simulate_payout_webhook
from products.models import SimulatedGatewayCharge, WebhookEvent
from products.payments.models import StateEvent
from products.payments.signatures import hmac_signature_valid
from tests.balances.conftest import (
    BRL_FEE,
    BRL_RELEASE,
    BRL_REVIEW_ABOVE,
    OTHER_RELEASE,
    SPLIT,
    admin,
    entries_of,
    figures,
    make_world,
    midnight,
    pay,
    pay_split,
    payout_account,
    take_back,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

S = Withdrawal.Status
SALES = 4
AVAILABLE = SALES * SPLIT["producer"]  # 209.68, released
PLATFORM = SALES * SPLIT["platform"]  # 41.60
RELEASED_AT = midnight(BRL_RELEASE) + timedelta(hours=9)
FIRST = "first withdrawal to this payout account"


@pytest.fixture
def funded(world, clock):
    """Four of the world's sales paid and released; the producer has a Pix payout account and
    nothing withdrawn yet. The clock is on the release day, 09:00 UTC."""
    world.sales = [pay_split(world) for _ in range(SALES)]
    world.account = payout_account(world.producer)
    world.admin = admin()
    clock.move_to(RELEASED_AT)
    world.clock = clock
    assert figures(world.producer) == (0, AVAILABLE, 0, 0)
    return world


@pytest.fixture
def paid_once(funded, django_capture_on_commit_callbacks):
    """The account has received a withdrawal of 50.00 (reviewed, approved, paid): the next
    ones up to the review amount go straight to the gateway."""
    with django_capture_on_commit_callbacks(execute=True):
        w = withdrawal_request(party=funded.producer, currency="BRL", amount_minor=50_00)
        withdrawal_approve(withdrawal_id=w.pk, admin=funded.admin)
    w.refresh_from_db()
    assert w.status == S.PAID
    funded.available = AVAILABLE - 50_00
    funded.withdrawn = 50_00 - BRL_FEE
    funded.platform = PLATFORM + BRL_FEE
    return funded


def events(withdrawal) -> list[tuple]:
    """(from, to, actor id, reason) of each of the withdrawal's state events, in order."""
    return list(
        StateEvent.objects.filter(machine="withdrawal", object_id=withdrawal.pk)
        .order_by("pk")
        .values_list("from_status", "to_status", "actor_id", "reason")
    )


def fresh(withdrawal) -> Withdrawal:
    return Withdrawal.objects.get(pk=withdrawal.pk)


def requested_entries(w) -> list[tuple]:
    return [
        ("withdrawal", "available", "payee", w.party_id, -w.amount_minor),
        ("withdrawal", "in_withdrawal", "payee", w.party_id, w.amount_minor),
    ]


def paid_entries(w) -> list[tuple]:
    return [
        *requested_entries(w),
        ("payout", "in_withdrawal", "payee", w.party_id, -w.net_minor),
        ("payout", "withdrawn", "payee", w.party_id, w.net_minor),
        ("payout_fee", "in_withdrawal", "payee", w.party_id, -w.fee_minor),
        ("payout_fee", "available", "platform", None, w.fee_minor),
    ]


def returned_entries(w) -> list[tuple]:
    return [
        *requested_entries(w),
        ("payout_return", "in_withdrawal", "payee", w.party_id, -w.amount_minor),
        ("payout_return", "available", "payee", w.party_id, w.amount_minor),
    ]


# --- the whole lifecycle -------------------------------------------------------------------


def test_the_first_withdrawal_is_reviewed_approved_sent_and_paid_by_the_webhook(
    funded, django_capture_on_commit_callbacks
):
    producer, boss = funded.producer, funded.admin

    with django_capture_on_commit_callbacks(execute=True) as queued:
        w = withdrawal_request(party=producer, currency="BRL", amount_minor=150_00)
    assert queued == []  # in review: nothing goes to the gateway
    w = fresh(w)
    assert (w.status, w.review_reason, w.fee_minor, w.net_minor) == (
        S.IN_REVIEW,
        FIRST,
        BRL_FEE,
        150_00 - BRL_FEE,
    )
    assert (w.payout_account, w.account_snapshot) == (funded.account, funded.account.snapshot())
    assert w.idempotency_key.startswith(f"payout-{producer.pk}-")
    assert (w.requested_at, w.sent_at, w.completed_at, w.reference) == (RELEASED_AT, None, None, "")
    assert entries_of(w) == requested_entries(w)
    assert figures(producer) == (0, AVAILABLE - 150_00, 150_00, 0)
    assert figures(None) == (0, PLATFORM, 0, 0)
    assert events(w) == [("requested", "in_review", producer.pk, FIRST)]

    # Approved: sent, and the gateway called once the approval is committed.
    with django_capture_on_commit_callbacks() as dispatch:
        withdrawal_approve(withdrawal_id=w.pk, admin=boss)
    w = fresh(w)
    assert (w.status, w.reviewed_by, w.sent_at, w.reference) == (S.SENT, boss, RELEASED_AT, "")
    assert not SimulatedGatewayCharge.objects.filter(idempotency_key=w.idempotency_key).exists()
    assert len(dispatch) == 1
    with django_capture_on_commit_callbacks() as webhook:
        dispatch[0]()
    w = fresh(w)
    charge = SimulatedGatewayCharge.objects.get(idempotency_key=w.idempotency_key)
    assert (charge.kind, charge.outcome, charge.amount_minor, charge.currency) == (
        "payout",
        "paid",
        150_00 - BRL_FEE,  # the gateway pays out the amount less the fee
        "BRL",
    )
    assert (w.status, w.reference) == (S.SENT, charge.reference)
    assert entries_of(w) == requested_entries(w)
    assert figures(producer) == (0, AVAILABLE - 150_00, 150_00, 0)

    # The simulator's signed webhook: paid.
    with django_capture_on_commit_callbacks(execute=True):
        for callback in webhook:
            callback()
    w = fresh(w)
    assert (w.status, w.completed_at, w.failure) == (S.PAID, RELEASED_AT, "")
    assert entries_of(w) == paid_entries(w)
    assert figures(producer) == (0, AVAILABLE - 150_00, 0, 150_00 - BRL_FEE)
    assert figures(None) == (0, PLATFORM + BRL_FEE, 0, 0)
    assert events(w) == [
        ("requested", "in_review", producer.pk, FIRST),
        ("in_review", "sent", boss.pk, "approved"),
        ("sent", "paid", None, ""),
    ]
    event = WebhookEvent.objects.get(event_id=f"payout:evt_{charge.reference}")
    assert (event.kind, event.reference, event.result) == (
        "payout.paid",
        w.idempotency_key,
        WebhookEvent.Result.PROCESSED,
    )
    assert balances.check_balances() == []


def test_the_next_withdrawal_to_the_account_goes_straight_to_the_gateway_and_is_paid(
    paid_once, django_capture_on_commit_callbacks
):
    producer = paid_once.producer

    with django_capture_on_commit_callbacks(execute=True):
        w = withdrawal_request(party=producer, currency="BRL", amount_minor=60_00)
    w = fresh(w)

    assert (w.status, w.review_reason, w.reviewed_by) == (S.PAID, "", None)
    assert entries_of(w) == paid_entries(w)
    assert figures(producer) == (
        0,
        paid_once.available - 60_00,
        0,
        paid_once.withdrawn + 60_00 - BRL_FEE,
    )
    assert figures(None) == (0, paid_once.platform + BRL_FEE, 0, 0)
    assert events(w) == [("requested", "sent", None, ""), ("sent", "paid", None, "")]
    assert balances.check_balances() == []


def test_above_the_review_amount_a_withdrawal_is_reviewed_again(
    clock, django_capture_on_commit_callbacks
):
    product = ProductFactory(price_minor=20_000_00)  # the producer's 18 019.50 each
    producer = product.producer
    payout_account(producer)
    pay(product)
    pay(product)
    clock.move_to(midnight(BRL_RELEASE))
    with django_capture_on_commit_callbacks(execute=True):
        first = withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)
        withdrawal_approve(withdrawal_id=first.pk, admin=admin())
    assert fresh(first).status == S.PAID

    with django_capture_on_commit_callbacks(execute=True):
        at_the_limit = withdrawal_request(
            party=producer, currency="BRL", amount_minor=BRL_REVIEW_ABOVE
        )
        above = withdrawal_request(
            party=producer, currency="BRL", amount_minor=BRL_REVIEW_ABOVE + 1
        )

    assert fresh(at_the_limit).status == S.PAID
    assert (fresh(above).status, fresh(above).review_reason) == (
        S.IN_REVIEW,
        "above the review amount",
    )
    assert balances.check_balances() == []


def test_a_withdrawal_in_euros_pays_the_euro_fee(clock, django_capture_on_commit_callbacks):
    w = make_world("EUR")
    pay_split(w)
    payout_account(w.producer, eur=True)
    clock.move_to(midnight(OTHER_RELEASE))

    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = withdrawal_request(party=w.producer, currency="EUR", amount_minor=20_00)
        withdrawal_approve(withdrawal_id=withdrawal.pk, admin=admin())

    withdrawal = fresh(withdrawal)
    assert (withdrawal.status, withdrawal.fee_minor) == (S.PAID, 1_00)
    assert withdrawal.account_snapshot["iban"] == "PT50000201231234567890154"
    assert figures(w.producer, "EUR") == (0, SPLIT["producer"] - 20_00, 0, 19_00)
    assert figures(None, "EUR") == (0, SPLIT["platform"] + 1_00, 0, 0)
    assert figures(w.producer, "BRL") == (0, 0, 0, 0)


# --- failed, rejected, canceled: the money back ---------------------------------------------


def test_a_payout_the_simulator_fails_gives_the_money_back(
    paid_once, django_capture_on_commit_callbacks
):
    producer = paid_once.producer

    # The simulator fails a payout whose cents are 13: 60.80 less the 3.67 fee is 57.13.
    with django_capture_on_commit_callbacks(execute=True):
        w = withdrawal_request(party=producer, currency="BRL", amount_minor=60_80)
    w = fresh(w)

    failure = "The bank refused the transfer: the account is closed."
    assert (w.status, w.failure, w.completed_at) == (S.FAILED, failure, RELEASED_AT)
    assert SimulatedGatewayCharge.objects.get(idempotency_key=w.idempotency_key).outcome == "failed"
    assert entries_of(w) == returned_entries(w)
    assert figures(producer) == (0, paid_once.available, 0, paid_once.withdrawn)
    assert figures(None) == (0, paid_once.platform, 0, 0)  # no fee on a failed payout
    assert events(w) == [("requested", "sent", None, ""), ("sent", "failed", None, failure)]
    assert balances.check_balances() == []


def test_a_withdrawal_whose_net_amount_has_13_cents_fails_in_the_simulator(
    paid_once, django_capture_on_commit_callbacks
):
    """The simulator sees what it is asked to send: the amount less the fee (R$ 3,67)."""
    with django_capture_on_commit_callbacks(execute=True):
        w = withdrawal_request(party=paid_once.producer, currency="BRL", amount_minor=64_80)

    assert fresh(w).status == S.FAILED


def test_a_rejected_withdrawal_gives_the_money_back_with_the_reason(funded):
    producer, boss = funded.producer, funded.admin
    w = withdrawal_request(party=producer, currency="BRL", amount_minor=100_00)

    withdrawal_reject(withdrawal_id=w.pk, admin=boss, reason="  The name does not match.  ")

    w = fresh(w)
    assert (w.status, w.rejection_reason, w.reviewed_by, w.completed_at) == (
        S.REJECTED,
        "The name does not match.",
        boss,
        RELEASED_AT,
    )
    assert entries_of(w) == returned_entries(w)
    assert figures(producer) == (0, AVAILABLE, 0, 0)
    assert figures(None) == (0, PLATFORM, 0, 0)
    assert events(w) == [
        ("requested", "in_review", producer.pk, FIRST),
        ("in_review", "rejected", boss.pk, "The name does not match."),
    ]
    assert not SimulatedGatewayCharge.objects.filter(kind="payout").exists()
    assert balances.check_balances() == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_rejection_without_a_reason_is_refused(funded, reason):
    w = withdrawal_request(party=funded.producer, currency="BRL", amount_minor=100_00)

    with pytest.raises(DomainError) as refused:
        withdrawal_reject(withdrawal_id=w.pk, admin=funded.admin, reason=reason)

    assert refused.value.message == "Say why the withdrawal is rejected."
    assert (fresh(w).status, fresh(w).reviewed_by) == (S.IN_REVIEW, None)
    assert entries_of(w) == requested_entries(w)
    assert len(events(w)) == 1


def test_only_a_withdrawal_in_review_is_approved_or_rejected(paid_once):
    paid = Withdrawal.objects.get(status=S.PAID)
    for act, message in (
        (withdrawal_approve, "Only a withdrawal in review can be approved."),
        (withdrawal_reject, "Only a withdrawal in review can be rejected."),
    ):
        extra = {"reason": "no"} if act is withdrawal_reject else {}
        with pytest.raises(DomainError) as refused:
            act(withdrawal_id=paid.pk, admin=paid_once.admin, **extra)
        assert refused.value.message == message
    assert fresh(paid).status == S.PAID
    assert entries_of(paid) == paid_entries(paid)


def test_the_requester_cancels_a_withdrawal_still_requested(
    paid_once, django_capture_on_commit_callbacks
):
    producer = paid_once.producer
    with django_capture_on_commit_callbacks() as dispatch:  # its task not run yet
        w = withdrawal_request(party=producer, currency="BRL", amount_minor=70_00)
    assert fresh(w).status == S.REQUESTED
    assert figures(producer) == (0, paid_once.available - 70_00, 70_00, paid_once.withdrawn)

    withdrawal_cancel(withdrawal_id=w.pk, party=producer)

    w = fresh(w)
    assert (w.status, w.completed_at) == (S.CANCELED, RELEASED_AT)
    assert entries_of(w) == returned_entries(w)
    assert figures(producer) == (0, paid_once.available, 0, paid_once.withdrawn)
    assert events(w) == [("requested", "canceled", producer.pk, "")]
    # The task queued by the request runs late: nothing is sent.
    with django_capture_on_commit_callbacks(execute=True):
        dispatch[0]()
    assert fresh(w).status == S.CANCELED
    assert not SimulatedGatewayCharge.objects.filter(idempotency_key=w.idempotency_key).exists()
    assert withdrawal_dispatch(w.pk) == "nothing to send"
    assert balances.check_balances() == []


def test_a_withdrawal_in_review_or_sent_cannot_be_canceled(
    funded, django_capture_on_commit_callbacks
):
    producer = funded.producer
    w = withdrawal_request(party=producer, currency="BRL", amount_minor=100_00)
    with pytest.raises(DomainError) as refused:
        withdrawal_cancel(withdrawal_id=w.pk, party=producer)
    assert refused.value.message == "This withdrawal can no longer be canceled."

    with django_capture_on_commit_callbacks():  # sent; the gateway not called yet
        withdrawal_approve(withdrawal_id=w.pk, admin=funded.admin)
    with pytest.raises(DomainError) as refused:
        withdrawal_cancel(withdrawal_id=w.pk, party=producer)
    assert refused.value.message == "This withdrawal can no longer be canceled."

    assert fresh(w).status == S.SENT
    assert entries_of(w) == requested_entries(w)
    assert figures(producer) == (0, AVAILABLE - 100_00, 100_00, 0)


def test_another_partys_cancel_finds_no_withdrawal(paid_once, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        w = withdrawal_request(party=paid_once.producer, currency="BRL", amount_minor=70_00)

    for someone in (paid_once.cocreator, paid_once.admin):
        with pytest.raises(Withdrawal.DoesNotExist):
            withdrawal_cancel(withdrawal_id=w.pk, party=someone)

    assert fresh(w).status == S.REQUESTED
    assert entries_of(w) == requested_entries(w)


# --- refusals: a message, nothing written ---------------------------------------------------


def _everything() -> tuple:
    return (
        list(Withdrawal.objects.values_list("pk", "status")),
        LedgerEntry.objects.count(),
        StateEvent.objects.filter(machine="withdrawal").count(),
        Balance.objects.count(),
        Balance.objects.aggregate(Sum("settled_minor"), Sum("in_withdrawal_minor")),
        BalanceRelease.objects.count(),
    )


def _below_minimum(w):
    return w.producer, "BRL", 49_99, "The smallest withdrawal is R$50.00."


def _above_withdrawable(w):
    return w.producer, "BRL", AVAILABLE + 1, "You can withdraw up to R$209.68."


def _above_withdrawable_while_another_is_open(w):
    withdrawal_request(party=w.producer, currency="BRL", amount_minor=150_00)
    return w.producer, "BRL", 60_00, "You can withdraw up to R$59.68."


def _nothing_released_yet(w):
    pay_split(w)  # pending
    w.clock.move_to(RELEASED_AT - timedelta(days=1))
    return w.producer, "BRL", 50_00, "You can withdraw up to R$0.00."


def _no_payout_account(w):
    # The affiliate has 125.44 available and no account.
    return w.affiliate, "BRL", 50_00, "Add a payout account for this currency first."


def _no_account_for_the_currency(w):
    eur = ProductFactory(producer=w.producer, currency="EUR", price_minor=100_00)
    pay(eur)
    return w.producer, "EUR", 20_00, "Add a payout account for this currency first."


def _account_held(w):
    w.account.withdrawals_held_until = RELEASED_AT + timedelta(hours=2, minutes=30)
    w.account.save(update_fields=["withdrawals_held_until"])
    return (
        w.producer,
        "BRL",
        50_00,
        "Your payout account changed recently: withdrawals are held until April 17, 2026, "
        "11:30 a.m.",
    )


def _negative_balance(w):
    # 150.00 in withdrawal, then three of the four released sales charged back.
    withdrawal_request(party=w.producer, currency="BRL", amount_minor=150_00)
    for sale in w.sales[:3]:
        take_back(sale, "chargeback")
    assert balances.balance_of(w.producer.pk, "BRL").is_negative
    return (
        w.producer,
        "BRL",
        50_00,
        "Your balance is negative: withdrawals resume when your earnings cover it.",
    )


def _usd(w):
    return w.producer, "USD", 20_00, "Add a payout account for this currency first."


def _no_withdrawals_in_the_currency(w):
    return w.producer, "JPY", 5_000, "Withdrawals in this currency are not available yet."


@pytest.mark.parametrize(
    "case",
    [
        _below_minimum,
        _above_withdrawable,
        _above_withdrawable_while_another_is_open,
        _nothing_released_yet,
        _no_payout_account,
        _no_account_for_the_currency,
        _account_held,
        _negative_balance,
        _usd,
        _no_withdrawals_in_the_currency,
    ],
    ids=lambda case: case.__name__.strip("_"),
)
def test_a_withdrawal_that_cannot_be_made_is_refused_and_nothing_written(funded, case):
    party, currency, amount, message = case(funded)
    before = _everything()

    with pytest.raises(DomainError) as refused:
        withdrawal_request(party=party, currency=currency, amount_minor=amount)

    assert refused.value.message == message
    assert _everything() == before
    assert balances.check_balances() == []


def test_the_whole_withdrawable_amount_can_be_withdrawn_and_not_a_cent_more(funded):
    withdrawal_request(party=funded.producer, currency="BRL", amount_minor=AVAILABLE)

    assert figures(funded.producer) == (0, 0, AVAILABLE, 0)
    with pytest.raises(DomainError):
        withdrawal_request(party=funded.producer, currency="BRL", amount_minor=50_00)


def test_a_hold_that_ended_no_longer_refuses(funded):
    funded.account.withdrawals_held_until = RELEASED_AT
    funded.account.save(update_fields=["withdrawals_held_until"])

    assert withdrawal_request(party=funded.producer, currency="BRL", amount_minor=50_00).pk


# --- the webhook -----------------------------------------------------------------------------


def _handle(body: bytes) -> str:
    payload = json.loads(body)
    return payout_webhook_handle(
        event_id=payload["id"],
        kind=payload["type"],
        external_id=payload["external_id"],
        payload=payload,
    )


def test_a_duplicate_event_is_answered_and_changes_nothing(paid_once):
    paid = Withdrawal.objects.get(status=S.PAID)
    body, _signature = simulated_webhook_for(paid.idempotency_key)
    before = (entries_of(paid), figures(paid_once.producer), figures(None), events(paid))

    assert _handle(body) == "duplicate"
    assert simulate_payout_webhook(idempotency_key=paid.idempotency_key) == "duplicate"
    # The same outcome again under another event id: the withdrawal is settled already.
    again = webhook_body(
        event_id="evt_retry",
        kind="payout.paid",
        external_id=paid.idempotency_key,
        reference=paid.reference,
    )
    assert _handle(again) == "duplicate"

    assert (entries_of(paid), figures(paid_once.producer), figures(None), events(paid)) == before
    assert (
        WebhookEvent.objects.get(event_id="payout:evt_retry").result
        == WebhookEvent.Result.ALREADY_SETTLED
    )


def test_a_late_failure_after_the_payout_was_paid_changes_nothing(paid_once):
    paid = Withdrawal.objects.get(status=S.PAID)
    before = (entries_of(paid), figures(paid_once.producer), figures(None), events(paid))
    late = webhook_body(
        event_id="evt_late_failure",
        kind="payout.failed",
        external_id=paid.idempotency_key,
        reference=paid.reference,
        failure="Closed account",
    )

    assert _handle(late) == "duplicate"

    assert (fresh(paid).status, fresh(paid).failure) == (S.PAID, "")
    assert (entries_of(paid), figures(paid_once.producer), figures(None), events(paid)) == before


def test_a_late_payment_after_the_payout_failed_changes_nothing(
    paid_once, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        failed = withdrawal_request(party=paid_once.producer, currency="BRL", amount_minor=60_80)
    failed = fresh(failed)
    assert failed.status == S.FAILED
    late = webhook_body(
        event_id="evt_late_paid",
        kind="payout.paid",
        external_id=failed.idempotency_key,
        reference=failed.reference,
    )

    assert _handle(late) == "duplicate"

    assert fresh(failed).status == S.FAILED
    assert entries_of(failed) == returned_entries(failed)
    assert figures(paid_once.producer) == (0, paid_once.available, 0, paid_once.withdrawn)


def test_an_event_for_an_unknown_key_is_ignored_then_applied_when_sent_again(
    funded, monkeypatch, django_capture_on_commit_callbacks
):
    # The withdrawal's key, known in advance: its random part fixed.
    monkeypatch.setattr(services, "secrets", SimpleNamespace(token_hex=lambda n: "ab" * n))
    key = f"payout-{funded.producer.pk}-{'ab' * 12}"
    early = webhook_body(
        event_id="evt_early", kind="payout.paid", external_id=key, reference="po_early"
    )

    assert _handle(early) == "ignored"
    stored = WebhookEvent.objects.get(event_id="payout:evt_early")
    assert (stored.result, stored.reference) == (WebhookEvent.Result.UNMATCHED, key)

    w = withdrawal_request(party=funded.producer, currency="BRL", amount_minor=100_00)
    assert w.idempotency_key == key
    with django_capture_on_commit_callbacks():  # sent; the gateway not called
        withdrawal_approve(withdrawal_id=w.pk, admin=funded.admin)

    assert _handle(early) == "processed"
    w = fresh(w)
    assert (w.status, w.reference) == (S.PAID, "po_early")
    assert WebhookEvent.objects.get(event_id="payout:evt_early").result == (
        WebhookEvent.Result.PROCESSED
    )
    assert entries_of(w) == paid_entries(w)
    assert figures(funded.producer) == (0, AVAILABLE - 100_00, 0, 100_00 - BRL_FEE)
    assert _handle(early) == "duplicate"
    assert entries_of(w) == paid_entries(w)


def test_only_the_gateways_signature_is_valid(settings):
    body = webhook_body(event_id="evt_1", kind="payout.paid", external_id="k", reference="po_1")
    secret = settings.PAYOUT_WEBHOOK_SECRET
    signature = sign(body)

    assert SIGNATURE_HEADER == "X-Payout-Signature"
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert hmac_signature_valid(body, signature, secret)
    forged_body = body.replace(b"payout.paid", b"payout.fail")
    assert not hmac_signature_valid(forged_body, signature, secret)
    assert not hmac_signature_valid(body, signature, secret + "x")
    assert not hmac_signature_valid(body, signature.removeprefix("sha256="), secret)
    assert not hmac_signature_valid(body, signature.upper(), secret)
    assert not hmac_signature_valid(body, "", secret)
    assert not hmac_signature_valid(body, None, secret)
    assert not hmac_signature_valid(body, signature, "")
    settings.PAYOUT_WEBHOOK_SECRET = "another-secret"
    assert sign(body) != signature


@pytest.mark.parametrize(
    "event",
    [
        {"event_id": "e", "kind": "payout.reversed", "external_id": "k"},
        {"event_id": "", "kind": "payout.paid", "external_id": "k"},
        {"event_id": "e", "kind": "payout.paid", "external_id": ""},
    ],
)
def test_a_malformed_event_is_refused(event):
    with pytest.raises(DomainError):
        payout_webhook_handle(payload={}, **event)
    assert not WebhookEvent.objects.exists()


# --- a gateway that does not answer, or refuses ----------------------------------------------


class Calls:
    keys: list[str] = []


class NoAnswerGateway(SimulatedPayoutGateway):
    """The first call never reaches the gateway (timeout); the next ones do."""

    def send(self, **kwargs):
        Calls.keys.append(kwargs["idempotency_key"])
        if len(Calls.keys) == 1:
            raise PayoutTimeout
        return super().send(**kwargs)


class LostAnswerGateway(SimulatedPayoutGateway):
    """The first call is accepted but its answer is lost (timeout); the next ones answer."""

    def send(self, **kwargs):
        Calls.keys.append(kwargs["idempotency_key"])
        reference = super().send(**kwargs)
        if len(Calls.keys) == 1:
            raise PayoutTimeout
        return reference


class RefusingGateway(SimulatedPayoutGateway):
    def send(self, **kwargs):
        raise PayoutRefused("Invalid Pix key")


@pytest.fixture
def gateway(settings, monkeypatch):
    monkeypatch.setattr(Calls, "keys", [])

    def use(cls):
        settings.PAYOUT_GATEWAY = f"{__name__}.{cls.__name__}"

    return use


@pytest.mark.parametrize("cls", [NoAnswerGateway, LostAnswerGateway], ids=["no-answer", "lost"])
def test_a_gateway_timeout_leaves_it_sent_and_beat_sends_it_again_with_the_same_key(
    paid_once, gateway, cls, django_capture_on_commit_callbacks
):
    gateway(cls)
    producer, clock = paid_once.producer, paid_once.clock

    with django_capture_on_commit_callbacks() as queued:
        w = withdrawal_request(party=producer, currency="BRL", amount_minor=80_00)
    with django_capture_on_commit_callbacks() as held:
        queued[0]()  # the dispatch task: the gateway times out
    # A lost answer's payout exists at the gateway: its webhook, held here, comes later.
    assert len(held) == (1 if cls is LostAnswerGateway else 0)
    w = fresh(w)
    assert (w.status, w.reference, w.sent_at) == (S.SENT, "", RELEASED_AT)
    assert figures(producer) == (0, paid_once.available - 80_00, 80_00, paid_once.withdrawn)

    clock.move_to(RELEASED_AT + timedelta(minutes=4, seconds=59))
    assert withdrawals_dispatch_stale() == 0
    assert Calls.keys == [w.idempotency_key]

    clock.move_to(RELEASED_AT + timedelta(minutes=5, seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert withdrawals_dispatch_stale() == 1
        for callback in held:
            callback()

    w = fresh(w)
    assert Calls.keys == [w.idempotency_key, w.idempotency_key]
    charge = SimulatedGatewayCharge.objects.get(kind="payout", amount_minor=80_00 - BRL_FEE)
    assert (w.status, w.reference) == (S.PAID, charge.reference)
    assert SimulatedGatewayCharge.objects.filter(idempotency_key=w.idempotency_key).count() == 1
    assert entries_of(w) == paid_entries(w)
    assert figures(producer) == (
        0,
        paid_once.available - 80_00,
        0,
        paid_once.withdrawn + 80_00 - BRL_FEE,
    )
    assert events(w) == [("requested", "sent", None, ""), ("sent", "paid", None, "")]
    # Nothing left to send again.
    clock.move_to(RELEASED_AT + timedelta(hours=1))
    assert withdrawals_dispatch_stale() == 0
    assert balances.check_balances() == []


def test_a_requested_withdrawal_whose_task_was_lost_is_sent_by_beat(
    paid_once, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():  # the task never ran
        w = withdrawal_request(party=paid_once.producer, currency="BRL", amount_minor=70_00)
    paid_once.clock.move_to(RELEASED_AT + timedelta(minutes=6))

    with django_capture_on_commit_callbacks(execute=True):
        assert withdrawals_dispatch_stale() == 1

    assert fresh(w).status == S.PAID
    assert entries_of(w) == paid_entries(w)


def test_a_payout_the_gateway_refuses_fails_and_gives_the_money_back(
    paid_once, gateway, django_capture_on_commit_callbacks
):
    gateway(RefusingGateway)

    with django_capture_on_commit_callbacks(execute=True):
        w = withdrawal_request(party=paid_once.producer, currency="BRL", amount_minor=80_00)

    w = fresh(w)
    assert (w.status, w.failure, w.reference) == (S.FAILED, "Invalid Pix key", "")
    assert entries_of(w) == returned_entries(w)
    assert figures(paid_once.producer) == (0, paid_once.available, 0, paid_once.withdrawn)
    assert figures(None) == (0, paid_once.platform, 0, 0)
    assert events(w) == [
        ("requested", "sent", None, ""),
        ("sent", "failed", None, "Invalid Pix key"),
    ]
    assert not SimulatedGatewayCharge.objects.filter(idempotency_key=w.idempotency_key).exists()
    assert balances.check_balances() == []


def test_dispatching_a_sent_withdrawal_again_sends_nothing(paid_once):
    paid = Withdrawal.objects.get(status=S.PAID)
    assert withdrawal_dispatch(paid.pk) == "nothing to send"
    assert SimulatedGatewayCharge.objects.filter(kind="payout").count() == 1


# --- the money log ---------------------------------------------------------------------------


def test_every_withdrawal_move_is_a_money_log_line(funded, caplog):
    with caplog.at_level("INFO", logger="coprod.money"):
        w = withdrawal_request(party=funded.producer, currency="BRL", amount_minor=50_00)
        withdrawal_reject(withdrawal_id=w.pk, admin=funded.admin, reason="no")

    money = [r for r in caplog.records if r.name == "coprod.money"]
    assert not [r for r in money if r.exc_info], [r.getMessage() for r in money]
    assert any(getattr(r, "withdrawal", None) == w.pk for r in money)
