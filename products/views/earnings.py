"""Earnings and the sales history of producers, cocreators and affiliates, and its CSV export.
Each person sees only their own money: a cocreator never sees another cocreator's share."""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.locales import format_moment
from config.htmx import render_page_or_partial
from config.paginate import paginate
from products import reports
from products.models import Product
from products.money import format_money, to_major

CSV_CHUNK = 2000


@login_required
@require_GET
def earnings(request):
    report = reports.earnings_report(user=request.user)
    # Totals and charts need every row; only the two tables are cut into pages.
    context = {
        "report": report,
        "products_page": paginate(request, report.by_product, param="product_page"),
        "months_page": paginate(request, report.by_month, param="month_page"),
    }
    return render(request, "products/earnings.html", context)


def _filters(request) -> tuple[str, list[Product], Product | None]:
    """The role tab (defaulting to the user's main one) and the chosen product, if it is one of
    the products this role lets the user see; anything else means all of them."""
    role = request.GET.get("role")
    if role not in reports.SALES_ROLES:
        role = reports.sales_default_role(user=request.user)
    products = list(reports.sales_products(user=request.user, role=role))
    chosen = next((p for p in products if str(p.pk) == request.GET.get("product")), None)
    return role, products, chosen


@login_required
@require_GET
def sales(request):
    role, products, product = _filters(request)
    # A cocreator's contracts, read once for the rows and for their paging.
    terms = reports.cocreator_terms(request.user) if role == reports.COCREATOR else None
    queryset = reports.sales_for_role(
        user=request.user, role=role, product_id=product.pk if product else None, terms=terms
    )
    ids = queryset.values_list("pk", flat=True)
    if product is None:
        ids = reports.newest_sale_ids(
            user=request.user, role=role, products=products, counted=ids, terms=terms
        )
    page = paginate(request, ids)
    context = {
        "role": role,
        "roles": reports.SALES_ROLES,
        "products": products,
        "product": product,
        "page": page,
        "rows": _shown(
            reports.sale_rows(
                _page_sales(queryset, page.object_list, role), role=role, grouped=True
            )
        ),
    }
    return render_page_or_partial(request, "products/sales.html", "sales-table", context)


# What a row of the Sales page reads of a sale and what is joined to it (the rest of the
# product, buyer and affiliate rows, timestamps above all, is only parsing time).
ROW_FIELDS = ("status", "currency", "amount_minor", "refunded_minor", "paid_at", "affiliation")
ROW_JOINED = {
    reports.PRODUCER: ("product__name", "buyer__email", "affiliation__affiliate__email"),
    reports.COCREATOR: ("product__name",),
    reports.AFFILIATE: ("product__name",),
}


def _page_sales(queryset, ids, role: str) -> list:
    """The page's sales with everything the rows show. The page itself is chosen on the sales'
    ids alone: sorting thousands of rows joined to their buyers and products to keep 50 of
    them cost more than the rest of the page."""
    ids = list(ids)
    rows = queryset.filter(pk__in=ids).order_by().only(*ROW_FIELDS, *ROW_JOINED[role])
    by_pk = {sale.pk: sale for sale in rows}
    return [by_pk[pk] for pk in ids]


@dataclass
class ShownRow:
    """A sales row with its amounts and date already written out: a page of a big producer's
    sales has 50 rows of up to 30-odd split lines each, too many for per-line template work."""

    row: reports.SaleRow
    paid_at: str
    refunded: str = ""
    split: SafeString | str = ""
    gross: str = ""
    reversed: str = ""
    net: str = ""


def _shown(rows: Iterable[reports.SaleRow]) -> list[ShownRow]:
    # Each amount is formatted once per page (a split repeats the same few amounts), and the
    # words and the language every row uses are looked up once.
    money = cache(format_money)
    language = translation.get_language()
    words = _SplitWords(
        you=escape(_("You (producer)")), was=_("%(reversed)s reversed (was %(gross)s)")
    )
    shown = []
    for row in rows:
        sale = row.sale
        item = ShownRow(
            row=row,
            paid_at=format_moment(sale.paid_at, locale=language),
            refunded=money(sale.refunded_minor, sale.currency) if sale.refunded_minor else "",
        )
        if row.role == reports.PRODUCER:
            item.split = _split_list(row.split, sale.currency, money, words)
        else:
            item.gross = money(row.share.gross, sale.currency)
            item.reversed = money(row.share.reversed, sale.currency)
            item.net = money(row.share.net, sale.currency)
        shown.append(item)
    return shown


@dataclass(frozen=True)
class _SplitWords:
    you: str
    was: str


def _split_list(
    lines: list[reports.SplitLine], currency: str, money, words: _SplitWords
) -> SafeString:
    """The split's lines as the list items of the Sales page: the markup the template would
    write, built here in one pass."""
    you, was = words.you, words.was
    items = []
    for line in lines:
        who = you if line.role == reports.PRODUCER else escape(line.label)
        if line.email and line.role != reports.PRODUCER:
            who += f'<small class="muted">{escape(line.email)}</small>'
        amounts = f"<strong>{escape(money(line.net, currency))}</strong>"
        if line.reversed:
            note = was % {
                "reversed": money(line.reversed, currency),
                "gross": money(line.gross, currency),
            }
            amounts += f'<small class="amount-negative">{escape(note)}</small>'
        items.append(
            f'<li><span class="split-who">{who}</span>'
            f'<span class="split-amounts">{amounts}</span></li>'
        )
    return mark_safe("".join(items))


@login_required
@require_GET
def sales_csv(request):
    role, _products, product = _filters(request)
    queryset = reports.sales_for_role(
        user=request.user, role=role, product_id=product.pk if product else None
    )
    # iterator(chunk_size) keeps memory flat and still runs the ledger prefetch once per chunk.
    rows = reports.sale_rows(queryset.iterator(chunk_size=CSV_CHUNK), role=role)
    dialect = EXCEL_COMMA if request.GET.get("format") == "excel" else PLAIN
    # The zone is read now: the rows are written after the middleware has returned.
    zone = timezone.get_current_timezone()
    response = StreamingHttpResponse(
        _csv_lines(role, rows, dialect, zone), content_type="text/csv; charset=utf-8"
    )
    suffix = "-excel" if dialect is EXCEL_COMMA else ""
    filename = f"sales-{role}-{timezone.localdate():%Y-%m-%d}{suffix}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a generator."""

    def write(self, value: str) -> str:
        return value


CSV_HEADERS = {
    reports.PRODUCER: [
        "paid_at",
        "sale",
        "product",
        "buyer_email",
        "channel",
        "affiliate_email",
        "currency",
        "amount",
        "status",
        "reversed",
        "platform_fee_net",
        "affiliate_net",
        "cocreators",
        "cocreators_net",
        "producer_net",
    ],
    reports.COCREATOR: [
        "paid_at",
        "sale",
        "product",
        "channel",
        "currency",
        "amount",
        "status",
        "your_share",
        "your_share_reversed",
        "your_share_net",
    ],
    reports.AFFILIATE: [
        "paid_at",
        "sale",
        "product",
        "currency",
        "amount",
        "status",
        "commission",
        "commission_reversed",
        "commission_net",
    ],
}


@dataclass(frozen=True)
class CsvDialect:
    """PLAIN: comma-separated, decimal point, UTC ISO times (for scripts). EXCEL_COMMA: what a
    spreadsheet in pt-BR or es opens as columns: a UTF-8 BOM, ';', decimal comma, and times in
    the viewer's zone."""

    delimiter: str
    decimal: str
    bom: bool
    local_times: bool


PLAIN = CsvDialect(delimiter=",", decimal=".", bom=False, local_times=False)
EXCEL_COMMA = CsvDialect(delimiter=";", decimal=",", bom=True, local_times=True)


def _csv_lines(
    role: str, rows: Iterable[reports.SaleRow], dialect: CsvDialect = PLAIN, zone=None
) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=dialect.delimiter)
    header = writer.writerow(CSV_HEADERS[role])
    yield ("\ufeff" + header) if dialect.bom else header
    for row in rows:
        yield writer.writerow(_csv_row(row, dialect, zone))


def _csv_row(row: reports.SaleRow, dialect: CsvDialect = PLAIN, zone=None) -> list[str]:
    sale = row.sale

    def money(amount_minor: int) -> str:
        return str(to_major(amount_minor, sale.currency)).replace(".", dialect.decimal)

    paid_at = (
        timezone.localtime(sale.paid_at, zone).strftime("%Y-%m-%d %H:%M")
        if dialect.local_times
        else sale.paid_at.isoformat()
    )
    head = [
        paid_at,
        str(sale.pk),
        _text(sale.product.name),
    ]
    channel = "affiliate" if row.is_affiliate_sale else "direct"
    if row.role == reports.PRODUCER:
        affiliate = sale.affiliation.affiliate.email if sale.affiliation else ""
        cocreators = "; ".join(f"{c.email} {money(c.net)}" for c in row.cocreators)
        return [
            *head,
            _text(sale.buyer.email),
            channel,
            _text(affiliate),
            sale.currency,
            money(sale.amount_minor),
            sale.status,
            money(row.reversed_total),
            money(row.net_of(reports.PLATFORM)),
            money(row.net_of(reports.AFFILIATE)),
            _text(cocreators),
            money(row.net_of(reports.COCREATOR)),
            money(row.net_of(reports.PRODUCER)),
        ]
    share = [money(row.share.gross), money(row.share.reversed), money(row.share.net)]
    if row.role == reports.COCREATOR:
        return [*head, channel, sale.currency, money(sale.amount_minor), sale.status, *share]
    return [*head, sale.currency, money(sale.amount_minor), sale.status, *share]


def _text(value: str) -> str:
    """Keep spreadsheets from running a product name or email as a formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
