"""Billing: create each due recurrence once, collect it through the gateway, retry, expire,
and move subscription statuses. Every step is idempotent and safe with several workers.

Claiming uses SELECT … FOR UPDATE SKIP LOCKED, so two workers never take the same rows; a
claimed recurrence carries a lease (next_attempt_at in the near future) and its attempt row, so
a worker that dies between the gateway call and recording the result is recovered by a later
run with the same idempotency key: the gateway answers for the first call, nothing is charged
twice."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.tasks import send_email
from config.db import update_rows
from coproduction.services.ledger import ledger_write_splits
from products.models import Sale
from subscriptions.gateway import ChargeRequest, GatewayResult, Outcome, get_gateway
from subscriptions.models import PaymentAttempt, Recurrence, Subscription
from subscriptions.payment_methods import Family, family_of
from subscriptions.schedule import due_date
from subscriptions.services.lifecycle import (
    UNPAID_LIMIT,
    UNPAID_LIMIT_REASON,
    subscription_transition,
)

RETRY_DAYS = (1, 3, 5)  # a declined card is retried this many days after the due date
WINDOW_DAYS = 6  # after the last retry the recurrence counts as unpaid
SLIP_DAYS = 3  # a cash slip can be paid for this many days
LEASE = timedelta(minutes=5)  # how long a claimed recurrence belongs to its worker
BATCH = 500

ATTEMPT_STATUS = {
    Outcome.APPROVED: PaymentAttempt.Status.APPROVED,
    Outcome.DECLINED: PaymentAttempt.Status.DECLINED,
    Outcome.INSUFFICIENT_FUNDS: PaymentAttempt.Status.INSUFFICIENT_FUNDS,
    Outcome.ERROR: PaymentAttempt.Status.ERROR,
    Outcome.PENDING: PaymentAttempt.Status.PENDING,
}


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
        checkout_key=f"sub-{subscription.pk}-{number}",
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
    how many were created; running it again creates nothing."""
    today = today or timezone.now().date()
    created = 0
    while True:
        with transaction.atomic():
            subscriptions = list(
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status__in=Subscription.BILLABLE, next_charge_date__lte=today)
                .select_related("plan__product")
                .order_by()[:batch_size]  # no sort: take any due rows, stop at the batch
            )
            if not subscriptions:
                return created
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
                subscription.last_number = number
                subscription.next_charge_date = _next_charge_date(subscription, number)
            sales = Sale.objects.bulk_create([sale for sale, _ in pairs])
            recurrences = [recurrence for _, recurrence in pairs]
            for sale, recurrence in zip(sales, recurrences, strict=True):
                recurrence.sale = sale
            Recurrence.objects.bulk_create(recurrences)
            update_rows(
                Subscription,
                ["last_number", "next_charge_date"],
                [(sub.pk, sub.last_number, sub.next_charge_date) for sub in subscriptions],
            )
            created += len(recurrences)


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
        results = _call_gateway(claimed)
        record_outcomes(results)
        handled += len(claimed)


def _claim(now: datetime, batch_size: int) -> list[tuple[Recurrence, PaymentAttempt]]:
    """Take a batch of recurrences to charge (skipping rows other workers hold; no ORDER BY, so
    PostgreSQL stops after the batch instead of sorting every due row) and record an
    attempt for each, committed before any gateway call. A recurrence whose lease ran out while
    `collecting` crashed mid-way: its attempt is retried with the same key."""
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
        last_attempts = {
            a.sale_id: a
            for a in PaymentAttempt.objects.filter(
                sale_id__in=[r.sale_id for r in recurrences]
            ).order_by("sale_id", "number")
        }
        new_attempts, claimed = [], []
        for recurrence in recurrences:
            last = last_attempts.get(recurrence.sale_id)
            if last is not None and last.status in (
                PaymentAttempt.Status.STARTED,
                PaymentAttempt.Status.TIMEOUT,
            ):
                attempt = last  # unknown outcome: ask again with the same key
            else:
                number = last.number + 1 if last else 1
                attempt = PaymentAttempt(
                    sale_id=recurrence.sale_id,
                    number=number,
                    idempotency_key=f"sale-{recurrence.sale_id}-attempt-{number}",
                    amount_minor=recurrence.amount_minor,
                    method=recurrence.subscription.method,
                    started_at=now,
                )
                new_attempts.append(attempt)
            recurrence.status = Recurrence.Status.COLLECTING
            recurrence.next_attempt_at = now + LEASE
            claimed.append((recurrence, attempt))
        PaymentAttempt.objects.bulk_create(new_attempts)
        Recurrence.objects.filter(pk__in=[r.pk for r in recurrences]).update(
            status=Recurrence.Status.COLLECTING, next_attempt_at=now + LEASE
        )
    return claimed


def _call_gateway(claimed):
    """Outside any transaction: one gateway request per claimed recurrence."""
    requests = [
        ChargeRequest(
            idempotency_key=attempt.idempotency_key,
            amount_minor=attempt.amount_minor,
            currency=recurrence.sale.currency,
            method=recurrence.subscription.method,
            token=recurrence.subscription.payment_token,
        )
        for recurrence, attempt in claimed
    ]
    answers = get_gateway().charge_many(requests)
    return [
        (recurrence, attempt, answer)
        for (recurrence, attempt), answer in zip(claimed, answers, strict=True)
    ]


def record_outcomes(results: Iterable[tuple[Recurrence, PaymentAttempt, object]]) -> None:
    """Record gateway answers (a GatewayResult, or an exception for a lost answer) in one
    transaction: attempts, sales, recurrences, subscription statuses, then the ledger."""
    results = list(results)
    now = timezone.now()
    with transaction.atomic():
        ids = [recurrence.pk for recurrence, _, _ in results]
        # Lock every row, but build full objects only for the few that are not simply paid.
        still_collecting = set(
            Recurrence.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, status=Recurrence.Status.COLLECTING)
            .values_list("pk", flat=True)
        )
        results = [r for r in results if r[0].pk in still_collecting]  # others: recorded already
        unusual = [
            recurrence.pk
            for recurrence, _, answer in results
            if not (isinstance(answer, GatewayResult) and answer.outcome == Outcome.APPROVED)
        ]
        loaded = {
            r.pk: r
            for r in Recurrence.objects.filter(pk__in=unusual).select_related(
                "subscription__plan__product", "subscription__buyer", "sale"
            )
        }
        paid: list[Recurrence] = []
        attempt_rows = []
        for recurrence, attempt, answer in results:
            recurrence = loaded.get(recurrence.pk, recurrence)
            if not isinstance(answer, GatewayResult):
                _lost_answer(recurrence, attempt, now)
                continue
            attempt_rows.append(
                (
                    attempt.pk,
                    ATTEMPT_STATUS[answer.outcome],
                    answer.reference,
                    answer.message[:200],
                    now,
                )
            )
            if answer.outcome == Outcome.APPROVED:
                paid.append(recurrence)
            elif answer.outcome == Outcome.PENDING:
                _awaiting_payment(recurrence, answer, now)
            else:
                _declined(recurrence, now)
        update_rows(
            PaymentAttempt, ["status", "gateway_reference", "message", "finished_at"], attempt_rows
        )
        settle_paid_many(paid, now)
        ledger_write_splits(sale_ids=[r.sale_id for r in paid])


def _lost_answer(recurrence: Recurrence, attempt: PaymentAttempt, now: datetime) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        status=PaymentAttempt.Status.TIMEOUT, message="No answer from the gateway"
    )
    recurrence.status = Recurrence.Status.SCHEDULED
    recurrence.next_attempt_at = now + timedelta(minutes=10)
    recurrence.save(update_fields=["status", "next_attempt_at"])


def settle_paid(recurrence: Recurrence, now: datetime) -> None:
    """A locked recurrence was paid: the sale, the recurrence and the subscription follow."""
    settle_paid_many([recurrence], now)


def settle_paid_many(recurrences: list[Recurrence], now: datetime) -> None:
    """Set-based form of settle_paid for a billing batch: a few statements however many rows;
    only the rare status changes (first payment, back from Overdue, last installment) go one
    by one, each with its event."""
    if not recurrences:
        return
    Sale.objects.filter(pk__in=[r.sale_id for r in recurrences], status=Sale.Status.PENDING).update(
        status=Sale.Status.PAID, paid_at=now
    )
    Recurrence.objects.filter(pk__in=[r.pk for r in recurrences]).update(
        status=Recurrence.Status.PAID, paid_at=now, next_attempt_at=None
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
    recurrence.status = Recurrence.Status.PENDING
    recurrence.next_attempt_at = None
    fields = ["status", "next_attempt_at"]
    if family_of(recurrence.subscription.method) == Family.CASH:
        recurrence.slip_code = answer.reference
        recurrence.slip_expires_at = now + timedelta(days=SLIP_DAYS)
        fields += ["slip_code", "slip_expires_at"]
        _email_slip(recurrence)
    recurrence.save(update_fields=fields)


def _declined(recurrence: Recurrence, now: datetime) -> None:
    """Retry on the schedule while the window is open; then the recurrence is unpaid. The
    first payment is retried by the buyer at checkout, not automatically."""
    recurrence.attempts_made += 1
    retry_at = None
    if recurrence.number > 1:
        for days in RETRY_DAYS:
            candidate = start_of(recurrence.due_date) + timedelta(days=days)
            if candidate > now and candidate < recurrence.window_closes_at:
                retry_at = candidate
                break
    recurrence.status = Recurrence.Status.SCHEDULED
    recurrence.next_attempt_at = retry_at
    recurrence.save(update_fields=["attempts_made", "status", "next_attempt_at"])
    if retry_at is None and recurrence.number > 1:
        mark_unpaid(recurrence, reason="Card declined on every retry")


def mark_unpaid(recurrence: Recurrence, *, reason: str) -> None:
    """A locked recurrence's window closed unpaid: count it and move the subscription."""
    recurrence.status = Recurrence.Status.UNPAID
    recurrence.next_attempt_at = None
    recurrence.save(update_fields=["status", "next_attempt_at"])
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
    declined cards whose window closed. Returns how many recurrences became unpaid."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
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
                Recurrence.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(closed)
                .select_related("subscription")
                .order_by("pk")[:BATCH]
            )
            if not batch:
                return expired
            for recurrence in batch:
                reason = (
                    "Payment slip expired"
                    if recurrence.slip_code
                    else "Direct debit not confirmed"
                    if recurrence.status == Recurrence.Status.PENDING
                    else "Not paid in time"
                )
                PaymentAttempt.objects.filter(
                    sale_id=recurrence.sale_id, status=PaymentAttempt.Status.PENDING
                ).update(status=PaymentAttempt.Status.DECLINED, message=reason, finished_at=now)
                mark_unpaid(recurrence, reason=reason)
                expired += 1


def _email_slip(recurrence: Recurrence) -> None:
    from django.conf import settings

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
