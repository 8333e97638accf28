"""The producer's figures: revenue and own earnings per currency and local month, MRR
normalised to a month, subscribers, churn, recoverable revenue and the top products."""

import datetime as dt
import zoneinfo
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from products import reports
from products.models import Plan
from products.services.refunds import sale_refund
from subscriptions import selectors
from subscriptions.models import Recurrence, Subscription
from tests.dashboards.builders import dashboard_queries, first_paid, paid, recurrence
from tests.factories import PlanFactory, ProductFactory, UserFactory
from tests.sales.test_earnings import worked_case
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")
UTC = dt.UTC


def report(producer, today, zone=UTC):
    return reports.producer_report(producer=producer, zone=zone, today=today)


# ------------------------------------------------------------------- revenue and earnings


def test_revenue_is_what_buyers_paid_and_own_earnings_the_producers_share():
    """SPEC's worked case: 100.00 paid, the producer keeps 52.42 of it."""
    case = worked_case()
    [figure] = report(case.producer, timezone.localdate()).figures
    assert (figure.currency, figure.revenue, figure.earnings) == ("BRL", 10000, 5242)
    # The cocreator's and the affiliate's shares are theirs, not the producer's revenue.
    assert (
        reports.producer_report(
            producer=case.cocreator, zone=UTC, today=timezone.localdate()
        ).figures
        == []
    )


def test_a_refund_takes_its_part_off_revenue_and_earnings_in_its_own_month():
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=UTC), tick=False):
        case = worked_case()
    with time_machine.travel(dt.datetime(2026, 2, 10, 12, tzinfo=UTC), tick=False):
        sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
        [figure] = report(case.producer, dt.date(2026, 2, 10)).figures
    assert (figure.last_revenue, figure.last_earnings) == (10000, 5242)
    assert (figure.revenue, figure.earnings) == (-5000, -2621)


def test_currencies_are_never_added_together(client):
    producer = UserFactory(validated=True)
    paid(ProductFactory(producer=producer, currency="BRL"), 2, amount_minor=10000)
    paid(ProductFactory(producer=producer, currency="EUR"), 1, amount_minor=5000)

    figures = report(producer, timezone.localdate()).figures

    assert [(f.currency, f.revenue) for f in figures] == [("BRL", 20000), ("EUR", 5000)]
    _count, html = dashboard_queries(client, producer)
    assert "R$200.00" in html and "€50.00" in html
    assert "250.00" not in html  # the two summed by mistake
    assert html.count('class="bar-chart bar-chart-revenue"') == 2  # one chart per currency


def test_a_sale_at_23_30_on_the_31st_in_sao_paulo_belongs_to_that_month(client):
    producer = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    product = ProductFactory(producer=producer)
    # 31 January 23:30 in São Paulo is 1 February 02:30 UTC.
    late = dt.datetime(2026, 1, 31, 23, 30, tzinfo=SAO_PAULO)
    paid(product, 1, amount_minor=10000, at=late)

    with time_machine.travel(dt.datetime(2026, 2, 10, 12, tzinfo=UTC), tick=False):
        [figure] = report(producer, dt.date(2026, 2, 10), SAO_PAULO).figures
        _count, html = dashboard_queries(client, producer)
        by_utc = report(producer, dt.date(2026, 2, 10), UTC).figures[0]
    assert (figure.revenue, figure.last_revenue) == (0, 10000)
    assert (by_utc.revenue, by_utc.last_revenue) == (10000, 0)  # what the server's zone says
    assert "Last month: R$100.00" in html
    [chart] = reports.producer_report(
        producer=producer, zone=SAO_PAULO, today=dt.date(2026, 2, 10)
    ).charts
    january = next(bar for bar in chart.bars if bar.month == dt.date(2026, 1, 1))
    assert january.net == 10000


def test_the_chart_draws_revenue_with_own_earnings_inside_for_twelve_months(client):
    case = worked_case()
    [chart] = report(case.producer, timezone.localdate()).charts
    assert len(chart.bars) == 12 and chart.kind == "revenue"
    this_month = chart.bars[-1]
    assert (this_month.net, this_month.inner.net) == (10000, 5242)
    assert this_month.inner.height < this_month.height
    assert this_month.inner.y + this_month.inner.height == pytest.approx(chart.baseline_y, abs=0.1)
    assert (chart.total, chart.inner_total) == (10000, 5242)
    _count, html = dashboard_queries(client, case.producer)
    assert "Revenue and your earnings per month, last 12 months (BRL)" in html
    assert 'class="bar-chart-inner"' in html


def test_top_products_rank_this_month_by_revenue_within_each_currency():
    producer = UserFactory(validated=True)
    small = ProductFactory(producer=producer, name="Small")
    big = ProductFactory(producer=producer, name="Big")
    euro = ProductFactory(producer=producer, name="Euro", currency="EUR")
    old = ProductFactory(producer=producer, name="Old")
    paid(small, 1, amount_minor=5000)
    paid(big, 3, amount_minor=5000)
    paid(euro, 1, amount_minor=90000)
    paid(old, 9, amount_minor=9000, at=timezone.now() - timedelta(days=70))

    top = report(producer, timezone.localdate()).top_products

    assert [(t.name, t.currency, t.revenue, t.sales) for t in top] == [
        ("Big", "BRL", 15000, 3),
        ("Small", "BRL", 5000, 1),
        ("Euro", "EUR", 90000, 1),
    ]


# ------------------------------------------------------------------------------ MRR


def subscription(plan, status=Subscription.Status.ACTIVE, **extra):
    return SubscriptionFactory(plan=plan, status=status, **extra)


def figures_of(producer, *, month_start=None, now=None) -> selectors.ProducerFigures:
    now = now or timezone.now()
    return selectors.producer_figures(producer=producer, month_start=month_start or now, now=now)


def test_mrr_normalises_each_plan_to_a_month():
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, subscription=True)
    prices = {
        Plan.Periodicity.WEEKLY: 1200,  # * 52 / 12 = 5200
        Plan.Periodicity.MONTHLY: 4990,
        Plan.Periodicity.BIMONTHLY: 6000,  # / 2 = 3000
        Plan.Periodicity.QUARTERLY: 9000,  # / 3 = 3000
        Plan.Periodicity.SEMIANNUAL: 12000,  # / 6 = 2000
        Plan.Periodicity.YEARLY: 60000,  # / 12 = 5000
    }
    for periodicity, price in prices.items():
        subscription(PlanFactory(product=product, periodicity=periodicity, price_minor=price))

    [mrr] = figures_of(producer).mrr

    assert (mrr.currency, mrr.amount_minor, mrr.count) == ("BRL", 5200 + 4990 + 3000 * 2 + 7000, 6)


def test_mrr_counts_active_and_overdue_subscriptions_only():
    producer = UserFactory(validated=True)
    plan = PlanFactory(product__producer=producer, price_minor=1000)
    subscription(plan, Subscription.Status.ACTIVE)
    subscription(plan, Subscription.Status.OVERDUE)
    for status in (
        Subscription.Status.INITIATED,
        Subscription.Status.INACTIVE,
        Subscription.Status.CANCELED_BY_CUSTOMER,
        Subscription.Status.CANCELED_BY_SELLER,
        Subscription.Status.CANCELED_BY_ADMIN,
        Subscription.Status.EXPIRED,
    ):
        subscription(plan, status)

    [mrr] = figures_of(producer).mrr

    assert (mrr.amount_minor, mrr.count) == (2000, 2)


def test_mrr_is_summed_exactly_then_rounded_once_per_currency():
    """Three weekly plans of 0.01: 3 * 52 / 12 = 0.13 exactly (rounding each would give 0.12)."""
    producer = UserFactory(validated=True)
    weekly = PlanFactory(
        product__producer=producer, periodicity=Plan.Periodicity.WEEKLY, price_minor=1
    )
    euro = PlanFactory(
        product__producer=producer, product__currency="EUR", periodicity="yearly", price_minor=6
    )
    for _ in range(3):
        subscription(weekly)
    subscription(euro)  # 6 / 12 = 0.5 → rounds half up to 1

    mrr = figures_of(producer).mrr

    assert [(m.currency, m.amount_minor) for m in mrr] == [("BRL", 13), ("EUR", 1)]


# ---------------------------------------------------------------- subscribers and churn


def test_subscriber_counts_by_status():
    producer = UserFactory(validated=True)
    plan = PlanFactory(product__producer=producer)
    for status, count in (("active", 3), ("overdue", 2), ("canceled_by_customer", 1)):
        for _ in range(count):
            subscription(plan, status)
    subscription(plan, Subscription.Status.CANCELED_BY_ADMIN)
    subscription(plan, Subscription.Status.EXPIRED)
    subscription(PlanFactory(), Subscription.Status.ACTIVE)  # another producer's

    figures = figures_of(producer).subscribers

    assert (figures.active, figures.overdue, figures.canceled) == (3, 2, 2)


def test_churn_is_cancellations_this_month_over_subscribers_at_its_start():
    producer = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    plan = PlanFactory(product__producer=producer)
    month_start = dt.datetime(2026, 3, 1, tzinfo=SAO_PAULO)
    before = month_start - timedelta(days=20)
    during = month_start + timedelta(days=5)
    # In the base: paid before 1 March (local) and not ended before it.
    first_paid(subscription(plan, Subscription.Status.ACTIVE), before)
    first_paid(subscription(plan, Subscription.Status.OVERDUE), before)
    first_paid(
        subscription(plan, Subscription.Status.CANCELED_BY_CUSTOMER, ended_at=during), before
    )
    first_paid(subscription(plan, Subscription.Status.EXPIRED, ended_at=during), before)
    # Not in the base: started this month (then canceled), ended last month, never paid.
    first_paid(subscription(plan, Subscription.Status.CANCELED_BY_SELLER, ended_at=during), during)
    first_paid(
        subscription(
            plan, Subscription.Status.CANCELED_BY_CUSTOMER, ended_at=before + timedelta(days=1)
        ),
        before,
    )
    subscription(plan, Subscription.Status.INACTIVE, ended_at=during)
    # In the base: paid at 23:30 on 28 February in São Paulo (already 1 March in UTC).
    late_february = dt.datetime(2026, 2, 28, 23, 30, tzinfo=SAO_PAULO)
    first_paid(subscription(plan, Subscription.Status.ACTIVE), late_february)

    figures = figures_of(
        producer, month_start=month_start, now=month_start + timedelta(days=10)
    ).subscribers

    assert (figures.at_month_start, figures.churned) == (5, 1)
    assert figures.churn_percent == pytest.approx(20.0)


def test_churn_of_no_subscribers_is_no_figure():
    producer = UserFactory(validated=True)
    figures = figures_of(producer).subscribers
    assert figures.churn_percent is None and not figures.has_any


def test_the_dashboard_uses_the_viewers_local_month_for_churn(client):
    producer = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    plan = PlanFactory(product__producer=producer)
    # Paid 23:30 on 28 February in São Paulo (1 March in UTC), canceled on 10 March.
    sub = subscription(
        plan,
        Subscription.Status.CANCELED_BY_CUSTOMER,
        ended_at=dt.datetime(2026, 3, 10, 12, tzinfo=UTC),
    )
    first_paid(sub, dt.datetime(2026, 2, 28, 23, 30, tzinfo=SAO_PAULO))

    with time_machine.travel(dt.datetime(2026, 3, 15, 12, tzinfo=UTC), tick=False):
        _count, html = dashboard_queries(client, producer)

    assert "100.0 %" in html
    assert "1 of 1 subscribers at the start of the month canceled" in html


# ------------------------------------------------------------------- recoverable revenue


def test_recoverable_revenue_is_overdue_recurrences_still_in_their_window():
    producer = UserFactory(validated=True)
    plan = PlanFactory(product__producer=producer, price_minor=4990)
    euro = PlanFactory(product__producer=producer, product__currency="EUR", price_minor=1500)
    now = timezone.now()
    overdue = subscription(plan, Subscription.Status.OVERDUE)
    recurrence(overdue, number=2, status=Recurrence.Status.SCHEDULED)  # a retry scheduled
    recurrence(overdue, number=3, status=Recurrence.Status.COLLECTING)  # being charged
    recurrence(subscription(plan, "overdue"), status=Recurrence.Status.PENDING, slip_code="1")
    recurrence(subscription(euro, "overdue"))
    # Not recoverable: the window closed, already paid or unpaid, a first installment, an
    # active subscription's slip not yet due, a canceled subscription, another producer's.
    recurrence(subscription(plan, "overdue"), window_closes_at=now - timedelta(minutes=1))
    recurrence(subscription(plan, "overdue"), status=Recurrence.Status.UNPAID)
    recurrence(subscription(plan, "overdue"), status=Recurrence.Status.PAID)
    recurrence(subscription(plan, "overdue"), number=1)
    recurrence(subscription(plan, "active"), status=Recurrence.Status.PENDING, slip_code="2")
    recurrence(subscription(plan, "canceled_by_customer"))
    recurrence(subscription(PlanFactory(), "overdue"))

    found = figures_of(producer, now=now).recoverable

    assert [(r.currency, r.amount_minor, r.count) for r in found] == [
        ("BRL", 3 * 4990, 3),
        ("EUR", 1500, 1),
    ]


def test_recoverable_revenue_ends_with_the_billing_window():
    """The window is billing's: WINDOW_DAYS after the due date, stored on the recurrence."""
    from subscriptions.services.billing import WINDOW_DAYS, start_of

    producer = UserFactory(validated=True)
    plan = PlanFactory(product__producer=producer, price_minor=1000)
    due = dt.date(2026, 4, 10)
    recurrence(
        subscription(plan, Subscription.Status.OVERDUE),
        window_closes_at=start_of(due) + timedelta(days=WINDOW_DAYS),
    )
    inside = start_of(due) + timedelta(days=WINDOW_DAYS) - timedelta(seconds=1)
    closed = start_of(due) + timedelta(days=WINDOW_DAYS)

    assert figures_of(producer, now=inside).recoverable[0].amount_minor == 1000
    assert figures_of(producer, now=closed).recoverable == []
