"""Billing: create each due recurrence once, collect it through the one payment path, retry,
expire, and move subscription statuses. Every step is idempotent and safe with several workers.

Claiming uses SELECT … FOR UPDATE SKIP LOCKED, so two workers never take the same rows; a
claimed recurrence carries a lease (next_attempt_at in the near future) and its attempt row, so
a worker that dies between the gateway call and recording the result is recovered by a later
run with the same idempotency key: the gateway answers for the first call, nothing is charged
twice. A row that fails never stops its batch: it is logged and left for the next run (or
parked in needs attention when it was charged)."""

import logging
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import (
    DateField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from products.models import Sale
from products.payments import keys
from products.payments.gateway import GatewayResult
from products.payments.methods import Family, family_of
from products.payments.models import PaymentAttempt
from products.payments.services import (
    AttemptPlan,
    Charge,
    attempts_start,
    expired_result,
    payment_park,
    payments_collect,
    payments_record,
)
from products.payments.slips import SLIP_DAYS  # a cash slip can be paid for this many days
from products.payments.states import (
    pk_any,
    rows_update,
    transition,
    transition_many,
    values_insert,
)
from subscriptions import webhooks
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import due_date
from subscriptions.services import notices
from subscriptions.services.lifecycle import (
    UNPAID_LIMIT,
    UNPAID_LIMIT_REASON,
    subscription_transition,
)

logger = logging.getLogger("coprod.billing")

RETRY_DAYS = (1, 3, 5)  # a declined card is retried this many days after the due date
WINDOW_DAYS = 6  # after the last retry the recurrence counts as unpaid
LEASE = timedelta(minutes=5)  # how long a claimed recurrence belongs to its worker
LOST_RETRY = timedelta(minutes=10)  # a lost answer is asked again (same key) this much later
BATCH = 500


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --------------------------------------------------------------------------- creating


def recurrence_build(
    *, subscription: Subscription, number: int, due: date, amount_minor: int, now: datetime
) -> tuple[Sale, Recurrence]:
    """Unsaved Sale + Recurrence for installment `number` (the caller saves them)."""
    sale, recurrence = recurrence_values(
        subscription=subscription,
        number=number,
        due=due,
        amount_minor=amount_minor,
        currency=subscription.plan.product.currency,
        now=now,
    )
    del sale["subscription_id"], recurrence["subscription_id"]
    return (
        Sale(subscription=subscription, **sale),
        Recurrence(subscription=subscription, **recurrence),
    )


def recurrence_values(
    *,
    subscription: "Subscription | Due",
    number: int,
    due: date,
    amount_minor: int,
    currency: str,
    now: datetime,
) -> tuple[dict, dict]:
    """The column values (by attname) of installment `number`'s Sale and Recurrence; every
    other column takes its default. The recurrence's sale_id is left to the caller.
    `subscription`: a Subscription, or a billing batch's Due row (the same attnames)."""
    sale = {
        "product_id": subscription.product_id,
        "buyer_id": subscription.buyer_id,
        "affiliation_id": subscription.affiliation_id,
        "subscription_id": subscription.pk,
        "amount_minor": amount_minor,
        "currency": currency,
        "method": subscription.method,
        "country": subscription.country,
        "checkout_key": keys.recurrence_key(subscription_id=subscription.pk, number=number),
        "created_at": now,
    }
    recurrence = {
        "subscription_id": subscription.pk,
        "number": number,
        "due_date": due,
        "amount_minor": amount_minor,
        "next_attempt_at": max(start_of(due), now) if number > 1 else now,
        "window_closes_at": start_of(due) + timedelta(days=WINDOW_DAYS),
        "created_at": now,
    }
    return sale, recurrence


class Due(NamedTuple):
    """What creating a recurrence reads of a due subscription (locked), its plan's price and
    schedule and its product's currency: one row per subscription, no model instance."""

    pk: int
    product_id: int
    buyer_id: int
    affiliation_id: int | None
    method: str
    country: str
    last_number: int
    next_charge_date: date
    anchor_date: date
    price_minor: int
    installments: int | None
    periodicity: str
    currency: str


_DUE_COLUMNS = (
    "pk",
    "product_id",
    "buyer_id",
    "affiliation_id",
    "method",
    "country",
    "last_number",
    "next_charge_date",
    "anchor_date",
    "plan__price_minor",
    "plan__installments",
    "plan__periodicity",
    "plan__product__currency",
)


def recurrences_create_due(*, today: date | None = None, batch_size: int = BATCH) -> int:
    """Create every recurrence that is due by `today` (catching up missed periods). Returns
    how many were created; running it again creates nothing. A subscription whose row fails
    is logged and skipped for this run; the others are created."""
    due = _due(today=today, now=timezone.now())
    created = 0
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            # Only the subscriptions are locked; the plan and product are read (one row each).
            rows = [
                Due(*row)
                for row in Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(due, status__in=Subscription.BILLABLE)
                .exclude(pk__in=failed)
                .order_by()[:batch_size]  # no sort: take any due rows, stop at the batch
                .values_list(*_DUE_COLUMNS)
            ]
            if not rows:
                return created
            try:
                with transaction.atomic():
                    created += _create_batch(rows)
                continue
            except Exception:
                logger.warning("creating %s recurrences together failed; one by one", len(rows))
            for row in rows:
                try:
                    with transaction.atomic():
                        created += _create_batch([row])
                except Exception:
                    logger.exception("recurrence of subscription %s not created", row.pk)
                    failed.add(row.pk)


def _due(*, today: date | None, now: datetime) -> Q:
    """Which subscriptions are due. A recurrence is due when the buyer's local date (in the
    subscription's zone) reaches its date and the clock there reaches BILLING_LOCAL_HOUR; an
    explicit `today` (tests, a manual catch-up) compares with that date alone."""
    if today is not None:
        return Q(next_charge_date__lte=today)
    # No zone is more than 14 hours ahead of UTC: a later date is due nowhere yet. This bound
    # keeps the partial index on next_charge_date useful; each row's own zone decides the rest.
    bound = (now + timedelta(hours=14)).date()
    # The wall clock there, minus the hour: its date is the one that has reached that hour.
    wall_clock = Func(F("time_zone"), Value(now), function="timezone", output_field=DateTimeField())
    hour = Value(timedelta(hours=settings.BILLING_LOCAL_HOUR), output_field=DurationField())
    local_today = Cast(
        ExpressionWrapper(wall_clock - hour, output_field=DateTimeField()), DateField()
    )
    return Q(next_charge_date__lte=bound) & Q(next_charge_date__lte=local_today)


def _create_batch(rows: list[Due]) -> int:
    now = timezone.now()
    pairs = [
        recurrence_values(
            subscription=row,
            number=row.last_number + 1,
            due=row.next_charge_date,
            amount_minor=row.price_minor,
            currency=row.currency,
            now=now,
        )
        for row in rows
    ]
    # COPY, not bulk_create, and no model instances: a billing batch is hundreds of rows.
    sale_ids = values_insert(Sale, [sale for sale, _ in pairs])
    for (_, recurrence), sale_id in zip(pairs, sale_ids, strict=True):
        recurrence["sale_id"] = sale_id
    values_insert(Recurrence, [recurrence for _, recurrence in pairs])
    updates = []
    for row in rows:
        number = row.last_number + 1
        updates.append((row.pk, number, _next_charge_date(row, number)))
    rows_update(Subscription, ["last_number", "next_charge_date"], updates)
    return len(updates)


def _next_charge_date(row: Due, number: int) -> date | None:
    if row.installments and number >= row.installments:
        return None
    return due_date(row.anchor_date, row.periodicity, number + 1)


# --------------------------------------------------------------------------- collecting


def recurrences_collect(*, now: datetime | None = None, batch_size: int = BATCH) -> int:
    """Charge every recurrence whose (re)try time has come. Returns how many were handled."""
    handled = 0
    while True:
        now_ = now or timezone.now()
        charges = _claim(now_, batch_size)
        if not charges:
            return handled
        payments_collect(charges)
        handled += len(charges)


def _claim(now: datetime, batch_size: int) -> list[Charge]:
    """Take a batch of recurrences to charge (skipping rows other workers hold; no ORDER BY, so
    PostgreSQL stops after the batch instead of sorting every due row) and record an
    attempt for each, committed before any gateway call. A recurrence whose lease ran out while
    `collecting` crashed mid-way: its attempt is asked again with the same key."""
    with transaction.atomic():
        # One table, its partial index on rows to collect, no join: the LIMIT stops the scan.
        rows = list(
            Recurrence.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[Recurrence.Status.SCHEDULED, Recurrence.Status.COLLECTING],
                next_attempt_at__lte=now,
            )
            .order_by()  # no sort (not even Meta.ordering): stop at the batch
            .values_list("pk", "status", "sale_id", "amount_minor", "subscription_id")[:batch_size]
        )
        if not rows:
            return []
        # What the charges need of the subscriptions and sales: one query by primary key,
        # after the claim (which reads one table alone, so its LIMIT stops the scan).
        cards, currencies = {}, {}
        for subscription_id, method, token, sale_id, currency in (
            Recurrence.objects.filter(pk_any([row[0] for row in rows]))
            .order_by()
            .values_list(
                "subscription_id",
                "subscription__method",
                "subscription__payment_token",
                "sale_id",
                "sale__currency",
            )
        ):
            cards[subscription_id] = (method, token)
            currencies[sale_id] = currency
        started = attempts_start(
            plans=[
                AttemptPlan(sale_id, (amount,), cards[subscription_id][0])
                for _, _, sale_id, amount, subscription_id in rows
            ],
            now=now,
            skip_conflicts=True,
        )
        charges: list[Charge] = []
        leased: dict[str, list[int]] = defaultdict(list)
        for (pk, status, sale_id, _, subscription_id), attempts in zip(rows, started, strict=True):
            if attempts is None:  # charged (or waiting) already, yet still here: an admin looks
                payment_park(
                    sale=Sale.objects.get(pk=sale_id),
                    error="Charged earlier, but the recurrence was not settled.",
                    now=now,
                )
                continue
            leased[status].append(pk)
            token = cards[subscription_id][1]
            charges += [
                Charge(attempt=a, currency=currencies[sale_id], token=token) for a in attempts
            ]
        transition_many(
            Recurrence,
            leased[Recurrence.Status.SCHEDULED],
            from_=Recurrence.Status.SCHEDULED,
            to=Recurrence.Status.COLLECTING,
            next_attempt_at=now + LEASE,
        )
        # A lease that ran out is taken over: same status, new lease.
        if leased[Recurrence.Status.COLLECTING]:
            Recurrence.objects.filter(pk_any(leased[Recurrence.Status.COLLECTING])).update(
                next_attempt_at=now + LEASE
            )
    return charges


# --------------------------------------------------------------------------- the handler


class SubscriptionSales:
    """The subscription side of the one payment path (registered in SubscriptionsConfig)."""

    def accepts(self, sales):
        """Money is applied while the subscription is Initiated, Active or Overdue and the
        recurrence was not canceled; anything else is refunded (its recurrence closed).

        The one read of the batch's recurrences: what it locked is kept on each sale
        (`LOCKED`) for `paid`, called next in the same transaction."""
        locked = _locked_rows(sales)
        taken = set()
        for sale in sales:
            row = locked.get(sale.pk)
            setattr(sale, LOCKED, row)
            if row is None:
                continue
            if row.status != Recurrence.Status.CANCELED and row.subscription_status in (
                Subscription.Status.INITIATED,
                *Subscription.BILLABLE,
            ):
                taken.add(sale.pk)
            elif row.status in (Recurrence.Status.COLLECTING, Recurrence.Status.PENDING):
                setattr(sale, LOCKED, None)
                recurrence = Recurrence.objects.get(pk=row.pk)
                transition(recurrence, Recurrence.Status.CANCELED, next_attempt_at=None)
        return taken

    def paid(self, sales, now):
        if all(hasattr(sale, LOCKED) for sale in sales):
            rows = [getattr(sale, LOCKED) for sale in sales]
            rows = [row for row in rows if row is not None]
        else:  # not through accepts (an admin recording a parked sale again): read them
            rows = list(_locked_rows(sales).values())
        settle_paid_many(rows, now)

    def attention(self, sales, now):
        for recurrence in _locked_recurrences(sales).values():
            if Recurrence.Status.NEEDS_ATTENTION in Recurrence.TRANSITIONS[recurrence.status]:
                transition(
                    recurrence,
                    Recurrence.Status.NEEDS_ATTENTION,
                    reason="Charged; could not be recorded",
                    next_attempt_at=None,
                )

    def awaiting(self, sale, result, now):
        _awaiting_payment(_recurrence(sale), result, now)

    def refused(self, sale, result, now):
        _declined(_recurrence(sale), now, message=result.message)

    def lost(self, sale, now):
        recurrence = _recurrence(sale)
        transition(
            recurrence,
            Recurrence.Status.SCHEDULED,
            reason="No answer from the gateway: asked again with the same key",
            next_attempt_at=now + LOST_RETRY,
        )

    def expired(self, sale, now):
        recurrence = _recurrence(sale)
        if recurrence.status == Recurrence.Status.PENDING:
            mark_unpaid(recurrence, reason="Payment expired")


def _locked_recurrences(sales) -> dict[int, Recurrence]:
    """The sales' recurrences, locked, with what a single outcome's handling reads."""
    queryset = (
        Recurrence.objects.select_for_update(of=("self",))
        .filter(sale_id__in=[s.pk for s in sales])
        .select_related("subscription__plan__product", "subscription__buyer", "sale")
    )
    return {r.sale_id: r for r in queryset}


def _recurrence(sale: Sale) -> Recurrence:
    return _locked_recurrences([sale])[sale.pk]


class LockedRecurrence(NamedTuple):
    """What settling a paid batch reads of a recurrence (locked) and its subscription."""

    pk: int
    status: str
    sale_id: int
    subscription_id: int
    subscription_status: str


# The attribute SubscriptionSales.accepts leaves on each sale: its LockedRecurrence, or None.
LOCKED = "_locked_recurrence"


def _locked_rows(sales) -> dict[int, LockedRecurrence]:
    """The sales' recurrences, locked, by sale: one query, no model instances."""
    rows = (
        Recurrence.objects.select_for_update(of=("self",))
        .filter(pk_any([s.pk for s in sales], "sale_id"))
        .order_by()  # no Meta.ordering: it would join and sort for nothing
        .values_list("pk", "status", "sale_id", "subscription_id", "subscription__status")
    )
    return {row[2]: LockedRecurrence(*row) for row in rows}


def settle_paid_many(recurrences: list[LockedRecurrence], now: datetime) -> None:
    """A batch of locked recurrences was paid: the recurrence and the subscription follow. A
    few statements however many rows; only the rare status changes (first payment, back from
    Overdue, last installment) go one by one, each with its event."""
    if not recurrences:
        return
    notices.paid_told_later([r.pk for r in recurrences])
    by_status: dict[str, list[int]] = defaultdict(list)
    for r in recurrences:
        by_status[r.status].append(r.pk)
    for from_, pks in by_status.items():
        transition_many(
            Recurrence,
            pks,
            from_=from_,
            to=Recurrence.Status.PAID,
            reason="Payment received",
            paid_at=now,
            next_attempt_at=None,
        )
    # A catch-up batch may pay several installments of one subscription.
    per_subscription = Counter(r.subscription_id for r in recurrences)
    by_count: dict[int, list[int]] = defaultdict(list)
    for subscription_id, count in per_subscription.items():
        by_count[count].append(subscription_id)
    for count, ids in by_count.items():
        Subscription.objects.filter(pk_any(ids)).update(
            paid_count=F("paid_count") + count, consecutive_unpaid=0
        )
    changing = (
        Subscription.objects.select_for_update(of=("self",))
        .filter(pk_any(per_subscription))
        .filter(
            Q(status__in=[Subscription.Status.INITIATED, Subscription.Status.OVERDUE])
            | Q(plan__installments__isnull=False, paid_count__gte=F("plan__installments"))
        )
        .select_related("plan")
    )
    for subscription in changing:
        if subscription.status in (Subscription.Status.INITIATED, Subscription.Status.OVERDUE):
            subscription_transition(
                subscription=subscription,
                to=Subscription.Status.ACTIVE,
                actor=None,
                reason="Payment received",
            )
        installments = subscription.plan.installments
        if (
            installments
            and subscription.paid_count >= installments
            and subscription.status == Subscription.Status.ACTIVE
        ):
            subscription_transition(
                subscription=subscription,
                to=Subscription.Status.EXPIRED,
                actor=None,
                reason=f"All {installments} installments paid",
            )
    webhooks.recurrences_paid([r.pk for r in recurrences])  # as they are now: paid


def _awaiting_payment(recurrence: Recurrence, answer: GatewayResult, now: datetime) -> None:
    """Cash slip issued (and emailed) or direct debit requested: wait for the webhook."""
    values = {"next_attempt_at": None}
    if family_of(recurrence.subscription.method) == Family.CASH:
        values.update(slip_code=answer.reference, slip_expires_at=now + timedelta(days=SLIP_DAYS))
    transition(recurrence, Recurrence.Status.PENDING, reason="Waiting for payment", **values)
    if "slip_code" in values:
        notices.slip_told(recurrence)


def _declined(recurrence: Recurrence, now: datetime, *, message: str = "") -> None:
    """Retry on the schedule while the window is open; then the recurrence is unpaid. A
    declined recurrence makes an Active subscription Overdue at once (seed 002), while retries
    go on. The first payment is retried by the buyer at checkout, not automatically. A
    subscription that ended meanwhile (its lost answer asked again) is never retried."""
    subscription_status = (
        Subscription.objects.filter(pk=recurrence.subscription_id)
        .values_list("status", flat=True)
        .get()
    )
    if subscription_status not in (Subscription.Status.INITIATED, *Subscription.BILLABLE):
        transition(recurrence, Recurrence.Status.CANCELED, reason=message or "Declined")
        return
    retry_at = None
    if recurrence.number > 1:
        for days in RETRY_DAYS:
            candidate = start_of(recurrence.due_date) + timedelta(days=days)
            if candidate > now and candidate < recurrence.window_closes_at:
                retry_at = candidate
                break
    transition(
        recurrence,
        Recurrence.Status.SCHEDULED,
        reason=message or "Declined",
        attempts_made=recurrence.attempts_made + 1,
        next_attempt_at=retry_at,
    )
    webhooks.recurrence_declined(recurrence, attempt=recurrence.attempts_made)
    if recurrence.number > 1:
        subscription = Subscription.objects.select_for_update().get(pk=recurrence.subscription_id)
        if subscription.status == Subscription.Status.ACTIVE:
            subscription_transition(
                subscription=subscription,
                to=Subscription.Status.OVERDUE,
                actor=None,
                reason=f"Recurrence {recurrence.number} declined"
                + (f"; retried on {retry_at:%Y-%m-%d}" if retry_at else ""),
                tell=False,  # the decline below says it, with the update-card link
            )
        notices.declined_told(recurrence, attempt=recurrence.attempts_made, retry_at=retry_at)
        if retry_at is None:
            mark_unpaid(recurrence, reason="Card declined on every retry")


def mark_unpaid(recurrence: Recurrence, *, reason: str) -> None:
    """A locked recurrence's window closed unpaid: count it and move the subscription."""
    transition(recurrence, Recurrence.Status.UNPAID, reason=reason, next_attempt_at=None)
    sale = Sale.objects.select_for_update(of=("self",)).get(pk=recurrence.sale_id)
    if sale.status == Sale.Status.PENDING:
        transition(sale, Sale.Status.EXPIRED, reason=reason)
    subscription = Subscription.objects.select_for_update().get(pk=recurrence.subscription_id)
    subscription.consecutive_unpaid += 1
    subscription.save(update_fields=["consecutive_unpaid"])
    status = subscription.status
    if status == Subscription.Status.INITIATED:
        subscription_transition(
            subscription=subscription,
            to=Subscription.Status.INACTIVE,
            actor=None,
            reason=f"First payment not made in time ({reason.lower()})",
        )
        return
    if status == Subscription.Status.ACTIVE:
        subscription_transition(
            subscription=subscription,
            to=Subscription.Status.OVERDUE,
            actor=None,
            reason=f"Recurrence {recurrence.number} unpaid: {reason.lower()}",
        )
    if (
        subscription.consecutive_unpaid >= UNPAID_LIMIT
        and subscription.status == Subscription.Status.OVERDUE
    ):
        subscription_transition(
            subscription=subscription,
            to=Subscription.Status.CANCELED_BY_ADMIN,
            actor=None,
            reason=UNPAID_LIMIT_REASON,
        )


# --------------------------------------------------------------------------- expiring


def payments_expire(*, now: datetime | None = None) -> int:
    """Close what can no longer be paid: cash slips past their date, direct debits and
    declined cards whose window closed. Returns how many recurrences became unpaid. A row
    that fails is logged and skipped for this run."""
    now = now or timezone.now()
    expired = 0
    failed: set[int] = set()
    while True:
        closed = (
            # direct debit never confirmed
            Q(status=Recurrence.Status.PENDING, slip_code="", window_closes_at__lte=now)
            # cash slip past its date (an expired slip is not reissued)
            | Q(status=Recurrence.Status.PENDING, slip_expires_at__lte=now)
            # declined with no retry left (a first payment the buyer never completed)
            | Q(
                status=Recurrence.Status.SCHEDULED,
                next_attempt_at__isnull=True,
                window_closes_at__lte=now,
            )
        )
        batch = list(
            Recurrence.objects.filter(closed)
            .exclude(pk__in=failed)
            .order_by("pk")
            .values_list("pk", "status", "sale_id")[:BATCH]
        )
        if not batch:
            return expired
        for pk, status, sale_id in batch:
            try:
                if status == Recurrence.Status.PENDING:
                    # Through the payment path, as a webhook's expiry would be.
                    attempts = list(
                        PaymentAttempt.objects.filter(
                            sale_id=sale_id, status=PaymentAttempt.Status.PENDING
                        )
                    )
                    payments_record(outcomes=[(a, expired_result()) for a in attempts], now=now)
                    if attempts:
                        expired += 1
                        failed.add(pk)
                        continue
                with transaction.atomic():
                    recurrence = (
                        Recurrence.objects.select_for_update(skip_locked=True, of=("self",))
                        .filter(pk=pk, status=status)
                        .first()
                    )
                    if recurrence is not None:
                        mark_unpaid(
                            recurrence,
                            reason="Direct debit not confirmed"
                            if status == Recurrence.Status.PENDING
                            else "Not paid in time",
                        )
                        expired += 1
                    else:
                        failed.add(pk)
            except Exception:
                logger.exception("recurrence %s could not be expired", pk)
            failed.add(pk)
