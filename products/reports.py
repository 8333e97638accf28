"""Reads for the earnings and sales-history screens and the producer's and cocreator's
dashboard figures: a user's own ledger totals by product and by month (net of reversals, one
currency at a time), a producer's revenue, and each sale's split, all aggregated in the
database so a page costs the same few queries whatever the number of sales."""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo

from babel.numbers import format_compact_decimal, format_decimal
from django.core.cache import cache
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.locales import babel_locale, format_month_short
from accounts.models import User
from coproduction.models import Balance, Contract, LedgerEntry
from products.models import Product, Sale
from products.money import format_money, to_major

PRODUCER = LedgerEntry.Role.PRODUCER
COCREATOR = LedgerEntry.Role.COCREATOR
AFFILIATE = LedgerEntry.Role.AFFILIATE
PLATFORM = LedgerEntry.Role.PLATFORM
SPLIT = LedgerEntry.EntryType.SPLIT

# The roles a person earns in; the platform's fee has no beneficiary.
EARNING_ROLES = (PRODUCER, COCREATOR, AFFILIATE)
# The sales-history tabs, in the order they are offered.
SALES_ROLES = {
    PRODUCER: _("As producer"),
    COCREATOR: _("As cocreator"),
    AFFILIATE: _("As affiliate"),
}
# Contracts that were accepted at some point: their cocreator sees the product's sales.
ACCEPTED_CONTRACTS = (Contract.Status.ACTIVE, Contract.Status.ENDED, Contract.Status.EXPIRED)
CHART_MONTHS = 12

_SUMS = {
    "gross": Coalesce(Sum("amount_minor", filter=Q(entry_type=SPLIT)), 0),
    "reversed": Coalesce(Sum("amount_minor", filter=~Q(entry_type=SPLIT)), 0),
    "net": Coalesce(Sum("amount_minor"), 0),
}


# ------------------------------------------------------------------------- cached ledger sums

# The sums over a person's ledger entries (earnings tables, dashboard charts) are kept in the
# shared cache under a key naming their balance rows as they are now: every ledger writer adds
# its entries to the balances of the people they pay in the same transaction
# (coproduction.services.ledger.insert_entries), so a new sale, reversal or withdrawal gives a
# new key and the next page reads the entries again. The time-out bounds what the key cannot
# see (a sale of a producer's product whose own line rounds to 0). The producer dashboard keeps
# its whole report this way (ProducerReport.key), and its charts, once drawn, under that key.
FIGURES_TIMEOUT = 300


def _ledger_stamp(user: User) -> str:
    rows = (
        Balance.objects.filter(party=user)
        .order_by("currency", "shard")
        .values_list(
            "currency",
            "shard",
            "settled_minor",
            "in_withdrawal_minor",
            "withdrawn_minor",
            "updated_at",
        )
    )
    return hashlib.blake2b(repr(list(rows)).encode(), digest_size=12).hexdigest()


def _figures_key(name: str, user: User, parts: tuple) -> str:
    """The key of one kind (`name`) of `user`'s figures: what else they depend on (`parts`: the
    zone, the day, ...) and the ledger stamp."""
    return f"reports:{name}:{user.pk}:{':'.join(map(str, parts))}:{_ledger_stamp(user)}"


def _cached(name: str, user: User, parts: tuple, compute: Callable):
    return _cached_at(_figures_key(name, user, parts), compute)


def _cached_at(key: str, compute: Callable):
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, FIGURES_TIMEOUT)
    return value


# ------------------------------------------------------------------------------------ earnings


@dataclass
class Totals:
    """Money earned in one currency: split entries (gross), reversals (≤ 0) and what is left."""

    currency: str
    gross: int = 0
    reversed: int = 0
    net: int = 0

    def add(self, row: dict) -> None:
        self.gross += row["gross"]
        self.reversed += row["reversed"]
        self.net += row["net"]


@dataclass
class ProductEarnings(Totals):
    product_id: int = 0
    name: str = ""
    roles: list[str] = field(default_factory=list)


@dataclass
class MonthEarnings(Totals):
    month: date | None = None


@dataclass
class InnerBar:
    """A month's second figure (the producer's own earnings), drawn inside its revenue bar."""

    net: int
    x: float
    y: float
    width: float
    height: float
    amount_text: str
    negative: bool


@dataclass
class Bar:
    month: date
    net: int
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    amount_label: str
    amount_text: str
    negative: bool
    show_year: bool
    inner: InnerBar | None = None


@dataclass
class Chart:
    """A server-drawn bar chart of one currency in the last months: net earnings (the Earnings
    page), or revenue with the producer's own earnings inside each bar (the dashboard)."""

    currency: str
    bars: list[Bar]
    width: int
    height: int
    baseline_y: float
    plot_top: float
    month_label_y: float
    year_label_y: float
    total: int
    kind: str = "earnings"  # or "revenue"
    inner_total: int = 0

    @property
    def dom_id(self) -> str:
        return f"chart-{self.kind}-{self.currency}"

    @property
    def title(self) -> str:
        count = len(self.bars)
        if self.kind == "revenue":
            return ngettext(
                "Revenue and your earnings per month, last %(count)s month (%(currency)s)",
                "Revenue and your earnings per month, last %(count)s months (%(currency)s)",
                count,
            ) % {"count": count, "currency": self.currency}
        return ngettext(
            "Net earnings per month, last %(count)s month (%(currency)s)",
            "Net earnings per month, last %(count)s months (%(currency)s)",
            count,
        ) % {"count": count, "currency": self.currency}

    @property
    def description(self) -> str:
        if self.kind == "revenue":
            parts = [
                gettext("%(month)s: revenue %(revenue)s, your earnings %(earnings)s")
                % {
                    "month": format_month_short(bar.month),
                    "revenue": bar.amount_text,
                    "earnings": bar.inner.amount_text if bar.inner else "",
                }
                for bar in self.bars
            ]
        else:
            parts = [f"{format_month_short(bar.month)}: {bar.amount_text}" for bar in self.bars]
        return "; ".join(parts) + "."


@dataclass
class EarningsReport:
    totals: list[Totals]
    by_product: list[ProductEarnings]
    by_month: list[MonthEarnings]
    charts: list[Chart]

    @property
    def is_empty(self) -> bool:
        return not self.by_product


def _earns(user: User) -> Q:
    return Q(beneficiary=user, role__in=EARNING_ROLES)


def earnings_entries(*, user: User) -> QuerySet[LedgerEntry]:
    """The ledger entries that pay this user, splits and their reversals."""
    return LedgerEntry.objects.filter(_earns(user))


def _earnings_groups(user: User) -> list[dict]:
    """The user's earnings summed per product, calendar month, currency and role: what both
    tables of the earnings page are made of, in one pass over their ledger entries (cached
    until their balance changes)."""
    # The months are the active time zone's (TruncMonth): the zone is part of the key.
    return _cached(
        "earnings",
        user,
        (timezone.get_current_timezone_name(),),
        lambda: list(
            earnings_entries(user=user)
            .annotate(month=TruncMonth("created_at"))
            .values("product_id", "product__name", "month", "currency", "role")
            .annotate(**_SUMS)
            .order_by()
        ),
    )


def earnings_by_product(*, user: User, groups: list[dict] | None = None) -> list[ProductEarnings]:
    """Per product and currency, with the roles the user earned in."""
    groups = _earnings_groups(user) if groups is None else groups
    rows = sorted(
        groups, key=lambda r: (r["product__name"], r["product_id"], r["currency"], r["role"])
    )
    merged: dict[tuple[int, str], ProductEarnings] = {}
    for row in rows:
        key = (row["product_id"], row["currency"])
        item = merged.get(key)
        if item is None:
            item = merged[key] = ProductEarnings(
                currency=row["currency"], product_id=row["product_id"], name=row["product__name"]
            )
        item.add(row)
        label = LedgerEntry.Role(row["role"]).label
        if label not in item.roles:
            item.roles.append(label)
    return list(merged.values())


def earnings_by_month(*, user: User, groups: list[dict] | None = None) -> list[MonthEarnings]:
    """Per calendar month and currency, newest first. Reversals count in the month they
    happened (their created_at), not in the month of the sale."""
    groups = _earnings_groups(user) if groups is None else groups
    merged: dict[tuple, MonthEarnings] = {}
    for row in groups:
        key = (row["month"], row["currency"])
        item = merged.get(key)
        if item is None:
            item = merged[key] = MonthEarnings(
                currency=row["currency"], month=_as_date(row["month"])
            )
        item.add(row)
    newest_first = sorted(merged, key=lambda key: key[1])
    newest_first.sort(key=lambda key: key[0], reverse=True)
    return [merged[key] for key in newest_first]


def earnings_report(*, user: User, today: date | None = None) -> EarningsReport:
    """Everything the earnings page shows, in one query."""
    groups = _earnings_groups(user)
    by_product = earnings_by_product(user=user, groups=groups)
    by_month = earnings_by_month(user=user, groups=groups)
    totals: dict[str, Totals] = {}
    for item in by_product:
        totals.setdefault(item.currency, Totals(currency=item.currency)).add(vars(item))
    today = today or timezone.localdate()
    return EarningsReport(
        totals=sorted(totals.values(), key=lambda t: t.currency),
        by_product=by_product,
        by_month=by_month,
        charts=earnings_charts(by_month, today=today),
    )


def _as_date(value) -> date:
    # TruncMonth on a DateTimeField gives an aware datetime in the current time zone.
    return value.date() if hasattr(value, "date") else value


def last_months(today: date, count: int = CHART_MONTHS) -> list[date]:
    """The first day of each of the last `count` months, oldest first, ending with today's."""
    year, month = today.year, today.month
    months = []
    for _step in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


# Chart geometry in SVG user units; the SVG scales to its container through its viewBox.
CHART_WIDTH = 720
CHART_HEIGHT = 250
CHART_TOP = 26  # room for the amount label above the tallest bar
CHART_BOTTOM = 40  # room for month and year labels
CHART_SIDE = 8
BAR_RATIO = 0.64


def earnings_charts(by_month: Iterable[MonthEarnings], *, today: date) -> list[Chart]:
    """One chart per currency that has entries in the last CHART_MONTHS months."""
    months = last_months(today)
    nets: dict[str, dict[date, int]] = {}
    for item in by_month:
        if item.month in months:
            nets.setdefault(item.currency, {})[item.month] = item.net
    return [
        _chart(currency, [(m, nets[currency].get(m, 0)) for m in months])
        for currency in sorted(nets)
    ]


INNER_RATIO = 0.5  # the inner bar's share of its outer bar's width


def _chart(
    currency: str,
    values: list[tuple[date, int]],
    *,
    inner: list[int] | None = None,
    kind: str = "earnings",
) -> Chart:
    """Bars of `values` (month, amount); `inner`, one amount per month, is drawn as a narrower
    bar inside each one, on the same scale."""
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    every = [v for _, v in values] + list(inner or [])
    top = max([0, *every])
    bottom = min([0, *every])
    span = (top - bottom) or 1
    baseline = CHART_TOP + plot_height * top / span
    slot = (CHART_WIDTH - 2 * CHART_SIDE) / len(values)
    width = slot * BAR_RATIO

    def extent(amount: int) -> tuple[float, float]:
        height = plot_height * abs(amount) / span
        if amount and height < 1:
            height = 1  # a tiny amount still shows as a sliver, not as nothing
        return (baseline - height if amount >= 0 else baseline), height

    bars = []
    for index, (month, net) in enumerate(values):
        y, height = extent(net)
        x = CHART_SIDE + slot * index + (slot - width) / 2
        # A label sits above the taller bar; a loss's above the baseline, clear of the month
        # labels below the plot.
        tallest = min([y, *([extent(inner[index])[0]] if inner else [])])
        label_y = (tallest if net >= 0 else baseline) - 6
        inner_bar = None
        if inner is not None:
            amount = inner[index]
            inner_y, inner_height = extent(amount)
            inner_width = width * INNER_RATIO
            inner_bar = InnerBar(
                net=amount,
                x=round(x + (width - inner_width) / 2, 1),
                y=round(inner_y, 1),
                width=round(inner_width, 1),
                height=round(inner_height, 1),
                amount_text=format_money(amount, currency),
                negative=amount < 0,
            )
        bars.append(
            Bar(
                month=month,
                net=net,
                x=round(x, 1),
                y=round(y, 1),
                width=round(width, 1),
                height=round(height, 1),
                label_x=round(x + width / 2, 1),
                label_y=round(label_y, 1),
                amount_label=compact_amount(net, currency) if net else "",
                amount_text=format_money(net, currency),
                negative=net < 0,
                show_year=index == 0 or month.month == 1,
                inner=inner_bar,
            )
        )
    return Chart(
        currency=currency,
        bars=bars,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        baseline_y=round(baseline, 1),
        plot_top=CHART_TOP,
        month_label_y=CHART_HEIGHT - CHART_BOTTOM + 16,
        year_label_y=CHART_HEIGHT - CHART_BOTTOM + 31,
        total=sum(v for _, v in values),
        kind=kind,
        inner_total=sum(inner or []),
    )


def compact_amount(amount_minor: int, currency: str) -> str:
    """A short label for a bar in the reader's locale: 52.42, 1,234.56, 12.3K, 4.5M (en);
    1.234,56, 12,3 mil (pt-BR). The chart names the currency."""
    major = to_major(amount_minor, currency)
    sign = "\u2212" if major < 0 else ""  # a true minus sign, as wide as the digits
    major = abs(major)
    locale = babel_locale()
    if major >= 10_000:
        short = format_compact_decimal(major, format_type="short", fraction_digits=1, locale=locale)
        return f"{sign}{short}"
    return f"{sign}{format_decimal(major, format='#,##0.00', locale=locale)}"


# ---------------------------------------------------------------------------------- dashboards


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_after(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_before(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The instant `day` begins in `zone`: months are the viewer's (SPEC, Languages and time)."""
    return datetime.combine(day, time(0), tzinfo=zone)


def revenue_entries(*, producer: User) -> QuerySet[LedgerEntry]:
    """Revenue is what buyers paid for the producer's products less what was given back: the
    sum of every ledger line of their sales (a sale's split adds up to what was paid, its
    reversals to what was refunded or charged back), each in the month it was written, like
    earnings. A charge parked in needs attention has no ledger yet and is not revenue yet."""
    return LedgerEntry.objects.filter(product__producer=producer)


def _own_producer_share(user: User) -> Q:
    """The producer's own earnings on their products: the earnings rule, producer lines only."""
    return _earns(user) & Q(role=PRODUCER)


@dataclass
class RevenueMonth:
    """One currency's revenue and the producer's own earnings in one month (net of reversals)."""

    currency: str
    month: date
    revenue: int = 0
    earnings: int = 0


@dataclass
class MonthFigures:
    """One currency's revenue and own earnings this month and last month."""

    currency: str
    revenue: int = 0
    earnings: int = 0
    last_revenue: int = 0
    last_earnings: int = 0


@dataclass
class TopProduct:
    product_id: int
    name: str
    currency: str
    revenue: int
    sales: int


@dataclass
class ProducerReport:
    figures: list[MonthFigures]
    charts: list[Chart]
    top_products: list[TopProduct]
    # The cache key the report is kept under: it names the ledger state, zone, day and
    # language the report was drawn for, so what is drawn from it (the dashboard's charts) can
    # be kept under it too, for as long (FIGURES_TIMEOUT).
    key: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.figures


def _revenue_rows(*, producer: User, zone: tzinfo, first: date) -> list[dict]:
    """Revenue and own earnings per local month and currency since `first`: one GROUP BY
    query over the producer's ledger."""
    return list(
        revenue_entries(producer=producer)
        .filter(created_at__gte=local_midnight(first, zone))
        .annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month", "currency")
        .annotate(
            revenue=Coalesce(Sum("amount_minor"), 0),
            earnings=Coalesce(Sum("amount_minor", filter=_own_producer_share(producer)), 0),
        )
        .order_by("month", "currency")
    )


def _top_rows(*, producer: User, zone: tzinfo, today: date) -> list[dict]:
    """This local month's revenue and count of sales per product, best first within each
    currency (amounts in different currencies are never compared)."""
    return list(
        revenue_entries(producer=producer)
        .filter(
            created_at__gte=local_midnight(month_start(today), zone),
            created_at__lt=local_midnight(month_after(today), zone),
        )
        .values("product_id", "product__name", "currency")
        .annotate(
            revenue=Coalesce(Sum("amount_minor"), 0),
            sales=Count("sale_id", filter=Q(entry_type=SPLIT), distinct=True),
        )
        .order_by("currency", "-revenue", "product__name", "product_id")
    )


def _top_products(rows: list[dict], limit: int) -> list[TopProduct]:
    """The best `limit` products of each currency."""
    result: list[TopProduct] = []
    per_currency: dict[str, int] = {}
    for row in rows:
        if per_currency.get(row["currency"], 0) >= limit:
            continue
        per_currency[row["currency"]] = per_currency.get(row["currency"], 0) + 1
        result.append(
            TopProduct(
                product_id=row["product_id"],
                name=row["product__name"],
                currency=row["currency"],
                revenue=row["revenue"],
                sales=row["sales"],
            )
        )
    return result


def producer_report(*, producer: User, zone: tzinfo, today: date, top: int = 5) -> ProducerReport:
    """The producer dashboard's money: this and last local month per currency, the 12-month
    chart of revenue with own earnings (oldest first, today's month included), and this
    month's `top` best products of each currency with their count of sales. Two queries over
    the ledger when it moved; otherwise one (the stamp), the report read whole from the cache
    (`_cached`), drawn in the reader's language (the charts' labels are written out)."""
    key = _figures_key("producer", producer, (zone, today, top, translation.get_language()))
    return _cached_at(
        key, lambda: _producer_report(producer=producer, zone=zone, today=today, top=top, key=key)
    )


def _producer_report(
    *, producer: User, zone: tzinfo, today: date, top: int, key: str
) -> ProducerReport:
    chart_months = last_months(today)
    months = _revenue_rows(producer=producer, zone=zone, first=chart_months[0])
    this_month = month_start(today)
    last_month = month_before(this_month)
    figures: dict[str, MonthFigures] = {}
    series: dict[str, dict[date, RevenueMonth]] = {}
    for row in months:
        item = RevenueMonth(
            currency=row["currency"],
            month=_as_date(row["month"]),
            revenue=row["revenue"],
            earnings=row["earnings"],
        )
        series.setdefault(item.currency, {})[item.month] = item
        figure = figures.setdefault(item.currency, MonthFigures(currency=item.currency))
        if item.month == this_month:
            figure.revenue, figure.earnings = item.revenue, item.earnings
        elif item.month == last_month:
            figure.last_revenue, figure.last_earnings = item.revenue, item.earnings
    charts = []
    for currency in sorted(series):
        by_month = series[currency]
        empty = RevenueMonth(currency=currency, month=this_month)
        values = [(m, by_month.get(m, empty).revenue) for m in chart_months]
        inner = [by_month.get(m, empty).earnings for m in chart_months]
        charts.append(_chart(currency, values, inner=inner, kind="revenue"))
    return ProducerReport(
        figures=sorted(figures.values(), key=lambda f: f.currency),
        charts=charts,
        top_products=_top_products(_top_rows(producer=producer, zone=zone, today=today), top),
        key=key,
    )


@dataclass
class ContractEarnings:
    """A cocreator's own earnings through one contract (net of reversals), by local month."""

    contract_id: int
    product_name: str
    currency: str
    this_month: int = 0
    last_month: int = 0
    total: int = 0  # the last CHART_MONTHS months
    months: list[tuple[date, int]] = field(default_factory=list)


def cocreator_earnings_by_contract(
    *, user: User, zone: tzinfo, today: date, count: int = CHART_MONTHS
) -> list[ContractEarnings]:
    """Per contract and local month, the last `count` months, newest month first: one GROUP
    BY query over the cocreator's own ledger lines (the earnings rule, cocreator lines)."""
    first = last_months(today, count)[0]
    rows = _cached(
        "contracts",
        user,
        (zone, today, count),
        lambda: list(
            earnings_entries(user=user)
            .filter(role=COCREATOR, created_at__gte=local_midnight(first, zone))
            .annotate(month=TruncMonth("created_at", tzinfo=zone))
            .values("contract_id", "product__name", "currency", "month")
            .annotate(net=Coalesce(Sum("amount_minor"), 0))
            .order_by("product__name", "contract_id", "currency", "-month")
        ),
    )
    this_month = month_start(today)
    last_month = month_before(this_month)
    merged: dict[tuple[int, str], ContractEarnings] = {}
    for row in rows:
        key = (row["contract_id"], row["currency"])
        item = merged.get(key)
        if item is None:
            item = merged[key] = ContractEarnings(
                contract_id=row["contract_id"],
                product_name=row["product__name"],
                currency=row["currency"],
            )
        month = _as_date(row["month"])
        item.months.append((month, row["net"]))
        item.total += row["net"]
        if month == this_month:
            item.this_month = row["net"]
        elif month == last_month:
            item.last_month = row["net"]
    return list(merged.values())


# ------------------------------------------------------------------------------- sales history


def sales_default_role(*, user: User) -> str:
    """Producer when the user has products, else cocreator when they co-produce, else affiliate."""
    if Product.objects.filter(producer=user).exists():
        return PRODUCER
    if Contract.objects.filter(cocreator=user, status__in=ACCEPTED_CONTRACTS).exists():
        return COCREATOR
    return AFFILIATE


def _coproduced_product_ids(user: User) -> QuerySet:
    return Contract.objects.filter(cocreator=user, status__in=ACCEPTED_CONTRACTS).values(
        "product_id"
    )


def cocreator_terms(user: User) -> list[tuple[int, datetime | None]]:
    """(product id, the first instant the contract no longer covers, or None) of each contract
    the user accepted: what the cocreator's Sales rows and their paging both read (one query;
    a page reads it once and passes it to both)."""
    from coproduction.dates import contract_in_force_until

    contracts = Contract.objects.filter(
        cocreator=user, status__in=ACCEPTED_CONTRACTS
    ).select_related("product__producer__validation")
    return [(contract.product_id, contract_in_force_until(contract)) for contract in contracts]


def _cocreator_visible(user: User, terms: list[tuple[int, datetime | None]] | None = None) -> Q:
    """The sales a cocreator sees: of the products they co-produce, except that once a contract
    ended or expired, sales paid after it stopped being in force are not theirs to see (the
    earlier ones still are), unless they still earned on them (automatic sales recovery)."""
    earned = Exists(
        LedgerEntry.objects.filter(sale=OuterRef("pk"), beneficiary=user, role=COCREATOR)
    )
    visible = Q(pk__in=[])
    for product_id, until in cocreator_terms(user) if terms is None else terms:
        scope = Q(product_id=product_id)
        if until is not None:
            scope &= Q(paid_at__lt=until) | earned
        visible |= scope
    # A cocreator earns only through a contract on the sale's product, so the sales they
    # earned on are all of those products: the per-sale EXISTS is only asked of the sales a
    # contract no longer covers, not of every sale on the platform.
    return visible


def sales_products(*, user: User, role: str) -> QuerySet[Product]:
    """The products whose sales the user sees in this role: the product filter's choices."""
    if role == PRODUCER:
        products = Product.objects.filter(producer=user)
    elif role == COCREATOR:
        products = Product.objects.filter(pk__in=_coproduced_product_ids(user))
    else:
        products = Product.objects.filter(affiliations__affiliate=user)
    return products.order_by("name", "pk")


def _share(user: User, role: str, *, reversals: bool):
    """What this user got (or gave back) on the outer sale in this role, 0 when nothing."""
    entries = LedgerEntry.objects.filter(sale=OuterRef("pk"), beneficiary=user, role=role)
    entries = entries.exclude(entry_type=SPLIT) if reversals else entries.filter(entry_type=SPLIT)
    total = entries.order_by().values("sale").annotate(total=Sum("amount_minor")).values("total")
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)


def sales_for_role(
    *,
    user: User,
    role: str,
    product_id: int | None = None,
    terms: list[tuple[int, datetime | None]] | None = None,
) -> QuerySet[Sale]:
    """Counted sales the user sees in this role, newest first (`terms`: the cocreator's
    cocreator_terms, when the caller has read them already).

    producer: every sale of their products, with buyer, affiliate and the whole ledger joined.
    cocreator: sales of products they co-produce (or did), with only their own share.
    affiliate: sales through their affiliate links, with their commission."""
    sales = Sale.objects.filter(status__in=Sale.COUNTED)
    if role == PRODUCER:
        # The whole split of each sale is read by sale_rows, as values, a chunk at a time.
        sales = sales.filter(product__producer=user).select_related(
            "product", "buyer", "affiliation__affiliate"
        )
    elif role == COCREATOR:
        sales = sales.filter(_cocreator_visible(user, terms)).select_related("product")
    else:
        sales = sales.filter(affiliation__affiliate=user).select_related("product")
    if role != PRODUCER:
        sales = sales.annotate(
            share_gross=_share(user, role, reversals=False),
            share_reversed=_share(user, role, reversals=True),
        )
    if product_id is not None:
        sales = sales.filter(product_id=product_id)
    return sales.order_by("-paid_at", "-pk")


def newest_sale_ids(
    *,
    user: User,
    role: str,
    products: list[Product],
    counted: QuerySet,
    terms: list[tuple[int, datetime | None]] | None = None,
):
    """The ids of the sales history's rows for a paginator (`counted`: their ids as a
    queryset). When the rows are every counted sale of some products (a producer's, or a
    cocreator's whose contracts all still cover every sale), a page is read through each
    product's (product, paid_at) index instead of sorting all their sales to keep 50."""
    if role == COCREATOR:
        terms = cocreator_terms(user) if terms is None else terms
        if any(until is not None for _product_id, until in terms):
            return counted
    elif role != PRODUCER:
        return counted
    return NewestSaleIds(user=user, product_ids=[product.pk for product in products])


class NewestSaleIds:
    """Counted sales of some products, ids newest first, sliced as a paginator does: the
    newest `offset + limit` of each product through its index, merged (LATERAL)."""

    def __init__(self, *, user: User, product_ids: list[int]):
        self.user = user
        self.product_ids = product_ids

    def count(self) -> int:
        # The rows __getitem__ lists, counted by product, and kept under the viewer's ledger
        # stamp (above): each new sale pays the producer, and each cocreator these lists are
        # for, in the transaction that counts it. Counting a big producer's 23 000 sales took
        # 8-13 ms of every visit; a page of the list reads them fresh all the same.
        # The products by a digest: a producer's hundreds of ids would pass a key's 250 bytes.
        ids = ",".join(map(str, sorted(self.product_ids))).encode()
        products = hashlib.blake2b(ids, digest_size=12).hexdigest()
        return _cached(
            "sale-count",
            self.user,
            (products,),
            lambda: Sale.objects.filter(
                product_id__in=self.product_ids, status__in=Sale.COUNTED
            ).count(),
        )

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("NewestSaleIds takes a slice")
        start, stop = index.start or 0, index.stop
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT s.id
                  FROM unnest(%s::bigint[]) AS p(id)
                 CROSS JOIN LATERAL (
                       SELECT id, paid_at FROM products_sale
                        WHERE product_id = p.id AND status = ANY(%s)
                        ORDER BY paid_at DESC, id DESC
                        LIMIT %s) s
                 ORDER BY s.paid_at DESC, s.id DESC
                OFFSET %s LIMIT %s
                """,
                [self.product_ids, list(Sale.COUNTED), stop, start, stop - start],
            )
            return [row[0] for row in cursor.fetchall()]


@dataclass
class SplitLine:
    """One part of a sale's split: what it got, what was reversed since, and what is left."""

    role: str
    label: str
    email: str
    gross: int = 0
    reversed: int = 0

    @property
    def net(self) -> int:
        return self.gross + self.reversed


@dataclass
class SaleRow:
    """One line of the sales history (and of its CSV) as seen in one role."""

    sale: Sale
    role: str
    split: list[SplitLine] = field(default_factory=list)
    share: SplitLine | None = None

    @property
    def is_affiliate_sale(self) -> bool:
        return self.sale.affiliation_id is not None

    @property
    def reversed_total(self) -> int:
        return sum(line.reversed for line in self.split)

    def net_of(self, role: str) -> int:
        return sum(line.net for line in self.split if line.role == role)

    @property
    def cocreators(self) -> list[SplitLine]:
        return [line for line in self.split if line.role == COCREATOR]


def sale_splits(sale_ids: Iterable[int]) -> dict[int, list[SplitLine]]:
    """Each sale's split by line, reversals folded in, in one query of plain values (a page
    of a producer with 30 cocreators reads about 1 700 entries: no model per entry)."""
    by_sale: dict[int, dict[int, SplitLine]] = {}
    labels = {role.value: role.label for role in LedgerEntry.Role}
    entries = (
        LedgerEntry.objects.filter(sale_id__in=list(sale_ids))
        .order_by("sale_id", "line", "pk")
        .values_list("sale_id", "line", "role", "entry_type", "amount_minor", "beneficiary__email")
    )
    for sale_id, number, role, entry_type, amount, email in entries:
        lines = by_sale.setdefault(sale_id, {})
        line = lines.get(number)
        if line is None:
            line = lines[number] = SplitLine(role=role, label=labels[role], email=email or "")
        if entry_type == SPLIT:
            line.gross += amount
        else:
            line.reversed += amount
    return {sale_id: [lines[n] for n in sorted(lines)] for sale_id, lines in by_sale.items()}


# A sale's split as the Sales page shows it: more cocreators than this are one line with their
# count and total (the CSV and the API keep each one's share; 30 lines a sale made a page of 50
# sales unreadable and slow).
SPLIT_COCREATOR_LINES = 3

_GROUPED_SPLITS = """
WITH lines AS (
    SELECT sale_id, line, min(role) AS role, min(beneficiary_id) AS beneficiary_id,
           coalesce(sum(amount_minor) FILTER (WHERE entry_type = %(split)s), 0) AS gross,
           coalesce(sum(amount_minor) FILTER (WHERE entry_type <> %(split)s), 0) AS reversed
      FROM {ledger}
     WHERE sale_id = ANY(%(sales)s)
     GROUP BY sale_id, line
), counted AS (
    SELECT lines.*,
           count(*) FILTER (WHERE role = %(cocreator)s) OVER (PARTITION BY sale_id) AS cocreators
      FROM lines
), grouped AS (
    SELECT sale_id, role, min(line) AS line, count(*) AS lines,
           sum(gross)::bigint AS gross, sum(reversed)::bigint AS reversed,
           CASE WHEN count(*) = 1 THEN min(beneficiary_id) END AS beneficiary_id
      FROM counted
     GROUP BY sale_id, role,
              CASE WHEN role = %(cocreator)s AND cocreators > %(most)s THEN -1 ELSE line END
)
SELECT grouped.sale_id, grouped.role, grouped.lines, grouped.gross, grouped.reversed,
       coalesce({user}.email, '')
  FROM grouped LEFT JOIN {user} ON {user}.id = grouped.beneficiary_id
 ORDER BY grouped.sale_id, grouped.line
"""


def grouped_sale_splits(sale_ids: Iterable[int]) -> dict[int, list[SplitLine]]:
    """sale_splits with the cocreators of a sale that has more than SPLIT_COCREATOR_LINES of
    them summed into one line ("30 cocreators", at the place of the first), in SQL: a page of
    50 such sales reads ~200 lines instead of ~1 700 entries."""
    from django.db import connection

    labels = {role.value: str(role.label) for role in LedgerEntry.Role}
    sql = _GROUPED_SPLITS.format(
        ledger=connection.ops.quote_name(LedgerEntry._meta.db_table),
        user=connection.ops.quote_name(User._meta.db_table),
    )
    params = {
        "sales": list(sale_ids),
        "split": SPLIT,
        "cocreator": COCREATOR,
        "most": SPLIT_COCREATOR_LINES,
    }
    by_sale: dict[int, list[SplitLine]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for sale_id, role, count, gross, reversed_, email in cursor.fetchall():
            if count > 1:
                label = ngettext("%(count)s cocreator", "%(count)s cocreators", count) % {
                    "count": count
                }
            else:
                label = labels[role]
            line = SplitLine(role=role, label=label, email=email, gross=gross, reversed=reversed_)
            by_sale.setdefault(sale_id, []).append(line)
    return by_sale


# Sales whose splits are read in one query (a page is one chunk, the CSV streams chunks).
SPLIT_CHUNK = 2000


def _chunks(items: Iterable, size: int) -> Iterable[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sale_rows(sales: Iterable[Sale], *, role: str, grouped: bool = False) -> Iterable[SaleRow]:
    """Rows for the page (grouped: its cocreators as grouped_sale_splits sums them) or the CSV;
    lazy, so a CSV export streams."""
    if role == PRODUCER:
        read = grouped_sale_splits if grouped else sale_splits
        for chunk in _chunks(sales, SPLIT_CHUNK):
            splits = read(sale.pk for sale in chunk)
            for sale in chunk:
                yield SaleRow(sale=sale, role=role, split=splits.get(sale.pk, []))
        return
    label = LedgerEntry.Role(role).label
    for sale in sales:
        share = SplitLine(
            role=role,
            label=label,
            email="",
            gross=sale.share_gross,
            reversed=sale.share_reversed,
        )
        yield SaleRow(sale=sale, role=role, share=share)
