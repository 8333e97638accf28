"""Balance races on PostgreSQL: real threads, each on its own connection, released together
(tests.concurrency). The balance's row lock (every shard of it) must keep withdrawals from
overdrawing, a refund racing a withdrawal must leave the balance exactly the sum of its
entries, and writers crediting the same parties must never deadlock.

Each thread is slowed down where it holds what it read or locked, so that without the locks
the threads would act on the same state."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts import payout_accounts
from accounts.exceptions import DomainError
from accounts.models import PayoutAccount
from coproduction import balances
from coproduction.models import Balance, LedgerEntry, Withdrawal
from coproduction.services import withdrawals
from coproduction.services.ledger import ledger_write_splits
from coproduction.services.withdrawals import (
    payout_webhook_handle,
    withdrawal_approve,
    withdrawal_reject,
    withdrawal_request,
)
from products.models import Refund, Sale
from products.payments.models import StateEvent
from products.services.refunds import sale_refund
from tests.balances.conftest import (
    BRL_FEE,
    BRL_RELEASE,
    SPLIT,
    admin,
    figures,
    make_world,
    midnight,
    pay_split,
    payout_account,
)
from tests.concurrency import errors, run_together
from tests.coproduction.factories import terms_of_use
from tests.factories import ProductFactory, UserFactory
from tests.sales.test_ledger import cocreator_contract

pytestmark = pytest.mark.django_db(transaction=True)

S = Withdrawal.Status


@pytest.fixture(autouse=True)
def published_terms():
    # A transactional test's flush removes the migration's rows; put the terms back.
    return terms_of_use()


@pytest.fixture
def slow_reads(monkeypatch) -> threading.Event:
    """A withdrawal holds what it read of the balance a while before writing; the event is
    set once one has read."""
    original, read = balances.balance_of, threading.Event()

    def balance_of(*args, **kwargs):
        view = original(*args, **kwargs)
        read.set()
        time.sleep(0.05)
        return view

    monkeypatch.setattr(balances, "balance_of", balance_of)
    return read


@pytest.fixture
def slow_writes(monkeypatch) -> threading.Event:
    """Every ledger writer holds its balance rows a while after updating them; the event is
    set once one has updated them."""
    original, written = balances.apply, threading.Event()

    def apply(deltas):
        original(deltas)
        written.set()
        time.sleep(0.2)

    monkeypatch.setattr(balances, "apply", apply)
    return written


def sums_of_entries(party_id, currency="BRL") -> tuple[int, int, int]:
    """(settled, in withdrawal, withdrawn) of a party, summed from the ledger itself."""
    entries = LedgerEntry.objects.filter(beneficiary_id=party_id, currency=currency)

    def total(*buckets):
        return entries.filter(bucket__in=buckets).aggregate(s=Sum("amount_minor"))["s"] or 0

    return (total("earning", "available"), total("in_withdrawal"), total("withdrawn"))


def assert_exact(party) -> balances.BalanceView:
    view = balances.balance_of(party.pk, "BRL")
    assert (view.settled_minor, view.in_withdrawal_minor, view.withdrawn_minor) == (
        sums_of_entries(party.pk)
    )
    assert balances.check_balances() == []
    return view


# --- twenty withdrawals of everything at once ------------------------------------------------


@pytest.fixture
def released(clock):
    """The world's producer with three released sales (157.26 available) and a payout
    account; the clock on the release day."""
    w = make_world()
    for _ in range(3):
        pay_split(w)
    w.account = payout_account(w.producer)
    clock.move_to(midnight(BRL_RELEASE) + timedelta(hours=9))
    w.available = 3 * SPLIT["producer"]
    assert figures(w.producer) == (0, w.available, 0, 0)
    return w


@pytest.mark.parametrize("reviewed", [True, False], ids=["first-reviewed", "sent-at-once"])
def test_twenty_withdrawals_of_the_whole_available_amount_at_once_one_succeeds(
    released, slow_reads, reviewed
):
    producer = released.producer
    available = released.available
    if not reviewed:  # a paid withdrawal before: the next ones go to the gateway at once
        first = withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)
        withdrawal_approve(withdrawal_id=first.pk, admin=admin())
        assert Withdrawal.objects.get(pk=first.pk).status == S.PAID
        available -= 50_00

    results = run_together(
        *[
            lambda: withdrawal_request(party=producer, currency="BRL", amount_minor=available)
            for _ in range(20)
        ]
    )

    (winner,) = [r for r in results if isinstance(r, Withdrawal)]
    refused = errors(results)
    assert len(refused) == 19
    assert all(type(e) is DomainError for e in refused), refused
    assert {e.message for e in refused} == {"You can withdraw up to R$0.00."}
    winner = Withdrawal.objects.get(pk=winner.pk)
    assert winner.status == (S.IN_REVIEW if reviewed else S.PAID)
    assert Withdrawal.objects.filter(amount_minor=available).count() == 1
    view = assert_exact(producer)
    assert view.available_raw_minor == 0
    assert view.in_withdrawal_minor == (available if reviewed else 0)


# --- a withdrawal racing a refund of a released sale -----------------------------------------


@pytest.mark.parametrize("order", ["together", "withdrawal-first", "refund-first"])
def test_a_withdrawal_racing_a_refund_leaves_the_balance_exact(
    released, slow_reads, slow_writes, order
):
    producer = released.producer
    sale = Sale.objects.filter(product=released.product).order_by("pk").first()
    amount = released.available  # everything, before the refund takes 52.42 of it
    slow_reads.clear(), slow_writes.clear()

    def withdraw():
        if order == "refund-first":  # once the refund holds the balance, its entries written
            assert slow_writes.wait(timeout=30)
        return withdrawal_request(party=producer, currency="BRL", amount_minor=amount)

    def refund():
        if order == "withdrawal-first":  # once the withdrawal holds the balance and read it
            assert slow_reads.wait(timeout=30)
        return sale_refund(sale=sale, actor=producer)

    results = run_together(withdraw, refund)

    refund_result = results[1]
    assert isinstance(refund_result, Refund), refund_result
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    withdrawn = isinstance(results[0], Withdrawal)
    if not withdrawn:  # the refund came first: less is left than was asked
        assert type(results[0]) is DomainError
        assert results[0].message == f"You can withdraw up to R${(amount - 52_42) / 100:.2f}."
    if order == "withdrawal-first":
        assert withdrawn
    if order == "refund-first":
        assert not withdrawn
    view = assert_exact(producer)
    # Whatever the order: what the three sales left after the refund, withdrawn or not.
    assert view.settled_minor + view.in_withdrawal_minor == amount - 52_42
    assert view.in_withdrawal_minor == (amount if withdrawn else 0)
    # Available is below zero only when the refund came after the withdrawal took everything.
    assert view.available_raw_minor == (-52_42 if withdrawn else amount - 52_42)
    assert view.is_negative == withdrawn
    assert Withdrawal.objects.count() == int(withdrawn)


# --- settling one withdrawal twice at once ---------------------------------------------------


@pytest.fixture
def sent(released, monkeypatch):
    """A withdrawal of 100.00 approved and sent; the gateway not called (its task lost)."""
    w = withdrawal_request(party=released.producer, currency="BRL", amount_minor=100_00)
    with monkeypatch.context() as patch:
        patch.setattr(withdrawals, "_dispatch_on_commit", lambda pk: None)
        withdrawal_approve(withdrawal_id=w.pk, admin=admin())
    w.refresh_from_db()
    assert w.status == S.SENT
    return w


def _webhook(w, event_id, kind):
    return lambda: payout_webhook_handle(
        event_id=event_id, kind=kind, external_id=w.idempotency_key, payload={}
    )


@pytest.mark.parametrize(
    "second", [("evt-1", "payout.paid"), ("evt-2", "payout.paid"), ("evt-2", "payout.failed")]
)
def test_two_webhook_deliveries_at_once_settle_the_withdrawal_once(
    released, sent, slow_writes, second
):
    results = run_together(_webhook(sent, "evt-1", "payout.paid"), _webhook(sent, *second))

    assert errors(results) == []
    assert sorted(results) == ["duplicate", "processed"]
    sent.refresh_from_db()
    view = assert_exact(released.producer)
    if sent.status == S.PAID:
        assert view.withdrawn_minor == 100_00 - BRL_FEE
        assert view.available_raw_minor == released.available - 100_00
    else:
        assert sent.status == S.FAILED
        assert (view.withdrawn_minor, view.available_raw_minor) == (0, released.available)
    assert view.in_withdrawal_minor == 0
    assert (
        StateEvent.objects.filter(
            machine="withdrawal", object_id=sent.pk, from_status="sent"
        ).count()
        == 1
    )


def test_an_approval_and_a_rejection_at_once_one_wins(released, slow_writes):
    w = withdrawal_request(party=released.producer, currency="BRL", amount_minor=100_00)
    boss, other = admin(), admin()

    results = run_together(
        lambda: withdrawal_approve(withdrawal_id=w.pk, admin=boss),
        lambda: withdrawal_reject(withdrawal_id=w.pk, admin=other, reason="Looks wrong"),
    )

    (error,) = errors(results)
    assert type(error) is DomainError
    assert error.message in (
        "Only a withdrawal in review can be approved.",
        "Only a withdrawal in review can be rejected.",
    )
    w.refresh_from_db()
    assert w.status in (S.PAID, S.REJECTED)  # an approved one is paid by the simulator
    assert w.reviewed_by == (boss if w.status == S.PAID else other)
    view = assert_exact(released.producer)
    assert view.in_withdrawal_minor == 0
    assert view.withdrawn_minor == (100_00 - BRL_FEE if w.status == S.PAID else 0)


# --- a withdrawal racing a change of payout account -----------------------------------------


@pytest.mark.parametrize("order", ["together", "withdrawal-first", "change-first"])
def test_a_withdrawal_racing_a_change_of_payout_account_never_pays_the_new_one_during_its_hold(
    released, slow_reads, monkeypatch, order
):
    producer, old = released.producer, released.account
    changed = threading.Event()
    original_email_change = payout_accounts._email_change

    def slow_email_change(**kwargs):  # inside the change's transaction, the old row locked
        original_email_change(**kwargs)
        changed.set()
        time.sleep(0.2)

    monkeypatch.setattr(payout_accounts, "_email_change", slow_email_change)
    slow_reads.clear()
    data = {
        "kind": "pix",
        "pix_key_type": "email",
        "pix_key": "new-key@example.com",
        "holder_name": producer.validation.legal_name,
        "holder_document": producer.validation.tax_document,
    }

    def withdraw():
        if order == "change-first":
            assert changed.wait(timeout=30)
        return withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)

    def change():
        if order == "withdrawal-first":
            assert slow_reads.wait(timeout=30)
        return payout_accounts.payout_account_save(user=producer, data=data)

    results = run_together(withdraw, change)

    new = results[1]
    assert isinstance(new, PayoutAccount), new
    assert new.withdrawals_held_until is not None
    old.refresh_from_db()
    assert not old.is_active
    withdrawn = isinstance(results[0], Withdrawal)
    if withdrawn:  # asked before the change: to the account it was asked for
        assert results[0].payout_account_id == old.pk
        assert results[0].account_snapshot == old.snapshot()
    else:
        assert type(results[0]) is DomainError
        assert results[0].message.startswith("Your payout account changed")
    if order != "together":
        assert withdrawn == (order == "withdrawal-first")
    assert not Withdrawal.objects.filter(payout_account=new).exists()
    # During the hold the new account receives nothing.
    with pytest.raises(DomainError) as held:
        withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)
    assert held.value.message.startswith(
        "Your payout account changed recently: withdrawals are held until"
    )
    view = assert_exact(producer)
    assert view.in_withdrawal_minor == (50_00 if withdrawn else 0)


# --- billing writers crediting the same parties at once --------------------------------------


def _paid_unsplit(product, affiliation=None, count: int = 3) -> list[int]:
    buyer = UserFactory()
    now = timezone.now()
    sales = Sale.objects.bulk_create(
        Sale(
            product=product,
            buyer=buyer,
            affiliation=affiliation,
            amount_minor=product.price_minor,
            currency=product.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            paid_at=now,
        )
        for _ in range(count)
    )
    return [s.pk for s in sales]


def test_two_billing_writes_for_the_same_producer_at_once_both_count(clock, slow_writes):
    w = make_world()
    first, second = _paid_unsplit(w.product, w.affiliation), _paid_unsplit(w.product, w.affiliation)

    results = run_together(
        lambda: ledger_write_splits(sale_ids=first),
        lambda: ledger_write_splits(sale_ids=second),
    )

    assert results == [3, 3]
    for role, party in w.parties.items():
        assert figures(party) == (6 * SPLIT[role], 0, 0, 0), role
    assert balances.check_balances() == []


def test_nine_writers_crediting_the_same_parties_in_crossed_roles_never_deadlock(
    clock, slow_writes
):
    """Nine sessions: at least two share a balance shard (pg_backend_pid() % 8). Half the
    batches pay A as producer and B as cocreator, the other half the other way round; every
    batch credits the platform too."""
    a, b = UserFactory(validated=True), UserFactory(validated=True)
    ab = ProductFactory(producer=a, price_minor=100_00)
    cocreator_contract(ab, cocreator=b, percent="10")
    ba = ProductFactory(producer=b, price_minor=100_00)
    cocreator_contract(ba, cocreator=a, percent="10")
    batches = [_paid_unsplit(ab if n % 2 else ba) for n in range(9)]
    shards = []

    def write(ids):
        def call():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid() %% %s", [balances.BALANCE_SHARDS])
                shards.append(cursor.fetchone()[0])
            return ledger_write_splits(sale_ids=ids)

        return call

    results = run_together(*[write(ids) for ids in batches], timeout=120)

    assert results == [3] * 9, errors(results)
    assert len(set(shards)) < len(shards)  # some of them wrote the same rows
    # 100.00 direct: the platform's 10.40, the cocreator's 8.96 and the producer's 80.64.
    assert figures(a) == (12 * 80_64 + 15 * 8_96, 0, 0, 0)
    assert figures(b) == (15 * 80_64 + 12 * 8_96, 0, 0, 0)
    assert figures(None) == (27 * 10_40, 0, 0, 0)
    assert Balance.objects.filter(party=None).count() == len(set(shards))
    assert balances.check_balances() == []
