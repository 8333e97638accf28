"""Every list that can grow shows 50 rows a page and its count under them ("1 to 50 of 51",
with an en dash); page 2 shows the rest; the page links keep the list's filters; a page number
that is not one, or is out of range, shows the first or the last page; and a page costs as
many queries with 50 rows as with 1 (no N+1)."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Notification
from config.paginate import PAGE_SIZE
from tests.pagination import builders

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DASH = "\N{EN DASH}"

# (builder, the page's own page parameter, what marks one row of the list)
LISTS = {
    "my_products": (builders.my_products, "page", r"<tr>\s*<td><a href=\"/products/\d+/edit/\">"),
    "affiliates": (builders.affiliates, "page", r'<tr id="affiliation-\d+"'),
    "my_affiliations": (builders.my_affiliations, "page", r'<td><a href="/p/\d+/">'),
    "coproduction_index": (builders.coproduction_index, "page", r'<option value="\d+">Pg-'),
    "product_contracts": (builders.product_contracts, "page", r'<tr id="contract-\d+"'),
    "cocreator_confirmed": (builders.cocreator_confirmed, "page", r'<tr id="contract-\d+"'),
    "history_changes": (builders.history_changes, "page", r'<tr id="change-\d+"'),
    "history_events": (builders.history_events, "events_page", r"<li><time>"),
    "sales": (builders.sales, "page", r'<tr id="sale-\d+"'),
    "earnings_products": (builders.earnings_products, "product_page", r"<td><strong>Pg-"),
    "earnings_months": (builders.earnings_months, "month_page", r"<td>BRL</td>"),
    "inbox": (builders.inbox, "page", r'<li class="inbox-item'),
    "purchases": (builders.purchases, "page", r'href="/purchases/\d+/">Details</a>'),
    "subscribers": (builders.subscribers, "page", r'data-label="Subscriber"><strong>'),
    "my_subscriptions": (builders.my_subscriptions, "page", r'href="/subscriptions/\d+/">Details'),
    "subscription_charges": (
        builders.subscription_charges,
        "charges_page",
        r'<td data-label="#"><a href="/purchases/',
    ),
    "subscription_events": (builders.subscription_events, "events_page", r"<li><time>"),
}


def rows(html: str, marker: str) -> int:
    return len(re.findall(marker, html))


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def page_links(html: str) -> list[dict]:
    """The query of every link in the page's pagination navs."""
    found = []
    for nav in re.findall(r'<nav class="pagination".*?</nav>', html, re.S):
        for href in re.findall(r'href="([^"]+)"', nav):
            query = parse_qs(urlsplit(unescape(href)).query)
            found.append({key: values[0] for key, values in query.items()})
    return found


def get(client, built, **params):
    client.force_login(built.viewer)
    response = client.get(built.url, {**built.filters, **params})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture(params=list(LISTS))
def case(request):
    builder, param, marker = LISTS[request.param]
    return request.param, builder, param, marker


def test_page_one_shows_fifty_rows_the_count_and_a_link_to_page_two(client, case):
    _name, builder, param, marker = case
    built = builder(PAGE_SIZE + 1)

    html = get(client, built)

    assert rows(html, marker) == PAGE_SIZE
    assert f"1{DASH}50 of 51" in visible(html)
    assert "Page 1 of 2" in visible(html)
    to_second = [q for q in page_links(html) if q.get(param) == "2"]
    assert to_second, "no link to page 2"
    for query in to_second:
        # The filters travel with the page number.
        assert {k: query.get(k) for k in built.filters} == built.filters


def test_page_two_shows_the_rest_and_links_back(client, case):
    _name, builder, param, marker = case
    built = builder(PAGE_SIZE + 1)

    html = get(client, built, **{param: "2"})

    assert rows(html, marker) == 1
    assert f"51{DASH}51 of 51" in visible(html)
    back = [q for q in page_links(html) if param not in q or q[param] == "1"]
    back = [q for q in back if {k: q.get(k) for k in built.filters} == built.filters]
    assert back, "no link back to page 1 that keeps the filters"


@pytest.mark.parametrize(
    "number,shown",
    [("abc", 1), ("", 1), ("0", 1), ("-3", 1), ("1.5", 1), ("9" * 30, 2), ("99", 2)],
)
def test_a_bad_or_out_of_range_page_number_shows_the_first_or_last_page(
    client, case, number, shown
):
    _name, builder, param, marker = case
    built = builder(PAGE_SIZE + 1)

    html = get(client, built, **{param: number})

    assert rows(html, marker) == (PAGE_SIZE if shown == 1 else 1)
    assert f"Page {shown} of 2" in visible(html)


def queries(client, built) -> tuple[int, str]:
    client.force_login(built.viewer)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(built.url, built.filters)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_a_page_costs_the_same_queries_with_one_row_and_with_fifty(client, case):
    _name, builder, _param, marker = case
    one, html_one = queries(client, builder(1))
    fifty, html_fifty = queries(client, builder(PAGE_SIZE))

    # Both drew their rows (not an empty list) and no page link (one page each).
    assert (rows(html_one, marker), rows(html_fifty, marker)) == (1, PAGE_SIZE)
    assert f"1{DASH}50 of 50" in visible(html_fifty) and "Page 1 of" not in visible(html_fifty)
    assert fifty == one, (one, fifty)


def test_counts_are_in_the_readers_language(client):
    built = builders.inbox(1)
    built.viewer.language = "pt-br"
    built.viewer.save(update_fields=["language"])
    client.force_login(built.viewer)
    Notification.objects.bulk_create(
        Notification(recipient=built.viewer, kind=Notification.Kind.RECEIPT, key=f"r{i}")
        for i in range(1200)
    )
    with translation.override("pt-br"):
        html = client.get(built.url, {"page": "24"}, HTTP_ACCEPT_LANGUAGE="pt-br").content
    text = visible(html.decode())
    # 1,202 rows: page 24 holds rows 1,151 to 1,200, in Portuguese digits.
    assert f"1.151{DASH}1.200" in text and "1.202" in text, text[text.find("Página") - 80 :]


def test_sales_page_links_swap_the_table_over_htmx(client):
    built = builders.sales(PAGE_SIZE + 1)
    client.force_login(built.viewer)

    response = client.get(built.url, {**built.filters, "page": "2"}, **HTMX)
    html = response.content.decode()

    assert html.lstrip().startswith('<section id="sales-table"')
    assert 'hx-target="#sales-table"' in html and 'rel="prev"' in html
    assert rows(html, r'<tr id="sale-\d+"') == 1


def test_resending_an_invitation_on_page_two_comes_back_to_page_two(client):
    built = builders.product_contracts(PAGE_SIZE + 1)
    client.force_login(built.viewer)
    html = client.get(built.url, {"page": "2"}).content.decode()
    action = re.search(r'hx-post="([^"]+/resend/[^"]*)"', html).group(1)

    assert action.endswith("?page=2")
    answer = client.post(unescape(action), **HTMX).content.decode()
    assert rows(answer, r'<tr id="contract-\d+"') == 1
    assert f"51{DASH}51 of 51" in visible(answer)
    # Its links go to the product's page, not to the resend address it was posted to.
    assert f'href="{built.url}"' in answer


def test_a_subscribers_row_shows_its_latest_twelve_charges_oldest_of_them_first(client):
    """A subscriber's row grows with every charge: it shows the latest RECENT_CHARGES only
    (the buyer's own page lists them all, a page at a time)."""
    from subscriptions.selectors import RECENT_CHARGES

    subscription = builders._subscription_with_charges(20)
    client.force_login(subscription.product.producer)

    html = client.get(f"/products/{subscription.product_id}/subscribers/").content.decode()

    shown = [int(n) for n in re.findall(r'class="badge badge-recurrence-paid"[^>]*>#(\d+) ', html)]
    assert RECENT_CHARGES == 12
    assert shown == list(range(9, 21))
