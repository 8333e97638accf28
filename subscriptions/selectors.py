"""Reads for subscription screens, and the subscription figures of the dashboards (MRR,
subscribers, churn, recoverable revenue; a buyer's subscriptions and payments to make)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import connection
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from accounts.models import User
from products.models import PaymentAttempt, Plan, Product, Sale
from products.payments.methods import Family, Method, family_of
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import MONTHS_BETWEEN


def subscriptions_for_buyer(*, buyer: User) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(buyer=buyer)
        .select_related("product", "plan")
        .order_by("-created_at", "-pk")
    )


def subscription_for_buyer(*, buyer: User, pk: int) -> Subscription:
    return get_object_or_404(
        Subscription.objects.select_related("product__producer", "plan"), pk=pk, buyer=buyer
    )


def subscription_charges(*, subscription: Subscription) -> QuerySet[Recurrence]:
    """A subscription's charges, newest first, each with its sale and the sale's attempts (for
    one page of them: config.paginate)."""
    return (
        subscription.recurrences.select_related("sale")
        .prefetch_related(
            Prefetch("sale__attempts", queryset=PaymentAttempt.objects.order_by("number"))
        )
        .order_by("-number")
    )


def subscription_events(*, subscription: Subscription) -> QuerySet:
    """What happened to a subscription, oldest first (a page of it at a time)."""
    return subscription.events.select_related("actor").order_by("created_at", "pk")


def recurrences_awaiting_slip() -> QuerySet[Recurrence]:
    """Charges whose slip is still to be paid (Recurrence.is_awaiting_slip, in SQL)."""
    return (
        Recurrence.objects.filter(status=Recurrence.Status.PENDING)
        .exclude(slip_code="")
        .order_by("number")
    )


def subscription_awaiting_slip(*, subscription: Subscription) -> Recurrence | None:
    """The charge whose slip is still to be paid, if any (at most one is open at a time)."""
    return (
        recurrences_awaiting_slip().filter(subscription=subscription).select_related("sale").first()
    )


# A subscriber's row on Subscribers shows their latest charges only (12: a year of monthly
# ones); the buyer's own subscription page lists them all, a page at a time.
RECENT_CHARGES = 12


def subscribers_for_product(*, product, status: str = "") -> QuerySet[Subscription]:
    """A product's subscriptions, newest first, with their buyer and plan (recent_charges
    reads a page's charges)."""
    queryset = product.subscriptions.select_related("buyer", "plan")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-pk")


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge as a subscriber's row shows it."""

    number: int
    status: str
    due_date: date


def recent_charges(subscription_ids) -> dict[int, list[Charge]]:
    """Each subscription's latest RECENT_CHARGES charges, oldest of them first: one query for
    a page of subscribers, a window per subscription, and only what a row shows (300 model
    instances with their timestamps were a third of the page's time)."""
    latest = (
        Recurrence.objects.filter(subscription_id__in=subscription_ids)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("subscription_id")], order_by=F("number").desc()
            )
        )
        .filter(rank__lte=RECENT_CHARGES)
        .order_by("subscription_id", "number")
        .values_list("subscription_id", "number", "status", "due_date")
    )
    charges: dict[int, list[Charge]] = {pk: [] for pk in subscription_ids}
    for subscription_id, number, status, due_date in latest:
        charges[subscription_id].append(Charge(number, status, due_date))
    return charges


# ------------------------------------------------------------------------------ dashboards

# Periods a plan charges in a year; MRR is each plan's price normalised to a month: yearly
# price / 12, semiannual / 6, quarterly / 3, every two months / 2, weekly price * 52 / 12.
PERIODS_PER_YEAR = {
    **{periodicity: 12 // months for periodicity, months in MONTHS_BETWEEN.items()},
    "weekly": 52,
}
# The recurrences still to be paid: to be charged (a retry scheduled), being charged, or a
# slip or direct debit waiting.
OPEN_RECURRENCES = (
    Recurrence.Status.SCHEDULED,
    Recurrence.Status.COLLECTING,
    Recurrence.Status.PENDING,
)


@dataclass
class SubscriberFigures:
    """A producer's subscribers now, and this local month's churn."""

    active: int
    overdue: int
    canceled: int
    at_month_start: int
    churned: int

    @property
    def has_any(self) -> bool:
        return bool(self.active or self.overdue or self.canceled or self.at_month_start)

    @property
    def churn_percent(self) -> Decimal | None:
        """Churned / active at the month's start, as a percentage (None with no subscribers)."""
        if not self.at_month_start:
            return None
        return (Decimal(100 * self.churned) / self.at_month_start).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


@dataclass
class CurrencyAmount:
    currency: str
    amount_minor: int
    count: int = 0


@dataclass
class ProducerFigures:
    """The subscription figures of the producer dashboard, read together."""

    subscribers: SubscriberFigures
    mrr: list[CurrencyAmount]
    recoverable: list[CurrencyAmount]


# The three figures in one statement, written out: one pass over the producer's subscriptions,
# one round trip, no ORM compilation. The dashboard reads them on every visit, and they follow
# subscription and recurrence statuses (and the clock), which move no money: no ledger-keyed
# cache can hold them. The statement counts the subscriptions per product, plan, status and the
# two facts churn needs; producer_figures applies these rules to those few groups:
#
# Subscribers: Active, Overdue, and Canceled (by the customer, the seller or admin, ever) as
# they are now. Churn this month: of the subscriptions active (Active or Overdue) when the local
# month began — first installment paid before it and not ended before it — how many were
# canceled since. An Expired subscription paid all its installments: it ended as sold, not
# churned. A subscription started this month is not in the month's base, so its cancellation is
# not churn either (the rate cannot pass 100 %). The first installment is joined (one row at
# most: a number is charged once; migration 0009's index holds it), not asked of each
# subscription in turn: a big producer has tens of thousands.
#
# MRR: the plan price of every Active and Overdue subscription (Overdue ones are still billed
# and retried; Initiated ones have not paid yet; canceled, inactive and expired ones bill
# nothing more), per currency and periodicity, normalised to a month in Python. The
# promotional first price is left out: MRR is what the plan brings each month once it runs.
#
# Recoverable: the open recurrences (a retry scheduled, being charged, or a slip or debit
# waiting) of Overdue subscriptions whose window has not closed (billing's WINDOW_DAYS after
# the due date: after it the recurrence counts as unpaid). A first installment is not here:
# the buyer retries it at checkout.
_PRODUCER_FIGURES_SQL = """
SELECT 'subscriptions', p.currency, pl.periodicity, g.status, g.in_base, g.ended, g.n,
       g.n * pl.price_minor
  FROM (SELECT s.product_id, s.plan_id, s.status,
               coalesce(f.paid_at < %(month_start)s
                        AND (s.ended_at IS NULL OR s.ended_at >= %(month_start)s), false)
                 AS in_base,
               coalesce(s.ended_at <= %(now)s, false) AS ended,
               count(*) AS n
          FROM {subscription} s
          LEFT JOIN {recurrence} f ON f.subscription_id = s.id AND f.number = 1
         WHERE s.product_id IN (SELECT id FROM {product} WHERE producer_id = %(producer)s)
         GROUP BY 1, 2, 3, 4, 5) g
  JOIN {product} p ON p.id = g.product_id
  JOIN {plan} pl ON pl.id = g.plan_id
 UNION ALL
SELECT 'recoverable', p.currency, '', '', false, false, count(*), sum(r.amount_minor)::bigint
  FROM {recurrence} r
  JOIN {subscription} s ON s.id = r.subscription_id
  JOIN {product} p ON p.id = s.product_id
 WHERE p.producer_id = %(producer)s
   AND s.status = %(overdue)s
   AND r.status = ANY(%(open)s)
   AND r.number > 1
   AND r.window_closes_at > %(now)s
 GROUP BY p.currency
"""


def producer_figures(*, producer: User, month_start: datetime, now: datetime) -> ProducerFigures:
    """Subscribers and churn since `month_start` (the viewer's local month), MRR and
    recoverable revenue per currency, in one query whatever the number of subscriptions: the
    producer's subscriptions counted per product, plan, status, whether they were in the
    month's base and whether they have ended, the rules applied to those few groups here.
    MRR is summed exactly and rounded (half up) once per currency."""
    sql = _PRODUCER_FIGURES_SQL.format(
        subscription=Subscription._meta.db_table,
        product=Product._meta.db_table,
        plan=Plan._meta.db_table,
        recurrence=Recurrence._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "producer": producer.pk,
                "overdue": Subscription.Status.OVERDUE.value,
                "open": [status.value for status in OPEN_RECURRENCES],
                "month_start": month_start,
                "now": now,
            },
        )
        rows = cursor.fetchall()
    counts = dict.fromkeys(("active", "overdue", "canceled", "at_month_start", "churned"), 0)
    mrr: dict[str, tuple[Fraction, int]] = {}
    recoverable = []
    for part, currency, periodicity, status, in_base, ended, count, amount in rows:
        if part == "recoverable":
            recoverable.append(CurrencyAmount(currency=currency, amount_minor=amount, count=count))
            continue
        canceled = status in Subscription.CANCELED
        if status == Subscription.Status.ACTIVE:
            counts["active"] += count
        elif status == Subscription.Status.OVERDUE:
            counts["overdue"] += count
        elif canceled:
            counts["canceled"] += count
        if in_base:
            counts["at_month_start"] += count
            if canceled and ended:
                counts["churned"] += count
        if status in Subscription.BILLABLE:
            monthly = Fraction(amount * PERIODS_PER_YEAR[periodicity], 12)
            total, billable = mrr.get(currency, (Fraction(0), 0))
            mrr[currency] = (total + monthly, billable + count)
    return ProducerFigures(
        subscribers=SubscriberFigures(**counts),
        mrr=[
            CurrencyAmount(currency=currency, amount_minor=_round_half_up(total), count=count)
            for currency, (total, count) in sorted(mrr.items())
        ],
        recoverable=sorted(recoverable, key=lambda item: item.currency),
    )


def _round_half_up(value: Fraction) -> int:
    return int((value * 2 + 1) // 2)


# What a buyer's dashboard lists first: subscriptions that still bill or wait for a payment.
LIVE_FOR_BUYER = (Subscription.Status.INITIATED, *Subscription.BILLABLE)


def buyer_subscriptions(*, buyer: User, limit: int = 5) -> list[Subscription]:
    """The buyer's subscriptions, live ones first, newest first: two queries whatever their
    number (the open recurrences prefetched, to tell a slip to pay from a charge to come)."""
    live_first = Case(When(status__in=LIVE_FOR_BUYER, then=Value(0)), default=Value(1))
    return list(
        subscriptions_for_buyer(buyer=buyer)
        .prefetch_related(
            Prefetch(
                "recurrences",
                queryset=Recurrence.objects.filter(status__in=OPEN_RECURRENCES).order_by("number"),
                to_attr="open_recurrences",
            )
        )
        .order_by(live_first, "-created_at", "-pk")[:limit]
    )


def payments_to_update(*, buyer: User) -> QuerySet[Subscription]:
    """Overdue subscriptions paid by card (or wallet) or direct debit: the charge was declined
    or not made, and new payment details let the retries (or the next charge) succeed."""
    methods = [m for m in Method if family_of(m) in (Family.CARD, Family.DEBIT)]
    return (
        subscriptions_for_buyer(buyer=buyer)
        .filter(status=Subscription.Status.OVERDUE, method__in=methods)
        .order_by("-created_at", "-pk")
    )


def slips_to_pay(*, buyer: User, now: datetime) -> QuerySet[Sale]:
    """The buyer's cash slips that can still be paid, one-time purchases and installments
    alike, the soonest first. The set-based twin of products.payments.slips.slip_pending: an
    installment's slip lives on its recurrence (code and date); any other slip is its pending
    attempt, payable SLIP_DAYS from its issue."""
    from products.payments.slips import slip_days

    cash = [m for m in Method if family_of(m) == Family.CASH]
    on_recurrence = Q(
        recurrence__status=Recurrence.Status.PENDING,
        recurrence__slip_code__gt="",
        recurrence__slip_expires_at__gt=now,
    )
    no_recurrence_slip = Q(recurrence__isnull=True) | Q(recurrence__slip_code="")
    days = timedelta(days=slip_days())
    open_attempts = PaymentAttempt.objects.filter(
        sale=OuterRef("pk"), status=PaymentAttempt.Status.PENDING, started_at__gt=now - days
    ).exclude(gateway_reference="")
    issued_at = Subquery(
        open_attempts.order_by("-number").values("started_at")[:1], output_field=DateTimeField()
    )
    return (
        Sale.objects.filter(buyer=buyer, status=Sale.Status.PENDING, method__in=cash)
        .filter(on_recurrence | (no_recurrence_slip & Exists(open_attempts)))
        .annotate(
            # The date the slip page shows: the recurrence's slip date, else its issue + days.
            pay_by=Case(
                When(on_recurrence, then=F("recurrence__slip_expires_at")),
                default=ExpressionWrapper(issued_at + days, output_field=DateTimeField()),
            )
        )
        .select_related("product")
        .order_by("pay_by", "pk")
    )
