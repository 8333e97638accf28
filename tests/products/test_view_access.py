"""Who may open each products screen: anonymous, unvalidated, another producer, the owner."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from products.models import Affiliation
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PUBLIC, LOGIN, VALIDATED = "public", "login", "validated"


def _none(w):
    return {}


def _product(w):
    return {"pk": w.product.pk}


def _plan(w):
    return {"pk": w.product.pk, "plan_pk": w.plan.pk}


def _affiliation(w):
    return {"pk": w.product.pk, "affiliation_pk": w.affiliation.pk}


def _decide(w):
    return {**_affiliation(w), "action": "approve"}


# url name, url kwargs, method, POST data, guard, scoped to the owner's objects, owner's status
ROUTES = [
    ("products:my_products", _none, "get", None, LOGIN, False, 200),
    ("products:create", _none, "get", None, VALIDATED, False, 200),
    ("products:edit", _product, "get", None, VALIDATED, True, 200),
    ("products:plans", _product, "get", None, VALIDATED, True, 200),
    ("products:plan_edit", _plan, "get", None, VALIDATED, True, 200),
    ("products:affiliates", _product, "get", None, VALIDATED, True, 200),
    (
        "products:affiliation_commission",
        _affiliation,
        "post",
        {"commission_percent": "25"},
        VALIDATED,
        True,
        302,
    ),
    ("products:affiliation_decide", _decide, "post", {}, VALIDATED, True, 302),
    ("products:public", _product, "get", None, PUBLIC, False, 200),
    ("products:affiliation_request", _product, "post", {}, VALIDATED, False, 302),
    ("products:my_affiliations", _none, "get", None, LOGIN, False, 200),
]
POST_ONLY = [
    "products:affiliation_commission",
    "products:affiliation_decide",
    "products:affiliation_request",
]


def route_id(route) -> str:
    return route[0].split(":")[1]


def routes(predicate):
    return pytest.mark.parametrize("route", [r for r in ROUTES if predicate(r)], ids=route_id)


@pytest.fixture
def world():
    owner = UserFactory(validated=True)
    product = ProductFactory(producer=owner, subscription=True)
    return SimpleNamespace(
        owner=owner,
        product=product,
        plan=PlanFactory(product=product),
        affiliation=AffiliationFactory(product=product),
    )


def call(client, route, w):
    name, kwargs, method, data, *_ = route
    url = reverse(name, kwargs=kwargs(w))
    return url, getattr(client, method)(url, data or {})


def test_the_table_lists_every_catalog_url():
    """Every products URL served by the catalog views (sales and earnings views have their own
    access table in tests/sales/)."""
    from products.urls import urlpatterns
    from products.views import catalog

    names = {f"products:{p.name}" for p in urlpatterns if p.callback.__module__ == catalog.__name__}
    assert names == {r[0] for r in ROUTES}


@routes(lambda r: r[4] != PUBLIC)
def test_anonymous_is_sent_to_login(client, world, route):
    url, response = call(client, route, world)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


@routes(lambda r: r[4] == PUBLIC)
def test_anonymous_sees_public_pages(client, world, route):
    _, response = call(client, route, world)

    assert response.status_code == 200


@routes(lambda r: r[4] == VALIDATED)
def test_an_unvalidated_user_gets_the_validation_required_page(client, world, route):
    client.force_login(UserFactory())

    _, response = call(client, route, world)

    assert response.status_code == 403
    assert "accounts/validation_required.html" in [t.name for t in response.templates]
    assert b"Your account needs to be validated first" in response.content
    world.affiliation.refresh_from_db()
    assert world.affiliation.status == Affiliation.Status.PENDING


@routes(lambda r: r[4] == LOGIN)
def test_an_unvalidated_user_may_open_login_only_pages(client, world, route):
    client.force_login(UserFactory())

    _, response = call(client, route, world)

    assert response.status_code == 200


@routes(lambda r: r[5])
def test_another_producer_gets_404_for_the_owners_objects(client, world, route):
    client.force_login(UserFactory(validated=True))

    _, response = call(client, route, world)

    assert response.status_code == 404
    world.affiliation.refresh_from_db()
    assert world.affiliation.status == Affiliation.Status.PENDING
    assert world.affiliation.commission_percent == 30


@routes(lambda r: True)
def test_the_owner_gets_through(client, world, route):
    client.force_login(world.owner)

    _, response = call(client, route, world)

    assert response.status_code == route[6]


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_views_refuse_get(client, world, name):
    route = next(r for r in ROUTES if r[0] == name)
    client.force_login(world.owner)

    response = client.get(reverse(name, kwargs=route[1](world)))

    assert response.status_code == 405
    world.affiliation.refresh_from_db()
    assert world.affiliation.status == Affiliation.Status.PENDING


def test_the_owner_sees_their_product_on_each_screen(client, world):
    client.force_login(world.owner)

    for name, kwargs in [
        ("products:my_products", {}),
        ("products:edit", _product(world)),
        ("products:plans", _product(world)),
        ("products:affiliates", _product(world)),
    ]:
        response = client.get(reverse(name, kwargs=kwargs))
        assert world.product.name in response.content.decode(), name


def test_my_products_lists_only_my_products(client, world):
    mine = ProductFactory(producer=world.owner, name="Mine")
    ProductFactory(name="Somebody else's")
    client.force_login(world.owner)

    response = client.get(reverse("products:my_products"))

    assert list(response.context["products"]) == [mine, world.product]
    assert b"Somebody else" not in response.content


def test_plans_of_a_one_time_product_send_the_owner_to_the_product_form(client, world):
    product = ProductFactory(producer=world.owner)
    client.force_login(world.owner)

    response = client.get(reverse("products:plans", args=[product.pk]), follow=True)

    assert response.redirect_chain == [(reverse("products:edit", args=[product.pk]), 302)]
    assert b"Plans are for subscription products." in response.content


def test_another_producers_plan_under_my_product_is_404(client, world):
    mine = ProductFactory(producer=world.owner, subscription=True)
    client.force_login(world.owner)

    response = client.get(reverse("products:plan_edit", args=[mine.pk, world.plan.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("products:affiliation_commission", {}),
        ("products:affiliation_decide", {"action": "approve"}),
    ],
)
def test_another_producers_affiliation_under_my_product_is_404(client, world, name, extra):
    me = UserFactory(validated=True)
    mine = ProductFactory(producer=me)
    client.force_login(me)

    response = client.post(
        reverse(name, kwargs={"pk": mine.pk, "affiliation_pk": world.affiliation.pk, **extra}),
        {"commission_percent": "10"},
    )

    assert response.status_code == 404
    world.affiliation.refresh_from_db()
    assert world.affiliation.status == Affiliation.Status.PENDING
    assert world.affiliation.commission_percent == 30


def test_an_inactive_products_public_page_is_404(client):
    product = ProductFactory(is_active=False)

    response = client.get(reverse("products:public", args=[product.pk]))

    assert response.status_code == 404


def test_a_validated_user_requests_an_affiliation_from_the_public_page(
    client, world, django_capture_on_commit_callbacks
):
    user = UserFactory(validated=True)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("products:affiliation_request", args=[world.product.pk]), follow=True
        )

    assert response.redirect_chain == [(reverse("products:public", args=[world.product.pk]), 302)]
    assert b"Your request was sent to the producer." in response.content
    assert world.product.affiliations.get(affiliate=user).status == Affiliation.Status.PENDING
    assert b"Request pending" in response.content


def test_the_producer_cannot_request_their_own_affiliation(client, world):
    client.force_login(world.owner)

    response = client.post(
        reverse("products:affiliation_request", args=[world.product.pk]), follow=True
    )

    assert b"you cannot be its affiliate" in response.content
    assert not world.product.affiliations.filter(affiliate=world.owner).exists()


def test_my_affiliations_shows_the_link_once_approved(client):
    affiliation = AffiliationFactory(approved=True)
    pending = AffiliationFactory(affiliate=affiliation.affiliate)
    client.force_login(affiliation.affiliate)

    response = client.get(reverse("products:my_affiliations"))

    content = response.content.decode()
    assert affiliation.link in content
    assert pending.product.name in content
    assert pending.code not in content
