"""Every page a producer, a cocreator and a buyer use costs the same number of queries with 1
and with 50 rows of its data (the pages `make bench-web` loads): no query runs once per row.
zeal (config/settings/test.py) also fails any of them that repeats a query per object."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.perf.builders import World, world

pytestmark = pytest.mark.django_db

# (name, who, URL from the world, whether the page lists more with 50 rows than with 1)
PAGES = [
    ("subscribers", "producer", lambda w: reverse("subscriptions:subscribers", args=[w.club.pk])),
    ("sales", "producer", lambda w: reverse("products:sales")),
    ("sales_cocreator", "cocreator", lambda w: reverse("products:sales") + "?role=cocreator"),
    ("earnings", "producer", lambda w: reverse("products:earnings")),
    ("earnings_cocreator", "cocreator", lambda w: reverse("products:earnings")),
    ("invite", "producer", lambda w: reverse("coproduction:invite", args=[w.course.pk])),
    ("coproductions", "producer", lambda w: reverse("coproduction:index")),
    ("contracts", "producer", lambda w: reverse("coproduction:product", args=[w.course.pk])),
    ("cocreator_list", "cocreator", lambda w: reverse("coproduction:cocreator") + "?tab=confirmed"),
    ("history", "cocreator", lambda w: reverse("coproduction:history", args=[w.contract.pk])),
    ("purchases", "buyer", lambda w: reverse("products:purchases")),
    ("my_subscriptions", "buyer", lambda w: reverse("subscriptions:mine")),
    ("public", "buyer", lambda w: reverse("products:public", args=[w.course.pk])),
    ("checkout", "buyer", lambda w: reverse("products:checkout", args=[w.course.pk])),
    ("dashboard_producer", "producer", lambda w: reverse("dashboard")),
    ("dashboard_cocreator", "cocreator", lambda w: reverse("dashboard")),
    ("dashboard_buyer", "buyer", lambda w: reverse("dashboard")),
    ("inbox", "producer", lambda w: reverse("accounts:inbox")),
    ("balance", "producer", lambda w: reverse("coproduction:balance")),
    ("balance_cocreator", "cocreator", lambda w: reverse("coproduction:balance")),
    ("statements", "producer", lambda w: reverse("coproduction:statement")),
    ("statements_cocreator", "cocreator", lambda w: reverse("coproduction:statement")),
]
# Pages about one thing, whose size does not depend on the number of rows.
FIXED_SIZE = {"public", "checkout", "invite", "balance", "balance_cocreator"}


def load(client, built: World, who: str, url) -> tuple[int, str]:
    """The queries of the second request (the first one fills the per-process caches)."""
    client.force_login(built.person(who))
    path = url(built)
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries), response.content.decode()


@pytest.mark.parametrize(("name", "who", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_queries_do_not_grow_with_rows(client, name, who, url):
    one, html_one = load(client, world(1), who, url)
    fifty, html_fifty = load(client, world(50), who, url)

    assert fifty == one, f"{name}: {one} queries with 1 row, {fifty} with 50"
    if name not in FIXED_SIZE:
        # The 50 rows were really drawn (a page that stopped listing them would pass above).
        assert len(html_fifty) > len(html_one) + 2000, name


def test_every_page_of_the_benchmark_is_counted():
    """The benchmark's pages and these are the same list (bench-web loads a few twice, as
    two people)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_web.py"
    source = path.read_text()
    for route in [
        "subscriptions:subscribers",
        "products:sales",
        "products:earnings",
        "coproduction:invite",
        "coproduction:index",
        "coproduction:product",
        "coproduction:cocreator",
        "coproduction:history",
        "products:purchases",
        "subscriptions:mine",
        "products:public",
        "products:checkout",
        "dashboard",
        "accounts:inbox",
        "coproduction:balance",
        "coproduction:statement",
    ]:
        assert f'"{route}"' in source, route
        assert any(route in _route_of(page) for page in PAGES), route
    assert importlib.util.find_spec("zeal") is not None


def _route_of(page) -> str:
    import inspect

    return inspect.getsource(page[2])
