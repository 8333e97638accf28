"""Who may open each buying screen (every URL served by products.views.sales): anonymous people
go to the login page, other buyers and other producers get a 404, the owner gets the page."""

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse

from products import urls as product_urls
from products.models import Sale
from tests.factories import ProductFactory, SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

BUYER, PRODUCER, ANYONE = "buyer", "producer", "anyone"


def _product(w):
    return {"pk": w.sale.product.pk}


def _sale(w):
    return {"pk": w.sale.pk}


def _none(w):
    return {}


# url name, kwargs, method, data, whose screen it is, status for its owner
ROUTES = [
    ("products:checkout", _product, "get", None, ANYONE, 200),
    ("products:purchases", _none, "get", None, BUYER, 200),
    ("products:purchase", _sale, "get", None, BUYER, 200),
    ("products:purchase_refund", _sale, "get", None, BUYER, 200),
    ("products:slip", _sale, "get", None, BUYER, 200),
    ("products:purchase_refund", _sale, "post", {}, BUYER, 302),
    ("products:sale_refund", _sale, "get", None, PRODUCER, 200),
    ("products:sale_refund", _sale, "post", {"amount": "10.00"}, PRODUCER, 302),
]
SCOPED = [route for route in ROUTES if route[0] not in ("products:checkout", "products:purchases")]


def route_id(route) -> str:
    return f"{route[0].split(':')[1]}-{route[2]}"


@pytest.fixture
def world():
    sale = SaleFactory(paid=True, product=ProductFactory())
    return SimpleNamespace(sale=sale, buyer=sale.buyer, producer=sale.product.producer)


def call(client, route, world):
    name, kwargs, method, data, _, _ = route
    url = reverse(name, kwargs=kwargs(world))
    return url, getattr(client, method)(url, data or {})


def test_the_table_lists_every_url_of_the_sales_views():
    served = {
        f"products:{pattern.name}"
        for pattern in product_urls.urlpatterns
        if pattern.callback.__module__ == "products.views.sales"
    }

    assert served == {route[0] for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_anonymous_people_are_sent_to_log_in(client, world, route):
    url, response = call(client, route, world)

    assert response.status_code == 302
    assert response.url == f"{reverse(settings.LOGIN_URL)}?next={url}"
    world.sale.refresh_from_db()
    assert world.sale.status == Sale.Status.PAID


@pytest.mark.parametrize("route", [r for r in SCOPED if r[4] == BUYER], ids=route_id)
@pytest.mark.parametrize("who", ["another buyer", "the producer"])
def test_only_the_buyer_sees_a_purchase(client, world, route, who):
    other = SaleFactory(paid=True).buyer if who == "another buyer" else world.producer
    client.force_login(other)

    _, response = call(client, route, world)

    assert response.status_code == 404
    world.sale.refresh_from_db()
    assert (world.sale.status, world.sale.refunded_minor) == (Sale.Status.PAID, 0)


@pytest.mark.parametrize("route", [r for r in SCOPED if r[4] == PRODUCER], ids=route_id)
@pytest.mark.parametrize("who", ["another producer", "the buyer", "a staff member"])
def test_only_the_producer_refunds_from_the_sales_screen(client, world, route, who):
    other = {
        "another producer": SaleFactory(paid=True).product.producer,
        "the buyer": world.buyer,
        "a staff member": UserFactory(is_staff=True),  # admins refund from the admin
    }[who]
    client.force_login(other)

    _, response = call(client, route, world)

    assert response.status_code == 404
    world.sale.refresh_from_db()
    assert (world.sale.status, world.sale.refunded_minor) == (Sale.Status.PAID, 0)


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_the_owner_gets_the_screen(client, world, route):
    owner = world.producer if route[4] == PRODUCER else world.buyer
    client.force_login(owner)

    _, response = call(client, route, world)

    assert response.status_code == route[5]


def test_someone_elses_purchases_are_not_in_my_list(client, world):
    client.force_login(SaleFactory(paid=True).buyer)

    response = client.get(reverse("products:purchases"))

    assert world.sale not in response.context["sales"]
    assert reverse("products:purchase", args=[world.sale.pk]) not in response.content.decode()


def test_a_pending_sale_is_not_on_the_producers_refund_screen(client):
    sale = SaleFactory()  # never paid
    client.force_login(sale.product.producer)

    response = client.get(reverse("products:sale_refund", args=[sale.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["products:purchase_refund", "products:sale_refund"])
def test_refund_screens_refuse_other_methods(client, world, name):
    client.force_login(world.producer if name == "products:sale_refund" else world.buyer)

    response = client.put(reverse(name, args=[world.sale.pk]))

    assert response.status_code == 405
