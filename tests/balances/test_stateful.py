"""Balances and withdrawals as a Hypothesis state machine (issue 12, "Done when").

Rules: paid sales (BRL or EUR, any amount within the price limits, direct or through the
affiliate, on a product with or without a cocreator), refunds (all that is left, half, a cent)
and chargebacks, days passing (beat sends the withdrawals whose sending was lost), withdrawals
by the producer, the cocreator and the affiliate (any amount: within what they may withdraw,
all of it, a cent too much, below the minimum), approved or rejected by an admin, canceled by
the requester, dispatched to the simulator, settled by the gateway's webhook (paid or failed,
and the same event again).

After every step: every balance row equals the sum of its ledger entries (check_balances); per
currency, all balances (the platform's included) add up to the money taken less the money
given back and paid out; what is in withdrawal is exactly the open withdrawals; what was
withdrawn is exactly the paid ones. Inside the withdrawal rule: a withdrawal is made exactly
when the rules allow it (above the minimum, within what may be withdrawn, not negative) and
never leaves available below zero.

The world (people, products, contracts, payout accounts) is made once per test; each example
runs inside a savepoint its teardown rolls back, so examples never see each other's rows (and
the sums over every balance row are this example's). On-commit work is never run: the
machine's own rules do what the queued tasks would (dispatch, the simulator's webhook)."""

import itertools
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.exceptions import DomainError
from coproduction import balances
from coproduction.models import Balance, BalanceRelease, Withdrawal
from coproduction.services.withdrawals import (
    payout_limits,
    payout_webhook_handle,
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_dispatch,
    withdrawal_reject,
    withdrawal_request,
    withdrawals_dispatch_stale,
)
from coproduction.tasks import simulate_payout_webhook
from products.models import Refund, Sale, SimulatedGatewayCharge
from products.services.refunds import sale_chargeback, sale_refund
from tests.balances.conftest import admin, pay, payout_account
from tests.factories import AffiliationFactory, ProductFactory, UserFactory
from tests.sales.test_ledger import cocreator_contract

S = Withdrawal.Status
CURRENCIES = ("BRL", "EUR")
WORLD_AT = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)
# Sales made this long before the machine starts are released when it does.
OPENING = timedelta(days=45)
STARTS = [
    datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
    datetime(2026, 2, 27, 23, 59, 30, tzinfo=UTC),  # a release day begins in 30 seconds
]
PICK = st.integers(0, 15)  # which of the current candidates (modulo their number)
OPEN = (S.REQUESTED, S.IN_REVIEW, S.SENT)


EVERYDAY_PRICES = {"BRL": [97_00, 297_00, 1_497_00], "EUR": [29_00, 97_00, 497_00]}


def amounts(currency: str):
    """Everyday prices, or anything within the currency's price limits."""
    low, high = settings.PRICE_LIMITS_MINOR[currency]
    return st.one_of(
        st.sampled_from(EVERYDAY_PRICES[currency]),
        st.integers(low, 1_000_00),
        st.integers(low, high),
    )


SALES = st.sampled_from(CURRENCIES).flatmap(
    lambda currency: st.tuples(st.just(currency), amounts(currency))
)


def build_world() -> SimpleNamespace:
    """Per currency a product without cocreator (no guarantee period) and one with a 20 %
    cocreator (7 days), both with a 35 % affiliate; producer, cocreator and affiliate hold a
    Pix and an IBAN payout account."""
    producer, cocreator, affiliate = (UserFactory(validated=True) for _ in range(3))
    products = {}
    for currency in CURRENCIES:
        for with_cocreator in (False, True):
            product = ProductFactory(
                producer=producer,
                currency=currency,
                price_minor=100_00,
                guarantee_days=7 if with_cocreator else 0,
            )
            if with_cocreator:
                cocreator_contract(product, cocreator=cocreator, percent="20")
            affiliation = AffiliationFactory(
                product=product, affiliate=affiliate, approved=True, commission_percent=35
            )
            products[(currency, with_cocreator)] = (product, affiliation)
    for person in (producer, cocreator, affiliate):
        payout_account(person)
        payout_account(person, eur=True)
    return SimpleNamespace(
        producer=producer,
        parties=[producer, cocreator, affiliate],
        products=products,
        admin=admin(),
        buyer=UserFactory(),
    )


class BalancesMachine(RuleBasedStateMachine):
    world: SimpleNamespace  # set by the test

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.savepoint()
        self._failed = False
        self.now = STARTS[0]
        self.taken = defaultdict(int)  # per currency: paid sales
        self.returned = defaultdict(int)  # refunds and chargebacks
        self.paid_out = defaultdict(int)  # paid withdrawals' net amounts
        self.events: list[tuple] = []  # webhook events sent: (id, kind, key)
        self.event_ids = itertools.count(1)
        self.refundable: list[int] = []
        self.can_withdraw: list[tuple[int, str]] = []  # (party, currency) with the minimum
        self.by_status: dict[str, list[int]] = {}

    @contextmanager
    def at_now(self):
        try:
            with time_machine.travel(self.now, tick=False):
                yield
        except BaseException:
            self._failed = True
            raise

    def teardown(self):
        transaction.savepoint_rollback(self._savepoint)
        transaction.set_rollback(False)

    def pick(self, candidates: list, pick: int):
        return candidates[pick % len(candidates)]

    @initialize(
        start=st.sampled_from(STARTS),
        opening=st.lists(st.tuples(SALES, st.booleans(), st.booleans()), max_size=3),
        paid_before=st.sets(st.tuples(st.integers(0, 2), st.sampled_from(CURRENCIES))),
    )
    def begin(self, start, opening, paid_before):
        """The machine's clock; sales made long enough before it to be released when it
        starts; and, for some of the payout accounts that can, a first withdrawal of the
        minimum already paid (so the next ones are not reviewed)."""
        self.now = start - OPENING
        for sale, with_cocreator, via_affiliate in opening:
            self.sell(sale, with_cocreator, via_affiliate)
        self.now = start
        for who, currency in sorted(paid_before):
            party, minimum = self.world.parties[who], payout_limits(currency)["minimum"]
            with self.at_now():
                if balances.balance_of(party.pk, currency).withdrawable_minor < minimum:
                    continue
                w = withdrawal_request(party=party, currency=currency, amount_minor=minimum)
                withdrawal_approve(withdrawal_id=w.pk, admin=self.world.admin)
                withdrawal_dispatch(w.pk)
                assert simulate_payout_webhook(idempotency_key=w.idempotency_key) == "processed"
            self.settled(w, paid=True)

    # ------------------------------------------------------------------ sales and refunds

    @rule(sale=SALES, with_cocreator=st.booleans(), via_affiliate=st.booleans())
    def sell(self, sale, with_cocreator, via_affiliate):
        currency, amount = sale
        product, affiliation = self.world.products[(currency, with_cocreator)]
        with self.at_now():
            paid = pay(
                product,
                affiliation=affiliation if via_affiliate else None,
                amount_minor=amount,
                buyer=self.world.buyer,
            )
        assert paid.status == Sale.Status.PAID
        self.taken[currency] += amount

    @precondition(lambda self: self.refundable)
    @rule(pick=PICK, how=st.sampled_from(["all", "half", "one_cent", "chargeback"]))
    def take_back(self, pick, how):
        """The producer refunds all that is left, half of it or a cent; or the buyer's bank
        charges it back."""
        sale = Sale.objects.get(pk=self.pick(self.refundable, pick))
        left = sale.refundable_minor
        with self.at_now():
            released = balances.today() >= sale.ledger.first().available_on
            if how == "chargeback":
                sale_chargeback(sale=sale, actor=None)
                amount = left
            else:
                amount = {"all": left, "half": max(1, left // 2), "one_cent": 1}[how]
                refund = sale_refund(sale=sale, actor=self.world.producer, amount_minor=amount)
                assert refund.status == Refund.Status.SUCCEEDED
        event(f"{how} after the release" if released else f"{how} before the release")
        self.returned[sale.currency] += amount

    @rule(days=st.one_of(st.just("next release"), st.integers(1, 40)), seconds=st.integers(0, 2))
    def time_passes(self, days, seconds):
        """Some days, or to the next day something is released (00:00 UTC, or a second or two
        after); beat sends the withdrawals whose sending was lost."""
        if days == "next release":
            with self.at_now():
                day = (
                    BalanceRelease.objects.filter(available_on__gt=balances.today())
                    .order_by("available_on")
                    .values_list("available_on", flat=True)
                    .first()
                )
            if day is None:
                return
            self.now = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            self.now += timedelta(days=days)
        self.now += timedelta(seconds=seconds)
        with self.at_now():
            withdrawals_dispatch_stale()

    # ------------------------------------------------------------------ withdrawals

    @rule(
        who=st.integers(0, 2),
        currency=st.sampled_from(CURRENCIES),
        how=st.sampled_from(["all", "part", "minimum", "one_more", "below_minimum", "any"]),
        percent=st.integers(1, 99),
        raw=st.integers(1, 2_000_00),
    )
    def withdraw(self, who, currency, how, percent, raw):
        """Anyone asks for any amount: made exactly when the rules allow it."""
        self.request(self.world.parties[who], currency, how, percent, raw)

    @precondition(lambda self: self.can_withdraw)
    @rule(pick=PICK, how=st.sampled_from(["all", "part", "minimum"]), percent=st.integers(1, 99))
    def withdraw_what_is_there(self, pick, how, percent):
        """Someone with at least the minimum to withdraw asks for some of it."""
        who, currency = self.pick(self.can_withdraw, pick)
        self.request(self.world.parties[who], currency, how, percent, raw=0)

    def request(self, party, currency, how, percent, raw):
        limits = payout_limits(currency)
        with self.at_now():
            before = balances.balance_of(party.pk, currency)
            most = before.withdrawable_minor
            amount = {
                "all": most,
                "part": max(limits["minimum"], most * percent // 100),
                "minimum": limits["minimum"],
                "one_more": most + 1,
                "below_minimum": limits["minimum"] - 1,
                "any": raw,
            }[how]
            allowed = limits["minimum"] <= amount <= most and not before.is_negative
            try:
                withdrawal = withdrawal_request(party=party, currency=currency, amount_minor=amount)
            except DomainError:
                assert not allowed, (amount, before)
                event("withdrawal refused" + (" (negative)" if before.is_negative else ""))
                return
            after = balances.balance_of(party.pk, currency)
        assert allowed, (amount, before)
        # Never below zero through a withdrawal: it takes exactly its amount from available.
        assert amount <= before.available_raw_minor
        assert after.available_raw_minor == before.available_raw_minor - amount >= 0
        assert after.in_withdrawal_minor == before.in_withdrawal_minor + amount
        assert withdrawal.status in (S.REQUESTED, S.IN_REVIEW)
        event(f"withdrawal {withdrawal.status}")

    @precondition(lambda self: self.by_status.get(S.IN_REVIEW))
    @rule(pick=PICK, approve=st.booleans())
    def review(self, pick, approve):
        pk = self.pick(self.by_status[S.IN_REVIEW], pick)
        with self.at_now():
            if approve:
                withdrawal_approve(withdrawal_id=pk, admin=self.world.admin)
            else:
                withdrawal_reject(withdrawal_id=pk, admin=self.world.admin, reason="Not now")
        assert Withdrawal.objects.get(pk=pk).status == (S.SENT if approve else S.REJECTED)

    @precondition(lambda self: self.by_status.get(S.REQUESTED))
    @rule(pick=PICK)
    def cancel(self, pick):
        withdrawal = Withdrawal.objects.get(pk=self.pick(self.by_status[S.REQUESTED], pick))
        with self.at_now():
            withdrawal_cancel(withdrawal_id=withdrawal.pk, party=withdrawal.party)
        assert Withdrawal.objects.get(pk=withdrawal.pk).status == S.CANCELED

    @precondition(lambda self: self.by_status.get(S.REQUESTED) or self.by_status.get(S.SENT))
    @rule(pick=PICK)
    def dispatch(self, pick):
        """The dispatch task runs (the simulator remembers the payout; its webhook waits)."""
        pk = self.pick(self.by_status.get(S.REQUESTED, []) + self.by_status.get(S.SENT, []), pick)
        with self.at_now():
            withdrawal_dispatch(pk)
        withdrawal = Withdrawal.objects.get(pk=pk)
        assert withdrawal.status == S.SENT and withdrawal.reference

    @precondition(lambda self: self.by_status.get(S.SENT))
    @rule(pick=PICK, outcome=st.sampled_from(["simulator", "payout.paid", "payout.failed"]))
    def webhook(self, pick, outcome):
        """The gateway's signed webhook for a sent payout: the simulator's own (paid unless
        the amount sent ends in 13 cents; none before the payout reached it), or an outcome
        the gateway decided."""
        withdrawal = Withdrawal.objects.get(pk=self.pick(self.by_status[S.SENT], pick))
        key = withdrawal.idempotency_key
        if outcome == "simulator":
            charge = SimulatedGatewayCharge.objects.filter(idempotency_key=key).first()
            with self.at_now():
                result = simulate_payout_webhook(idempotency_key=key)
            if charge is None:  # not dispatched yet: the gateway knows nothing of it
                assert result == "unknown"
                return
            paid = charge.outcome == "paid"
        else:
            event_id = f"evt-{next(self.event_ids)}"
            with self.at_now():
                result = payout_webhook_handle(
                    event_id=event_id, kind=outcome, external_id=key, payload={}
                )
            self.events.append((event_id, outcome, key))
            paid = outcome == "payout.paid"
        assert result == "processed"
        self.settled(withdrawal, paid)

    def settled(self, withdrawal, paid: bool) -> None:
        after = Withdrawal.objects.get(pk=withdrawal.pk)
        assert after.status == (S.PAID if paid else S.FAILED)
        if paid:
            self.paid_out[withdrawal.currency] += withdrawal.net_minor
        event(f"withdrawal {after.status}")

    @precondition(lambda self: self.events)
    @rule(pick=PICK)
    def webhook_again(self, pick):
        event_id, kind, key = self.pick(self.events, pick)
        with self.at_now():
            result = payout_webhook_handle(
                event_id=event_id, kind=kind, external_id=key, payload={}
            )
        assert result == "duplicate"

    # ------------------------------------------------------------------ invariants

    @invariant()
    def books_balance(self):
        if self._failed:
            return
        try:
            self.check()
        except BaseException:
            self._failed = True
            raise

    def check(self) -> None:
        assert balances.check_balances() == []

        rows = {
            currency: Balance.objects.filter(currency=currency).aggregate(
                settled=Sum("settled_minor"),
                in_withdrawal=Sum("in_withdrawal_minor"),
                withdrawn=Sum("withdrawn_minor"),
            )
            for currency in CURRENCIES
        }
        for currency, row in rows.items():
            held = (row["settled"] or 0) + (row["in_withdrawal"] or 0)
            expected = self.taken[currency] - self.returned[currency] - self.paid_out[currency]
            assert held == expected, (currency, row, self.taken, self.returned, self.paid_out)
            assert (row["withdrawn"] or 0) == self.paid_out[currency], (currency, row)

        # What is in withdrawal is exactly the open withdrawals; withdrawn, the paid ones.
        open_amounts = defaultdict(int)
        paid_nets = defaultdict(int)
        withdrawals = list(
            Withdrawal.objects.order_by("pk").values_list(
                "pk", "party_id", "currency", "status", "amount_minor", "fee_minor"
            )
        )
        for _pk, party_id, currency, status, amount, fee in withdrawals:
            if status in OPEN:
                open_amounts[(party_id, currency)] += amount
            elif status == S.PAID:
                paid_nets[(party_id, currency)] += amount - fee
        can_withdraw = []
        for who, party in enumerate(self.world.parties):
            for currency in CURRENCIES:
                view = balances.balance_of(party.pk, currency, on=self.now.date())
                assert view.in_withdrawal_minor == open_amounts[(party.pk, currency)]
                assert view.withdrawn_minor == paid_nets[(party.pk, currency)]
                assert view.pending_raw_minor >= 0
                if view.withdrawable_minor >= payout_limits(currency)["minimum"]:
                    can_withdraw.append((who, currency))
        self.can_withdraw = can_withdraw

        by_status = defaultdict(list)
        for pk, _party, _currency, status, *_ in withdrawals:
            by_status[status].append(pk)
        self.by_status = dict(by_status)
        self.refundable = list(
            Sale.objects.filter(
                status__in=(Sale.Status.PAID, Sale.Status.PARTIALLY_REFUNDED),
                refunded_minor__lt=F("amount_minor"),
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )


@pytest.mark.django_db
def test_balances_state_machine(time_machine, monkeypatch, balances_profile):
    time_machine.move_to(WORLD_AT, tick=False)
    monkeypatch.setattr(BalancesMachine, "world", build_world(), raising=False)
    run_state_machine_as_test(BalancesMachine, settings=balances_profile)
