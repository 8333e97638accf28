"""Reads for the earnings and sales-history screens: a user's own ledger totals by product and
by month (net of reversals, one currency at a time) and each sale's split, all aggregated in the
database so a page costs the same few queries whatever the number of sales."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from babel.numbers import format_compact_decimal, format_decimal
from django.db.models import BigIntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.locales import babel_locale, format_month_short
from accounts.models import User
from coproduction.models import Contract, LedgerEntry
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


@dataclass
class Chart:
    """A server-drawn bar chart of one currency's net earnings in the last months."""

    currency: str
    bars: list[Bar]
    width: int
    height: int
    baseline_y: float
    plot_top: float
    month_label_y: float
    year_label_y: float
    total: int

    @property
    def title(self) -> str:
        count = len(self.bars)
        return ngettext(
            "Net earnings per month, last %(count)s month (%(currency)s)",
            "Net earnings per month, last %(count)s months (%(currency)s)",
            count,
        ) % {"count": count, "currency": self.currency}

    @property
    def description(self) -> str:
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


def earnings_entries(*, user: User) -> QuerySet[LedgerEntry]:
    """The ledger entries that pay this user, splits and their reversals."""
    return LedgerEntry.objects.filter(beneficiary=user, role__in=EARNING_ROLES)


def earnings_by_product(*, user: User) -> list[ProductEarnings]:
    """Per product and currency, with the roles the user earned in; one GROUP BY query."""
    rows = (
        earnings_entries(user=user)
        .values("product_id", "product__name", "currency", "role")
        .annotate(**_SUMS)
        .order_by("product__name", "product_id", "currency", "role")
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
        item.roles.append(LedgerEntry.Role(row["role"]).label)
    return list(merged.values())


def earnings_by_month(*, user: User) -> list[MonthEarnings]:
    """Per calendar month and currency, newest first. Reversals count in the month they
    happened (their created_at), not in the month of the sale."""
    rows = (
        earnings_entries(user=user)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "currency")
        .annotate(**_SUMS)
        .order_by("-month", "currency")
    )
    result = []
    for row in rows:
        item = MonthEarnings(currency=row["currency"], month=_as_date(row["month"]))
        item.add(row)
        result.append(item)
    return result


def earnings_report(*, user: User, today: date | None = None) -> EarningsReport:
    """Everything the earnings page shows, in two queries."""
    by_product = earnings_by_product(user=user)
    by_month = earnings_by_month(user=user)
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


def _chart(currency: str, values: list[tuple[date, int]]) -> Chart:
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    top = max([0] + [v for _, v in values])
    bottom = min([0] + [v for _, v in values])
    span = (top - bottom) or 1
    baseline = CHART_TOP + plot_height * top / span
    slot = (CHART_WIDTH - 2 * CHART_SIDE) / len(values)
    width = slot * BAR_RATIO
    bars = []
    for index, (month, net) in enumerate(values):
        height = plot_height * abs(net) / span
        if net and height < 1:
            height = 1  # a tiny amount still shows as a sliver, not as nothing
        x = CHART_SIDE + slot * index + (slot - width) / 2
        y = baseline - height if net >= 0 else baseline
        # A loss's label sits above the baseline, clear of the month labels below the plot.
        label_y = (y if net >= 0 else baseline) - 6
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


def sales_for_role(*, user: User, role: str, product_id: int | None = None) -> QuerySet[Sale]:
    """Counted sales the user sees in this role, newest first.

    producer: every sale of their products, with buyer, affiliate and the whole ledger joined.
    cocreator: sales of products they co-produce (or did), with only their own share.
    affiliate: sales through their affiliate links, with their commission."""
    sales = Sale.objects.filter(status__in=Sale.COUNTED)
    if role == PRODUCER:
        sales = sales.filter(product__producer=user).select_related(
            "product", "buyer", "affiliation__affiliate"
        )
        sales = sales.prefetch_related(
            Prefetch(
                "ledger",
                queryset=LedgerEntry.objects.select_related("beneficiary").order_by("line", "pk"),
            )
        )
    elif role == COCREATOR:
        sales = sales.filter(product_id__in=_coproduced_product_ids(user)).select_related("product")
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


def sale_split(sale: Sale) -> list[SplitLine]:
    """The sale's split by line from its prefetched ledger entries, reversals folded in."""
    lines: dict[int, SplitLine] = {}
    for entry in sale.ledger.all():
        line = lines.get(entry.line)
        if line is None:
            line = lines[entry.line] = SplitLine(
                role=entry.role,
                label=LedgerEntry.Role(entry.role).label,
                email=entry.beneficiary.email if entry.beneficiary else "",
            )
        if entry.entry_type == SPLIT:
            line.gross += entry.amount_minor
        else:
            line.reversed += entry.amount_minor
    return [lines[number] for number in sorted(lines)]


def sale_rows(sales: Iterable[Sale], *, role: str) -> Iterable[SaleRow]:
    """Rows for the page or the CSV; lazy, so a CSV export streams."""
    for sale in sales:
        if role == PRODUCER:
            yield SaleRow(sale=sale, role=role, split=sale_split(sale))
        else:
            share = SplitLine(
                role=role,
                label=LedgerEntry.Role(role).label,
                email="",
                gross=sale.share_gross,
                reversed=sale.share_reversed,
            )
            yield SaleRow(sale=sale, role=role, share=share)
