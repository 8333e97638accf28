"""The whole payment lifecycle as a Hypothesis state machine (issue 8, deliverable 9).

Rules: one-time checkouts (direct and through the affiliate link; approved, declined and
timing-out cards, boleto slips, the same form submitted again), subscriptions (card, two
cards, boleto; the first payment retried, the card changed, cancelled by either side),
co-production contracts (invited, accepted, declined, changed, ended, with and without
automatic sales recovery), time passing with every beat task (recurrences created and charged,
declines retried, lost answers asked again, slips expiring, refunds retried, contracts
expiring), gateway webhooks (early, late, duplicated; confirmed and expired), refunds (full and
partial, by the producer or the buyer; some refused by the gateway, then retried) and
chargebacks. After every step the money invariants of `_check` hold over this example's rows:
ledger = paid - refunded, nobody below zero, the producer's 30 %, the gateway never holds more
than a sale's amount, every approved charge recorded (a lost answer only until the billing run
asks again past its lease: checked at the end, after every lease ran out), approved money paid
or refunded, and slips voided when their subscription is cancelled.

Each example builds its own world (users, products, plans, affiliations) inside a savepoint
that its teardown rolls back: the beat tasks are global (they bill every due subscription in
the database), so rolling back keeps one example's subscriptions out of the next one's
billing runs, and the database from growing over hundreds of examples."""

import itertools
from collections import defaultdict
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test import TestCase, override_settings
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.exceptions import DomainError
from coproduction.models import MAX_SHARE_PERCENT, ChangeRequest, Contract, LedgerEntry
from coproduction.services.changes import (
    change_request_accept,
    change_request_propose,
    change_request_refuse,
)
from coproduction.services.contracts import (
    contract_accept,
    contract_cancel,
    contract_decline,
    contract_invite,
    contract_request_end,
    contracts_expire,
)
from products.models import (
    PaymentAttempt,
    Plan,
    Refund,
    Sale,
    SimulatedGatewayCharge,
)
from products.payments import keys
from products.payments.gateway import GatewayResult, Outcome, SimulatedGateway
from products.payments.services import attempts_reconcile
from products.services.refunds import refunds_retry, sale_chargeback, sale_refund
from products.services.sales import sale_pay, sale_start
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.billing import (
    payments_expire,
    recurrences_collect,
    recurrences_create_due,
)
from subscriptions.services.lifecycle import subscription_cancel
from subscriptions.services.subscribe import subscription_start, subscription_update_payment
from subscriptions.services.webhooks import webhook_handle
from tests.coproduction.factories import change_fields, terms_of_use
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import APPROVED, DECLINED, INSUFFICIENT, TIMEOUT

CARDS = {
    "approved": APPROVED,
    "declined": DECLINED,
    "insufficient": INSUFFICIENT,
    "timeout": TIMEOUT,
}
CHECKOUT_PAYMENTS = st.sampled_from(["approved", "declined", "timeout", "boleto"])
SUBSCRIPTION_PAYMENTS = st.sampled_from(
    [
        "approved",
        "declined",
        "timeout",
        "boleto",
        "two_cards",
        "two_cards_second_declined",
        # the card that paid the first installment is declined, or loses answers, later
        "approved_then_declined",
        "approved_then_timeout",
    ]
)
CARD_CHANGES = st.sampled_from(list(CARDS))
BUYERS = st.integers(0, 2)
PICK = st.integers(0, 15)  # which of the current candidates (modulo their number)
PERCENTS = st.sampled_from(["10", "25", "35", "33.33", "50", "70"])
STARTS = [  # UTC; 02:30 is still the evening before in the producer's São Paulo
    datetime(2026, 1, 31, 12, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 2, 30, tzinfo=UTC),
    datetime(2026, 2, 27, 15, 0, tzinfo=UTC),
    datetime(2026, 12, 30, 23, 50, tzinfo=UTC),
]

# After this much time every lease and back-off of a lost answer has passed (billing's
# LEASE 5 min and LOST_RETRY 10 min, checkout's STALE_ATTEMPT 2 min).
PAST_THE_LEASES = timedelta(minutes=15)
UNKNOWN = set(PaymentAttempt.UNKNOWN)
SETTLED = {PaymentAttempt.Status.APPROVED, PaymentAttempt.Status.VOIDED}
PAID_OR_PARKED = {*Sale.COUNTED, Sale.Status.NEEDS_ATTENTION}

# Webhooks the early-delivering gateway sent during a charge call; the machine replays them.
_early_events: list[tuple[str, str, str]] = []


class EarlyWebhookGateway(SimulatedGateway):
    """The simulator, but the buyer pays each slip so fast that the gateway's confirmation
    arrives before the charge call has even returned its reference (so it matches nothing
    yet); the gateway delivers it again later (the machine's replay rule)."""

    def charge_many(self, requests):
        answers = super().charge_many(requests)
        for answer in answers:
            if isinstance(answer, GatewayResult) and answer.outcome == Outcome.PENDING:
                event = (f"evt-early-{answer.reference}", "payment.confirmed", answer.reference)
                webhook_handle(event_id=event[0], kind=event[1], reference=event[2], payload={})
                _early_events.append(event)
        return answers


EARLY_GATEWAY = f"{__name__}.EarlyWebhookGateway"


@dataclass
class Snapshot:
    """What the preconditions need, refreshed by the invariant check after every step."""

    refundable: list[int] = field(default_factory=list)
    slips: list[str] = field(default_factory=list)


class PaymentLifecycle(RuleBasedStateMachine):
    sales = Bundle("sales")
    subscriptions = Bundle("subscriptions")
    contracts = Bundle("contracts")

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.savepoint()
        self._failed = False
        self.ready = False
        self.snap = Snapshot()
        self.events: list[tuple[str, str, str]] = []
        self.event_ids = itertools.count(1)
        self.early = False
        self.subscribed = self.dated_contracts = False
        self.sale_forms: dict[int, tuple] = {}  # sale → (buyer, checkout token)
        self.subscription_forms: dict[int, tuple] = {}  # → (buyer, plan, checkout token)
        SimulatedGateway.failing_refunds = set()
        _early_events.clear()

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def unit(self, at: datetime | None = None):
        """One piece of work at `at` (default: the machine's clock), its on-commit work (emails,
        late refunds, voids) run as a commit would; a refusal a person can cause is allowed."""
        try:
            with ExitStack() as stack:
                stack.enter_context(time_machine.travel(at or self.now, tick=False))
                if self.early:
                    stack.enter_context(override_settings(PAYMENT_GATEWAY=EARLY_GATEWAY))
                stack.enter_context(TestCase.captureOnCommitCallbacks(execute=True))
                with suppress(DomainError):
                    yield
            self.events += _early_events
            _early_events.clear()
        except BaseException:
            self._failed = True
            raise

    def beat(self, at: datetime) -> None:
        """What celery-beat runs, in order, at `at`. A task is left out while this world has
        nothing it could touch (no dated contract; no subscription): it would only read empty
        queries, and the runs add up over the days."""
        with self.unit(at):
            if self.dated_contracts:
                contracts_expire()
            if self.subscribed:
                recurrences_create_due()
                recurrences_collect()
                payments_expire()
            refunds_retry()
            attempts_reconcile()

    def advance(self, delta: timedelta) -> None:
        self.now += delta
        self.beat(self.now)

    def teardown(self):
        try:
            if self.ready and not self._failed:
                # A lost answer is legitimately unknown until the billing run asks again past
                # its lease: let every lease run out and run beat, then nothing may be left
                # unknown. A second round settles what the first one's own charges lost (a
                # recurrence falling due in it); asking again never loses an answer.
                for _ in range(2):
                    self.now += PAST_THE_LEASES
                    self.beat(self.now)
                self.check(final=True)
        finally:
            SimulatedGateway.failing_refunds = set()
            _early_events.clear()
            transaction.savepoint_rollback(self._savepoint)
            transaction.set_rollback(False)

    # ------------------------------------------------------------------ the world

    @initialize(
        start=st.sampled_from(STARTS),
        price=st.sampled_from([5000, 9990, 10000, 12345, 50000]),
        weekly_price=st.sampled_from([5000, 7990]),
        monthly_price=st.sampled_from([8990, 19900]),
        installments=st.sampled_from([None, 3]),
        promo=st.sampled_from([None, 5000]),
        affiliate_percent=st.sampled_from([10, 35, 80]),
        cocreators_may_be_affiliates=st.booleans(),
    )
    def world(
        self,
        start,
        price,
        weekly_price,
        monthly_price,
        installments,
        promo,
        affiliate_percent,
        cocreators_may_be_affiliates,
    ):
        self.now = start
        with time_machine.travel(start, tick=False):
            terms_of_use()
            self.producer = UserFactory(validated=True)
            self.affiliate = UserFactory(validated=True)
            # The affiliate may be invited as a cocreator too (the fourth candidate).
            self.cocreators = [UserFactory(validated=True) for _ in range(3)] + [self.affiliate]
            self.buyers = [UserFactory() for _ in range(3)]
            flag = {"cocreators_may_be_affiliates": cocreators_may_be_affiliates}
            self.one_time = ProductFactory(producer=self.producer, price_minor=price, **flag)
            self.sub_product = ProductFactory(producer=self.producer, subscription=True, **flag)
            self.plans = [
                PlanFactory(
                    product=self.sub_product,
                    name="Weekly",
                    periodicity=Plan.Periodicity.WEEKLY,
                    price_minor=weekly_price,
                    installments=installments,
                ),
                PlanFactory(
                    product=self.sub_product,
                    name="Monthly",
                    periodicity=Plan.Periodicity.MONTHLY,
                    price_minor=monthly_price,
                    promo_first_price_minor=promo,
                ),
            ]
            self.codes = {
                product.pk: AffiliationFactory(
                    product=product,
                    affiliate=self.affiliate,
                    approved=True,
                    commission_percent=affiliate_percent,
                ).code
                for product in (self.one_time, self.sub_product)
            }
        self.product_ids = [self.one_time.pk, self.sub_product.pk]
        self.ready = True

    # ------------------------------------------------------------------ one-time checkouts

    @rule(target=sales, buyer=BUYERS, via_affiliate=st.booleans(), pay=CHECKOUT_PAYMENTS)
    def buy(self, buyer, via_affiliate, pay):
        buyer = self.buyers[buyer]
        token = keys.checkout_token_new(buyer_id=buyer.pk)
        sale = None
        with self.unit():
            sale = sale_start(
                product=self.one_time,
                buyer=buyer,
                affiliate_code=self.codes[self.one_time.pk] if via_affiliate else None,
                checkout_token=token,
                **_method(pay),
            )
            sale_pay(sale=sale, token=_token(pay))
        if sale is None:
            return multiple()
        self.sale_forms[sale.pk] = (buyer, token)
        return sale.pk

    @rule(sale=sales, pay=CHECKOUT_PAYMENTS)
    def pay_again(self, sale, pay):
        """The same checkout form submitted again (after a decline, a lost answer, or twice)."""
        buyer, token = self.sale_forms[sale]
        with self.unit():
            again = sale_start(
                product=self.one_time,
                buyer=buyer,
                affiliate_code=None,
                checkout_token=token,
                **_method(pay),
            )
            sale_pay(sale=again, token=_token(pay))

    # ------------------------------------------------------------------ subscriptions

    @rule(
        target=subscriptions,
        buyer=BUYERS,
        plan=st.integers(0, 1),
        via_affiliate=st.booleans(),
        pay=SUBSCRIPTION_PAYMENTS,
    )
    def subscribe(self, buyer, plan, via_affiliate, pay):
        buyer, plan = self.buyers[buyer], self.plans[plan]
        token = keys.checkout_token_new(buyer_id=buyer.pk)
        self.subscribed = True
        with self.unit():
            subscription_start(
                plan=plan,
                buyer=buyer,
                affiliate_code=self.codes[self.sub_product.pk] if via_affiliate else None,
                checkout_token=token,
                **_subscription_payment(pay),
            )
        key = keys.checkout_key(buyer_id=buyer.pk, token=token)
        subscription = Subscription.objects.filter(checkout_key=key).first()
        if subscription is None:
            return multiple()
        self.subscription_forms[subscription.pk] = (buyer, plan, token)
        if "_then_" in pay:
            # The card that paid the first installment fails later (as tests set a card).
            later = CARDS[pay.split("_then_")[1]]
            Subscription.objects.filter(pk=subscription.pk).update(payment_token=later)
        return subscription.pk

    @rule(subscription=subscriptions, pay=SUBSCRIPTION_PAYMENTS)
    def pay_first_again(self, subscription, pay):
        buyer, plan, token = self.subscription_forms[subscription]
        with self.unit():
            subscription_start(
                plan=plan,
                buyer=buyer,
                affiliate_code=None,
                checkout_token=token,
                **_subscription_payment(pay),
            )

    @rule(subscription=subscriptions, card=CARD_CHANGES)
    def change_card(self, subscription, card):
        subscription = Subscription.objects.get(pk=subscription)
        with self.unit():
            subscription_update_payment(
                subscription=subscription,
                actor=subscription.buyer,
                method="card",
                token=CARDS[card],
            )

    @rule(subscription=subscriptions, by_buyer=st.booleans())
    def cancel(self, subscription, by_buyer):
        subscription = Subscription.objects.select_related("product").get(pk=subscription)
        actor = subscription.buyer if by_buyer else self.producer
        with self.unit():
            subscription_cancel(subscription=subscription, actor=actor)

    # ------------------------------------------------------------------ contracts

    @rule(
        target=contracts,
        on_subscriptions=st.booleans(),
        who=st.integers(0, 3),
        percent=PERCENTS,
        affiliate_percent=st.none() | PERCENTS,
        scope=st.sampled_from(Contract.SalesScope.values),
        recovery=st.booleans(),
        ends_in_days=st.none() | st.integers(1, 20),
        answer=st.sampled_from(["accept", "decline", "later"]),
    )
    def invite(
        self,
        on_subscriptions,
        who,
        percent,
        affiliate_percent,
        scope,
        recovery,
        ends_in_days,
        answer,
    ):
        """The producer invites; the cocreator answers now or later (answer_invitation)."""
        product = self.sub_product if on_subscriptions else self.one_time
        self.dated_contracts |= ends_in_days is not None
        contract = None
        with self.unit():
            today = timezone.localdate()
            contract = contract_invite(
                product=product,
                actor=self.producer,
                cocreator_email=self.cocreators[who].email,
                role=Contract.Role.EXPERT,
                coproduction_model=Contract.CoproductionModel.REVENUE_SHARE,
                automatic_sales_recovery=recovery,
                terms_accepted=True,
                end_date=today + timedelta(days=ends_in_days) if ends_in_days else None,
                sales_scope=scope,
                all_affiliates=True,
                affiliates=(),
                commission_percent=Decimal(percent),
                affiliate_commission_percent=(
                    Decimal(affiliate_percent) if affiliate_percent else None
                ),
            )
        if contract is None:
            return multiple()
        if answer != "later":
            self.answer_invitation(contract.pk, accept=answer == "accept")
        return contract.pk

    @rule(contract=contracts, accept=st.booleans())
    def answer_invitation(self, contract, accept):
        contract = Contract.objects.get(pk=contract)
        with self.unit():
            if accept:
                contract_accept(contract=contract, actor=contract.cocreator, terms_accepted=True)
            else:
                contract_decline(contract=contract, actor=contract.cocreator)

    @rule(
        contract=contracts,
        percent=PERCENTS,
        scope=st.none() | st.sampled_from(Contract.SalesScope.values),
        answer=st.sampled_from(["accept", "refuse", "later"]),
    )
    def change(self, contract, percent, scope, answer):
        contract = Contract.objects.select_related("product").get(pk=contract)
        overrides = {"commission_percent": Decimal(percent)}
        if scope:
            overrides["sales_scope"] = scope
        change = None
        with self.unit():
            change = change_request_propose(
                contract=contract, actor=self.producer, **change_fields(contract, **overrides)
            )
        if change is not None and answer != "later":
            self._answer(change, accept=answer == "accept")

    @rule(
        contract=contracts,
        by_producer=st.booleans(),
        answer=st.sampled_from(["accept", "refuse", "later"]),
    )
    def end(self, contract, by_producer, answer):
        """The producer cancels (an invitation at once; an active contract by a termination
        request) or the cocreator asks to end; the other side answers now or later."""
        contract = Contract.objects.select_related("product", "cocreator").get(pk=contract)
        request = None
        with self.unit():
            if by_producer:
                request = contract_cancel(contract=contract, actor=self.producer)
            else:
                request = contract_request_end(contract=contract, actor=contract.cocreator)
        if request is not None and answer != "later":
            self._answer(request, accept=answer == "accept")

    @rule(contract=contracts, accept=st.booleans())
    def answer_request(self, contract, accept):
        request = ChangeRequest.objects.filter(
            contract_id=contract, status=ChangeRequest.Status.PENDING
        ).first()
        if request is not None:
            self._answer(request, accept=accept)

    def _answer(self, request: ChangeRequest, *, accept: bool) -> None:
        request = ChangeRequest.objects.select_related("contract__cocreator").get(pk=request.pk)
        contract = request.contract
        actor = self.producer if request.requested_by_id == contract.cocreator_id else None
        actor = actor or contract.cocreator
        with self.unit():
            if accept:
                change_request_accept(change=request, actor=actor)
            else:
                change_request_refuse(change=request, actor=actor)

    # ------------------------------------------------------------------ time

    @rule(minutes=st.sampled_from([3, 11, 45]))
    def minutes_pass(self, minutes):
        self.advance(timedelta(minutes=minutes))

    @rule(days=st.integers(1, 7))
    def days_pass(self, days):
        for _ in range(days):
            self.advance(timedelta(days=1))

    @rule()
    def days_pass_until_a_charge_date(self):
        """Day by day (beat each day) until the next installment of any subscription is due."""
        upcoming = (
            Subscription.objects.filter(product=self.sub_product, next_charge_date__isnull=False)
            .order_by("next_charge_date")
            .values_list("next_charge_date", flat=True)
            .first()
        )
        if upcoming is None:
            return
        for _ in range(min(40, max(1, (upcoming - self.now.date()).days))):
            self.advance(timedelta(days=1))

    # ------------------------------------------------------------------ webhooks

    @precondition(lambda self: self.snap.slips)
    @rule(pick=PICK, confirmed=st.booleans())
    def webhook(self, pick, confirmed):
        """The gateway reports a slip paid or expired: on time, late (after its date, after
        the buyer cancelled), or for a slip already settled."""
        reference = self.snap.slips[pick % len(self.snap.slips)]
        kind = "payment.confirmed" if confirmed else "payment.expired"
        event = (f"evt-{reference}-{next(self.event_ids)}", kind, reference)
        self.events.append(event)
        with self.unit():
            webhook_handle(event_id=event[0], kind=kind, reference=reference, payload={})

    @precondition(lambda self: self.events)
    @rule(pick=PICK)
    def webhook_again(self, pick):
        """The gateway delivers an event again (a duplicate, or the retry of an early one)."""
        event_id, kind, reference = self.events[pick % len(self.events)]
        with self.unit():
            webhook_handle(event_id=event_id, kind=kind, reference=reference, payload={})

    @rule(early=st.booleans())
    def gateway_confirms_slips_early(self, early):
        self.early = early

    # ------------------------------------------------------------------ refunds

    @precondition(lambda self: self.snap.refundable)
    @rule(
        pick=PICK,
        part=st.sampled_from(["all", "half", "one_cent", "all_but_one_cent"]),
        by_buyer=st.booleans(),
        gateway_refuses=st.booleans(),
    )
    def refund(self, pick, part, by_buyer, gateway_refuses):
        sale = Sale.objects.get(pk=self.snap.refundable[pick % len(self.snap.refundable)])
        if gateway_refuses:
            SimulatedGateway.failing_refunds |= set(
                sale.attempts.filter(status=PaymentAttempt.Status.APPROVED).values_list(
                    "gateway_reference", flat=True
                )
            )
        left = sale.refundable_minor
        amount = {
            "all": None,
            "half": max(1, left // 2),
            "one_cent": 1,
            "all_but_one_cent": max(1, left - 1),
        }[part]
        with self.unit():
            sale_refund(
                sale=sale, actor=sale.buyer if by_buyer else self.producer, amount_minor=amount
            )

    @precondition(lambda self: SimulatedGateway.failing_refunds)
    @rule()
    def gateway_accepts_refunds_again(self):
        SimulatedGateway.failing_refunds = set()

    @precondition(lambda self: self.snap.refundable)
    @rule(pick=PICK)
    def chargeback(self, pick):
        sale = Sale.objects.get(pk=self.snap.refundable[pick % len(self.snap.refundable)])
        with self.unit():
            sale_chargeback(sale=sale, actor=None)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def books_balance(self):
        if self.ready and not self._failed:
            self.check(final=False)

    def check(self, *, final: bool) -> None:
        try:
            self._check(final=final)
        except BaseException:
            self._failed = True
            raise

    def _check(self, *, final: bool) -> None:
        # The ledger's PostgreSQL guards (split and reversal sums) are deferred to COMMIT,
        # which a test transaction never reaches: run them now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")

        sales = {
            row["pk"]: row
            for row in Sale.objects.filter(product_id__in=self.product_ids).values(
                "pk",
                "status",
                "amount_minor",
                "refunded_minor",
                "subscription_id",
                "recurrence__status",
            )
        }
        entries = list(
            LedgerEntry.objects.filter(product_id__in=self.product_ids).values_list(
                "sale_id", "entry_type", "line", "role", "amount_minor"
            )
        )
        refunds = list(
            Refund.objects.filter(sale__product_id__in=self.product_ids).values_list(
                "sale_id", "kind", "status", "amount_minor"
            )
        )
        attempts = list(
            PaymentAttempt.objects.filter(sale__product_id__in=self.product_ids).values_list(
                "sale_id",
                "idempotency_key",
                "status",
                "amount_minor",
                "method",
                "gateway_reference",
            )
        )
        # What the simulator remembers of these keys: their charges, and the voids (or the
        # refunds that void one card of two) made under `void-<key>`.
        attempt_keys = [a[1] for a in attempts]
        gateway = list(
            SimulatedGatewayCharge.objects.filter(
                idempotency_key__in=attempt_keys
                + [keys.void_key(attempt_key=key) for key in attempt_keys]
            ).values_list("idempotency_key", "kind", "outcome", "amount_minor")
        )

        # 1. Each sale's entries add up to what was paid minus what was refunded (succeeded
        #    refunds and chargebacks only); a sale not paid has no entries at all.
        total = defaultdict(int)
        split_total = defaultdict(int)
        by_line = defaultdict(int)
        splits = defaultdict(list)
        for sale_id, entry_type, line, role, amount in entries:
            total[sale_id] += amount
            by_line[(sale_id, line)] += amount
            if entry_type == LedgerEntry.EntryType.SPLIT:
                split_total[sale_id] += amount
                splits[sale_id].append((role, amount))
        returned = defaultdict(int)
        late_refunds = defaultdict(int)
        for sale_id, kind, status, amount in refunds:
            if status == Refund.Status.SUCCEEDED:
                returned[sale_id] += amount
            if kind == Refund.Kind.REFUND:
                late_refunds[sale_id] += amount
        has_entries = {sale_id for sale_id, *_ in entries}
        for pk, sale in sales.items():
            if sale["status"] in Sale.COUNTED:
                assert split_total[pk] == sale["amount_minor"], (pk, sale, splits[pk])
                assert total[pk] == sale["amount_minor"] - returned[pk], (
                    f"sale {pk} ({sale['status']}): ledger {total[pk]}, paid "
                    f"{sale['amount_minor']}, refunded {returned[pk]}"
                )
            else:
                assert pk not in has_entries, f"sale {pk} is {sale['status']} but has entries"

        # 2. Nobody below zero on any sale: every split line, and each line net of reversals.
        for (sale_id, line), amount in by_line.items():
            assert amount >= 0, f"sale {sale_id} line {line} is {amount} net of reversals"
        for sale_id, parts in splits.items():
            assert all(amount >= 0 for _, amount in parts), (sale_id, parts)

        # 3. The producer keeps at least 30 % of what remains after the platform fee and the
        #    affiliate (to the minor unit: the split's parts are whole cents).
        floor = 100 - MAX_SHARE_PERCENT
        for sale_id, parts in splits.items():
            by_role = defaultdict(int)
            for role, amount in parts:
                by_role[role] += amount
            remainder = (
                sales[sale_id]["amount_minor"]
                - by_role[LedgerEntry.Role.PLATFORM]
                - by_role[LedgerEntry.Role.AFFILIATE]
            )
            assert by_role[LedgerEntry.Role.PRODUCER] >= remainder * floor // 100, (
                f"sale {sale_id}: producer {by_role[LedgerEntry.Role.PRODUCER]} of {remainder}",
                parts,
            )

        # 4. At most one gateway charge per attempt key; per sale, what the gateway approved
        #    and did not give back never exceeds the sale's amount.
        charges = defaultdict(list)
        voids = set()
        for key, kind, outcome, amount in gateway:
            if key.startswith("void-"):
                voids.add(key.removeprefix("void-"))
            elif kind == "charge":
                charges[key].append((outcome, amount))
        held = defaultdict(int)
        approved_at_gateway = set()
        for sale_id, key, *_ in attempts:
            assert len(charges[key]) <= 1, f"{len(charges[key])} gateway charges for {key}"
            for outcome, amount in charges[key]:
                if outcome == Outcome.APPROVED:
                    approved_at_gateway.add(key)
                    if key not in voids:
                        held[sale_id] += amount
        for sale_id, amount in held.items():
            assert amount <= sales[sale_id]["amount_minor"], (
                f"sale {sale_id}: the gateway holds {amount} of {sales[sale_id]['amount_minor']}"
            )

        # 5. No approved charge without a recorded outcome. A lost answer is unknown until the
        #    billing run asks again after its lease; at the end every lease has run out.
        unknown_sales = set()
        approved = defaultdict(int)
        for sale_id, key, status, amount, *_ in attempts:
            if status in UNKNOWN:
                unknown_sales.add(sale_id)
            if status == PaymentAttempt.Status.APPROVED:
                approved[sale_id] += amount
            if key not in approved_at_gateway or status in SETTLED:
                continue
            if not final:
                assert status in UNKNOWN, f"the gateway approved attempt {key}; it is {status}"
            elif sales[sale_id]["subscription_id"] is None:
                raise AssertionError(
                    f"one-time sale {sale_id}: the gateway approved attempt {key} but it is "
                    f"{status} (and its sale {sales[sale_id]['status']}) after every lease"
                )
            else:
                raise AssertionError(
                    f"recurrence sale {sale_id}: the gateway approved attempt {key} but it is "
                    f"{status} (and its sale {sales[sale_id]['status']}) after every lease"
                )

        # 6. Money the gateway reports is never dropped: a sale with approved attempts is paid
        #    (or parked for an admin), or that money is being refunded.
        for sale_id, amount in approved.items():
            if sale_id in unknown_sales or sales[sale_id]["status"] in PAID_OR_PARKED:
                continue
            assert late_refunds[sale_id] >= amount, (
                f"sale {sale_id} is {sales[sale_id]['status']} with {amount} approved and "
                f"{late_refunds[sale_id]} refunded"
            )

        # 7. Cancelling a subscription voids its outstanding slips at the gateway.
        for sale_id, key, _, _, method, reference in attempts:
            canceled = sales[sale_id]["recurrence__status"] == Recurrence.Status.CANCELED
            if canceled and method == "boleto" and reference:
                assert key in voids, f"slip {reference} of canceled sale {sale_id} not voided"

        self.snap = Snapshot(
            refundable=sorted(
                pk
                for pk, sale in sales.items()
                if sale["status"] in (Sale.Status.PAID, Sale.Status.PARTIALLY_REFUNDED)
                and sale["amount_minor"] > sale["refunded_minor"]
            ),
            # In the order the slips were issued (sale, then attempt number), never by their
            # reference: the simulator's references are random, and an order that changes when
            # Hypothesis replays a sequence makes `pick` choose another slip
            # (FlakyStrategyDefinition, seen once in CI).
            slips=list(
                dict.fromkeys(
                    a[5]
                    for a in sorted(attempts, key=lambda a: (a[0], len(a[1]), a[1]))
                    if a[4] == "boleto" and a[5]
                )
            ),
        )


def _method(pay: str) -> dict:
    if pay == "boleto":
        return {"method": "boleto", "country": "BR"}
    return {"method": "card", "country": "BR"}


def _token(pay: str) -> str:
    return "" if pay == "boleto" else CARDS[pay]


def _subscription_payment(pay: str) -> dict:
    if pay == "boleto":
        return {"method": "boleto", "country": "BR", "token": ""}
    if pay.startswith("two_cards"):
        second = DECLINED if pay.endswith("declined") else APPROVED
        return {
            "method": "card",
            "country": "BR",
            "token": APPROVED,
            "second_token": second,
            "second_amount_minor": 1000,
        }
    return {"method": "card", "country": "BR", "token": CARDS[pay.split("_then_")[0]]}


@pytest.mark.django_db
def test_payment_lifecycle(hypothesis_profile):
    run_state_machine_as_test(PaymentLifecycle, settings=hypothesis_profile)
