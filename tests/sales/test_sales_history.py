"""The sales history by role (producer, cocreator, affiliate), its product filter and HTMX
partial, and its streamed CSV export: each person sees only the sales and money that are theirs."""

import csv
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coproduction.models import Contract
from coproduction.services.contracts import contract_decline, contract_invite
from products.services.sales import sale_refund
from tests.factories import AffiliationFactory, ProductFactory, SaleFactory, UserFactory
from tests.sales.test_earnings import co_produce, paid_sales, text, worked_case

pytestmark = pytest.mark.django_db

SALES = reverse("products:sales")
CSV = reverse("products:sales_csv")
HTMX = {"HTTP_HX_REQUEST": "true"}


def get(client, user, url=SALES, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response


def html_of(client, user, **params) -> str:
    return get(client, user, **params).content.decode()


def csv_rows(client, user, **params) -> list[list[str]]:
    response = get(client, user, CSV, **params)
    assert response.streaming is True
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def row_html(html: str, sale) -> str:
    start = html.index(f'id="sale-{sale.pk}"')
    return text(html[start : html.index("</tr>", start)])


# -------------------------------------------------------------------------------- access


@pytest.mark.parametrize("url", [SALES, CSV])
def test_anonymous_is_sent_to_login(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_default_tab_follows_what_the_user_does(client):
    case = worked_case()
    for user, role in (
        (case.producer, "producer"),
        (case.cocreator, "cocreator"),
        (case.affiliate, "affiliate"),
        (UserFactory(), "affiliate"),
    ):
        response = get(client, user)
        assert response.context["role"] == role
        assert f'href="{SALES}?role={role}" aria-current="page"' in response.content.decode()


def test_unknown_role_falls_back_to_the_default(client):
    case = worked_case()
    assert get(client, case.producer, role="platform").context["role"] == "producer"


# ---------------------------------------------------------------------- producer's history


def test_producer_sees_the_full_split_of_each_sale(client):
    case = worked_case()
    html = html_of(client, case.producer)
    row = row_html(html, case.sale)

    assert case.product.name in row
    assert case.sale.buyer.email in row
    assert "Affiliate" in row and case.affiliate.email in row
    assert "R$100.00" in row and "Paid" in row
    assert "Platform fee R$10.40" in row
    assert f"Affiliate {case.affiliate.email} R$31.36" in row
    assert f"Cocreator {case.cocreator.email} R$5.82" in row
    assert "You (producer) R$52.42" in row
    assert reverse("products:sale_refund", args=[case.sale.pk]) in html


def test_producer_sees_reversals_after_a_partial_refund(client):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    html = html_of(client, case.producer)
    row = row_html(html, case.sale)

    assert "Partially refunded" in row and "R$50.00 returned" in row
    assert "Platform fee R$5.20 -R$5.20 reversed (was R$10.40)" in row
    assert f"{case.affiliate.email} R$15.68 -R$15.68 reversed (was R$31.36)" in row
    assert f"{case.cocreator.email} R$2.91 -R$2.91 reversed (was R$5.82)" in row
    assert "You (producer) R$26.21 -R$26.21 reversed (was R$52.42)" in row
    # Something is left to refund: the link stays.
    assert reverse("products:sale_refund", args=[case.sale.pk]) in html


def test_no_refund_link_once_everything_is_refunded(client):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer)
    html = html_of(client, case.producer)
    assert "Refunded" in row_html(html, case.sale)
    assert reverse("products:sale_refund", args=[case.sale.pk]) not in html


def test_producer_sees_direct_sales_and_only_counted_ones(client):
    case = worked_case()
    direct = SaleFactory(product=case.product, paid=True)
    pending = SaleFactory(product=case.product)
    html = html_of(client, case.producer)

    assert "Direct" in row_html(html, direct)
    assert f'id="sale-{pending.pk}"' not in html
    # Newest first.
    assert html.index(f'id="sale-{direct.pk}"') < html.index(f'id="sale-{case.sale.pk}"')


def test_producer_pages_fifty_sales_at_a_time(client):
    case = worked_case()
    paid_sales(case, 50)

    first = html_of(client, case.producer)
    second = html_of(client, case.producer, page=2)
    assert first.count('<tr id="sale-') == 50
    assert second.count('<tr id="sale-') == 1
    assert "51 sales" in text(first) and "page 1 of 2" in text(first)
    assert f'id="sale-{case.sale.pk}"' in second  # the oldest, on the last page


def test_another_producer_sees_none_of_it(client):
    case = worked_case()
    other = ProductFactory().producer
    for role in ("producer", "cocreator", "affiliate"):
        html = html_of(client, other, role=role)
        assert f'id="sale-{case.sale.pk}"' not in html
        assert case.product.name not in html
    # Naming someone else's product in the filter shows nothing of it either.
    html = html_of(client, other, role="producer", product=case.product.pk)
    assert case.product.name not in html and case.sale.buyer.email not in html


# --------------------------------------------------------------------- cocreator's history


def test_cocreator_sees_sales_with_only_their_own_share(client):
    case = worked_case()
    second = UserFactory(validated=True)
    co_produce(case.product, second, "5")
    sale = SaleFactory(product=case.product, affiliation=case.affiliation, paid=True)

    html = html_of(client, case.cocreator)
    row = row_html(html, sale)
    assert case.product.name in row and "R$100.00" in row and "Affiliate" in row
    assert "R$5.82 R$0.00 R$5.82" in row
    # Not the buyer, the affiliate, the other cocreator, nor anybody's money.
    assert sale.buyer.email not in html and case.affiliate.email not in html
    assert second.email not in html
    for amount in ("R$2.91", "R$31.36", "R$10.40", "R$49.51"):
        assert amount not in row
    # The second cocreator sees their own 5 % of the same sale, and 0 on the earlier one.
    html = html_of(client, second)
    assert "R$2.91 R$0.00 R$2.91" in row_html(html, sale)
    assert "R$0.00 R$0.00 R$0.00" in row_html(html, case.sale)


def test_cocreator_sees_the_partial_refund_of_their_share(client):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    row = row_html(html_of(client, case.cocreator), case.sale)
    assert "Partially refunded" in row
    assert "R$5.82 -R$2.91 R$2.91" in row


def test_cocreator_sees_only_products_they_co_produce(client):
    case = worked_case()
    producer = case.producer
    uncovered = SaleFactory(product=ProductFactory(producer=producer, name="Solo"), paid=True)
    declined_product = ProductFactory(producer=producer, name="Declined one")
    contract = contract_invite(**_invite(declined_product, case.cocreator))
    contract_decline(contract=contract, actor=case.cocreator)
    declined = SaleFactory(product=declined_product, paid=True)
    pending_product = ProductFactory(producer=producer, name="Still pending")
    contract_invite(**_invite(pending_product, case.cocreator))
    pending = SaleFactory(product=pending_product, paid=True)
    elsewhere = worked_case()  # someone else's co-production

    response = get(client, case.cocreator, role="cocreator")
    html = response.content.decode()
    assert [p.name for p in response.context["products"]] == [case.product.name]
    assert f'id="sale-{case.sale.pk}"' in html
    for sale in (uncovered, declined, pending, elsewhere.sale):
        assert f'id="sale-{sale.pk}"' not in html
        assert sale.product.name not in html
    # Asking for a declined product by id gives the unfiltered list, not its sales.
    html = html_of(client, case.cocreator, role="cocreator", product=declined_product.pk)
    assert f'id="sale-{declined.pk}"' not in html
    assert [row[1] for row in csv_rows(client, case.cocreator, role="cocreator")[1:]] == [
        str(case.sale.pk)
    ]


def _invite(product, cocreator) -> dict:
    return {
        "product": product,
        "actor": product.producer,
        "cocreator_email": cocreator.email,
        "role": "expert",
        "coproduction_model": "revenue_share",
        "automatic_sales_recovery": False,
        "terms_accepted": True,
        "end_date": None,
        "sales_scope": "all",
        "all_affiliates": True,
        "affiliates": [],
        "commission_percent": 10,
        "affiliate_commission_percent": None,
    }


def test_cocreator_keeps_seeing_a_product_after_the_contract_ended(client):
    case = worked_case()
    Contract.objects.filter(pk=case.contract.pk).update(status=Contract.Status.ENDED)
    later = SaleFactory(product=case.product, paid=True)

    html = html_of(client, case.cocreator, role="cocreator")
    assert "R$5.82 R$0.00 R$5.82" in row_html(html, case.sale)
    assert "R$0.00 R$0.00 R$0.00" in row_html(html, later)


# --------------------------------------------------------------------- affiliate's history


def test_affiliate_sees_their_sales_and_commission_only(client):
    case = worked_case()
    direct = SaleFactory(product=case.product, paid=True)
    other_affiliate = AffiliationFactory(product=case.product, approved=True)
    theirs = SaleFactory(product=case.product, affiliation=other_affiliate, paid=True)
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)

    html = html_of(client, case.affiliate)
    assert "R$31.36 -R$15.68 R$15.68" in row_html(html, case.sale)
    for sale in (direct, theirs):
        assert f'id="sale-{sale.pk}"' not in html
    assert case.sale.buyer.email not in html and case.cocreator.email not in html
    assert "R$52.42" not in html and "R$5.82" not in html


# ---------------------------------------------------------------------- filter and partial


def test_product_filter_narrows_the_list(client):
    case = worked_case()
    other = SaleFactory(product=ProductFactory(producer=case.producer, name="Other"), paid=True)

    html = html_of(client, case.producer, product=case.product.pk)
    assert f'id="sale-{case.sale.pk}"' in html and f'id="sale-{other.pk}"' not in html
    assert f'<option value="{case.product.pk}" selected>' in html
    html = html_of(client, case.producer, product="nonsense")
    assert f'id="sale-{case.sale.pk}"' in html and f'id="sale-{other.pk}"' in html


def test_htmx_filter_returns_only_the_partial(client):
    case = worked_case()
    other = SaleFactory(product=ProductFactory(producer=case.producer, name="Other"), paid=True)
    client.force_login(case.producer)

    response = client.get(SALES, {"role": "producer", "product": other.product.pk}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="sales-table"')
    assert "<html" not in html and 'class="tabs"' not in html and "<select" not in html
    assert f'id="sale-{other.pk}"' in html and f'id="sale-{case.sale.pk}"' not in html
    assert f"{CSV}?role=producer&amp;product={other.product.pk}" in html


def test_page_without_htmx_has_the_filter_form_that_works_without_js(client):
    case = worked_case()
    html = html_of(client, case.producer)
    assert f'<form class="filter-bar" method="get" action="{SALES}"' in html
    assert 'hx-target="#sales-table"' in html and 'name="role" value="producer"' in html
    assert '<button type="submit"' in html


# ------------------------------------------------------------------------------------- CSV


def test_producer_csv_streams_the_same_rows_as_the_page(client):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    direct = SaleFactory(product=case.product, paid=True)

    response = get(client, case.producer, CSV, role="producer")
    assert response.streaming is True
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="sales-producer-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["paid_at", "sale", "product", "buyer_email"]
    assert [row[1] for row in rows[1:]] == [str(direct.pk), str(case.sale.pk)]
    refunded = dict(zip(rows[0], rows[2], strict=True))
    assert refunded == {
        "paid_at": case.sale.paid_at.isoformat(),
        "sale": str(case.sale.pk),
        "product": case.product.name,
        "buyer_email": case.sale.buyer.email,
        "channel": "affiliate",
        "affiliate_email": case.affiliate.email,
        "currency": "BRL",
        "amount": "100.00",
        "status": "partially_refunded",
        "reversed": "-50.00",
        "platform_fee_net": "5.20",
        "affiliate_net": "15.68",
        "cocreators": f"{case.cocreator.email} 2.91",
        "cocreators_net": "2.91",
        "producer_net": "26.21",
    }
    assert dict(zip(rows[0], rows[1], strict=True))["channel"] == "direct"


def test_the_excel_variant_opens_as_columns_in_portuguese_and_spanish_spreadsheets(client):
    """UTF-8 BOM, ';' between fields, decimal comma, and times in the viewer's zone."""
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    type(case.producer).objects.filter(pk=case.producer.pk).update(time_zone="America/Sao_Paulo")
    case.producer.refresh_from_db()

    response = get(client, case.producer, CSV, role="producer", format="excel")

    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffpaid_at;sale;product;")
    assert response["Content-Disposition"].endswith('-excel.csv"')
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    refunded = dict(zip(rows[0], rows[1], strict=True))
    assert refunded["amount"] == "100,00"
    assert refunded["reversed"] == "-50,00"
    assert refunded["producer_net"] == "26,21"
    local = timezone.localtime(case.sale.paid_at, ZoneInfo("America/Sao_Paulo"))
    assert refunded["paid_at"] == local.strftime("%Y-%m-%d %H:%M")


def test_cocreator_and_affiliate_csv_hold_only_their_share(client):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)

    rows = csv_rows(client, case.cocreator, role="cocreator")
    assert rows[0] == [
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
    ]
    assert rows[1][1:] == [
        str(case.sale.pk),
        case.product.name,
        "affiliate",
        "BRL",
        "100.00",
        "partially_refunded",
        "5.82",
        "-2.91",
        "2.91",
    ]
    body = "\n".join(",".join(r) for r in rows)
    assert case.sale.buyer.email not in body and case.affiliate.email not in body

    rows = csv_rows(client, case.affiliate, role="affiliate")
    assert rows[1][1:] == [
        str(case.sale.pk),
        case.product.name,
        "BRL",
        "100.00",
        "partially_refunded",
        "31.36",
        "-15.68",
        "15.68",
    ]


def test_csv_of_someone_with_nothing_is_just_the_header(client):
    worked_case()
    for role in ("producer", "cocreator", "affiliate"):
        rows = csv_rows(client, UserFactory(), role=role)
        assert len(rows) == 1 and rows[0][0] == "paid_at"


def test_csv_keeps_spreadsheets_from_running_formulas(client):
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, name="=HYPERLINK(1)")
    SaleFactory(product=product, paid=True)
    rows = csv_rows(client, producer, role="producer")
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_csv_follows_the_product_filter(client):
    case = worked_case()
    other = SaleFactory(product=ProductFactory(producer=case.producer, name="Other"), paid=True)
    rows = csv_rows(client, case.producer, role="producer", product=other.product.pk)
    assert [row[1] for row in rows[1:]] == [str(other.pk)]


# -------------------------------------------------------------------------- query counts


def _page_queries(client, user, **params) -> tuple[int, str]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(SALES, params)
        assert response.status_code == 200
    return len(queries), response.content.decode()


def _csv_queries(client, user, **params) -> tuple[int, int]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CSV, params)
        body = b"".join(response.streaming_content).decode()
    return len(queries), len(body.splitlines())


@pytest.mark.parametrize("role", ["producer", "cocreator", "affiliate"])
def test_queries_do_not_grow_with_sales(client, role):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    user = {"producer": case.producer, "cocreator": case.cocreator, "affiliate": case.affiliate}[
        role
    ]
    few, html = _page_queries(client, user, role=role)
    few_csv, lines = _csv_queries(client, user, role=role)
    assert html.count('<tr id="sale-') == 1 and lines == 2

    paid_sales(case, 49)
    many, html = _page_queries(client, user, role=role)
    many_csv, lines = _csv_queries(client, user, role=role)
    assert html.count('<tr id="sale-') == 50 and lines == 51

    assert many == few
    assert many_csv == few_csv
    assert many <= 10 and many_csv <= 8
