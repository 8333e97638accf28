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
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.tasks import send_email
from config.db import update_rows
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
from products.payments.states import transition, transition_many
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import due_date
from subscriptions.services.lifecycle import (
    UNPAID_LIMIT,
    UNPAID_LIMIT_REASON,
    subscription_transition,
)

logger = logging.getLogger("coprod.billing")

RETRY_DAYS = (1, 3, 5)  # a declined card is retried this many days after the due date
WINDOW_DAYS = 6  # after the last retry the recurrence counts as unpaid
SLIP_DAYS = 3  # a cash slip can be paid for this many days
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
    sale = Sale(
        product_id=subscription.product_id,
        buyer_id=subscription.buyer_id,
        affiliation_id=subscription.affiliation_id,
        subscription=subscription,
        amount_minor=amount_minor,
        currency=subscription.plan.product.currency,
        method=subscription.method,
        country=subscription.country,
        checkout_key=keys.recurrence_key(subscription_id=subscription.pk, number=number),
        created_at=now,
    )
    recurrence = Recurrence(
        subscription=subscription,
        number=number,
        due_date=due,
        amount_minor=amount_minor,
        next_attempt_at=max(start_of(due), now) if number > 1 else now,
        window_closes_at=start_of(due) + timedelta(days=WINDOW_DAYS),
        created_at=now,
    )
    return sale, recurrence


def recurrences_create_due(*, today: date | None = None, batch_size: int = BATCH) -> int:
    """Create every recurrence that is due by `today` (catching up missed periods). Returns
    how many were created; running it again creates nothing. A subscription whose row fails
    is logged and skipped for this run; the others are created."""
    due = _due(today=today, now=timezone.now())
    created = 0
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            subscriptions = list(
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(due, status__in=Subscription.BILLABLE)
                .exclude(pk__in=failed)
                .select_related("plan__product")
                .order_by()[:batch_size]  # no sort: take any due rows, stop at the batch
            )
            if not subscriptions:
                return created
            try:
                with transaction.atomic():
                    created += _create_batch(subscriptions)
                continue
            except Exception:
                logger.warning(
                    "creating %s recurrences together failed; one by one", len(subscriptions)
                )
            for subscription in subscriptions:
                try:
                    with transaction.atomic():
                        created += _create_batch([subscription])
                except Exception:
                    logger.exception("recurrence of subscription %s not created", subscription.pk)
                    failed.add(subscription.pk)


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


def _create_batch(subscriptions: list[Subscription]) -> int:
    now = timezone.now()
    pairs = []
    for subscription in subscriptions:
        number = subscription.last_number + 1
        pairs.append(
            recurrence_build(
                subscription=subscription,
                number=number,
                due=subscription.next_charge_date,
                amount_minor=subscription.plan.price_minor,
                now=now,
            )
        )
    sales = Sale.objects.bulk_create([sale for sale, _ in pairs])
    recurrences = [recurrence for _, recurrence in pairs]
    for sale, recurrence in zip(sales, recurrences, strict=True):
        recurrence.sale = sale
    Recurrence.objects.bulk_create(recurrences)
    rows = []
    for subscription, recurrence in zip(subscriptions, recurrences, strict=True):
        rows.append(
            (
                subscription.pk,
                recurrence.number,
                _next_charge_date(subscription, recurrence.number),
            )
        )
    update_rows(Subscription, ["last_number", "next_charge_date"], rows)
    for subscription, (_, number, next_date) in zip(subscriptions, rows, strict=True):
        subscription.last_number, subscription.next_charge_date = number, next_date
    return len(recurrences)


def _next_charge_date(subscription: Subscription, number: int) -> date | None:
    installments = subscription.plan.installments
    if installments and number >= installments:
        return None
    return due_date(subscription.anchor_date, subscription.plan.periodicity, number + 1)


# --------------------------------------------------------------------------- collecting


def recurrences_collect(*, now: datetime | None = None, batch_size: int = BATCH) -> int:
    """Charge every recurrence whose (re)try time has come. Returns how many were handled."""
    handled = 0
    while True:
        now_ = now or timezone.now()
        claimed = _claim(now_, batch_size)
        if not claimed:
            return handled
        payments_collect(
            [
                Charge(
                    attempt=attempt,
                    currency=recurrence.sale.currency,
                    token=recurrence.subscription.payment_token,
                )
                for recurrence, attempt in claimed
            ]
        )
        handled += len(claimed)


def _claim(now: datetime, batch_size: int) -> list[tuple[Recurrence, PaymentAttempt]]:
    """Take a batch of recurrences to charge (skipping rows other workers hold; no ORDER BY, so
    PostgreSQL stops after the batch instead of sorting every due row) and record an
    attempt for each, committed before any gateway call. A recurrence whose lease ran out while
    `collecting` crashed mid-way: its attempt is asked again with the same key."""
    with transaction.atomic():
        recurrences = list(
            Recurrence.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status__in=[Recurrence.Status.SCHEDULED, Recurrence.Status.COLLECTING],
                next_attempt_at__lte=now,
            )
            .select_related("subscription", "sale")
            .order_by()[:batch_size]  # no sort (not even Meta.ordering): stop at the batch
        )
        if not recurrences:
            return []
        started = attempts_start(
            plans=[
                AttemptPlan(r.sale_id, (r.amount_minor,), r.subscription.method)
                for r in recurrences
            ],
            now=now,
            skip_conflicts=True,
        )
        claimed = []
        for recurrence, attempts in zip(recurrences, started, strict=True):
            if attempts is None:  # charged (or waiting) already, yet still here: an admin looks
                payment_park(
                    sale=recurrence.sale,
                    error="Charged earlier, but the recurrence was not settled.",
                    now=now,
                )
                continue
            claimed += [(recurrence, attempt) for attempt in attempts]
        transition_many(
            Recurrence,
            [r.pk for r, _ in claimed if r.status == Recurrence.Status.SCHEDULED],
            from_=Recurrence.Status.SCHEDULED,
            to=Recurrence.Status.COLLECTING,
            next_attempt_at=now + LEASE,
        )
        # A lease that ran out is taken over: same status, new lease.
        Recurrence.objects.filter(
            pk__in=[r.pk for r, _ in claimed if r.status == Recurrence.Status.COLLECTING]
        ).update(next_attempt_at=now + LEASE)
    return claimed


# --------------------------------------------------------------------------- the handler


class SubscriptionSales:
    """The subscription side of the one payment path (registered in SubscriptionsConfig)."""

    def accepts(self, sales):
        """Money is applied while the subscription is Initiated, Active or Overdue and the
        recurrence was not canceled; anything else is refunded (its recurrence closed)."""
        recurrences = _locked_recurrences(sales, light=True)
        taken = set()
        for recurrence in recurrences.values():
            subscription = recurrence.subscription
            if recurrence.status != Recurrence.Status.CANCELED and subscription.status in (
                Subscription.Status.INITIATED,
                *Subscription.BILLABLE,
            ):
                taken.add(recurrence.sale_id)
            elif recurrence.status in (Recurrence.Status.COLLECTING, Recurrence.Status.PENDING):
                transition(recurrence, Recurrence.Status.CANCELED, next_attempt_at=None)
        return taken

    def paid(self, sales, now):
        settle_paid_many(list(_locked_recurrences(sales, light=True).values()), now)

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


def _locked_recurrences(sales, *, light: bool = False) -> dict[int, Recurrence]:
    """The sales' recurrences, locked; `light` loads only what settling a batch reads."""
    queryset = Recurrence.objects.select_for_update(of=("self",)).filter(
        sale_id__in=[s.pk for s in sales]
    )
    if light:
        queryset = queryset.select_related("subscription").only(
            "pk", "status", "sale_id", "subscription_id", "subscription__status"
        )
    else:
        queryset = queryset.select_related(
            "subscription__plan__product", "subscription__buyer", "sale"
        )
    return {r.sale_id: r for r in queryset}


def _recurrence(sale: Sale) -> Recurrence:
    return _locked_recurrences([sale])[sale.pk]


def settle_paid_many(recurrences: list[Recurrence], now: datetime) -> None:
    """A batch of locked recurrences was paid: the recurrence and the subscription follow. A
    few statements however many rows; only the rare status changes (first payment, back from
    Overdue, last installment) go one by one, each with its event."""
    if not recurrences:
        return
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
    for r in recurrences:
        r.status, r.paid_at, r.next_attempt_at = Recurrence.Status.PAID, now, None
    # A catch-up batch may pay several installments of one subscription.
    per_subscription = Counter(r.subscription_id for r in recurrences)
    by_count: dict[int, list[int]] = defaultdict(list)
    for subscription_id, count in per_subscription.items():
        by_count[count].append(subscription_id)
    for count, ids in by_count.items():
        Subscription.objects.filter(pk__in=ids).update(
            paid_count=F("paid_count") + count, consecutive_unpaid=0
        )
    changing = (
        Subscription.objects.select_for_update(of=("self",))
        .filter(pk__in=list(per_subscription))
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


def _awaiting_payment(recurrence: Recurrence, answer: GatewayResult, now: datetime) -> None:
    """Cash slip issued (and emailed) or direct debit requested: wait for the webhook."""
    values = {"next_attempt_at": None}
    if family_of(recurrence.subscription.method) == Family.CASH:
        values.update(slip_code=answer.reference, slip_expires_at=now + timedelta(days=SLIP_DAYS))
    transition(recurrence, Recurrence.Status.PENDING, reason="Waiting for payment", **values)
    if "slip_code" in values:
        _email_slip(recurrence)


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
    if recurrence.number > 1:
        subscription = Subscription.objects.select_for_update().get(pk=recurrence.subscription_id)
        if subscription.status == Subscription.Status.ACTIVE:
            subscription_transition(
                subscription=subscription,
                to=Subscription.Status.OVERDUE,
                actor=None,
                reason=f"Recurrence {recurrence.number} declined"
                + (f"; retried on {retry_at:%Y-%m-%d}" if retry_at else ""),
            )
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


def _email_slip(recurrence: Recurrence) -> None:
    subscription = recurrence.subscription
    context = {
        "subscription": subscription,
        "recurrence": recurrence,
        "url": settings.SITE_URL + reverse("subscriptions:detail", args=[subscription.pk]),
    }
    send_email.delay_on_commit(
        to=subscription.buyer.email,
        subject=f"Your payment slip for {subscription.product.name}",
        text=render_to_string("subscriptions/email/slip.txt", context),
        html=render_to_string("subscriptions/email/slip.html", context),
    )
