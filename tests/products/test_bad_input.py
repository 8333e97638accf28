"""Bad input on the producer screens: never a 500, a clear message, nothing changed."""

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from products.models import Affiliation, Plan, Product
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

PRODUCT_FORM = {
    "name": "Django for Producers",
    "description": "A course.",
    "kind": "one_time",
    "currency": "BRL",
    "price": "197.00",
    "affiliate_commission_percent": "30",
    "guarantee_days": "7",
    "is_active": "on",
}
PLAN_FORM = {
    "name": "Monthly",
    "periodicity": "monthly",
    "price": "49.90",
    "promo_first_price": "",
    "installments": "",
    "is_active": "on",
}


def text(response) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def producer(client):
    user = UserFactory(validated=True)
    client.force_login(user)
    return user


# Product form


def test_a_valid_product_form_creates_the_product_in_minor_units(client, producer):
    response = client.post(reverse("products:create"), {**PRODUCT_FORM, "price": "1234.5"})

    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.producer, product.price_minor, product.currency) == (producer, 123450, "BRL")


def test_a_subscription_product_goes_on_to_its_plans(client, producer):
    response = client.post(
        reverse("products:create"), {**PRODUCT_FORM, "kind": "subscription", "price": "99"}
    )

    product = Product.objects.get()
    assert response.url == reverse("products:plans", args=[product.pk])
    assert product.price_minor is None


BAD_PRODUCTS = [
    ({"name": ""}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"name": "x" * 121}, "Ensure this value has at most 120 characters (it has 121)."),
    ({"price": "abc"}, "Enter an amount such as 1,234.56."),
    ({"price": "-5"}, "Enter a price between R$5.00 and R$50,000.00."),
    ({"price": "0"}, "Enter a price between R$5.00 and R$50,000.00."),
    ({"price": "99999999"}, "Enter a price between R$5.00 and R$50,000.00."),
    ({"price": "99999999999"}, "Ensure that there are no more than 10 digits before the decimal"),
    ({"price": "1.234"}, "Ensure that there are no more than 2 decimal places."),
    ({"price": "NaN"}, "Enter an amount such as 1,234.56."),
    ({"price": ""}, "A one-time product needs a price."),
    ({"currency": "XYZ"}, "Select a valid choice. XYZ is not one of the available choices."),
    ({"kind": "lifetime"}, "Select a valid choice. lifetime is not one of the available choices."),
    ({"affiliate_commission_percent": "81"}, "Ensure this value is less than or equal to 80."),
    ({"guarantee_days": "61"}, "Ensure this value is less than or equal to 60."),
]
BAD_PRODUCT_IDS = [
    "empty-name",
    "blank-name",
    "long-name",
    "price-abc",
    "price-negative",
    "price-zero",
    "price-huge",
    "price-absurd",
    "price-3-decimals",
    "price-nan",
    "one-time-no-price",
    "currency",
    "kind",
    "affiliate-81",
    "guarantee-61",
]


@pytest.mark.parametrize(("change", "message"), BAD_PRODUCTS, ids=BAD_PRODUCT_IDS)
def test_a_bad_new_product_is_refused_with_a_message(client, producer, change, message):
    response = client.post(reverse("products:create"), {**PRODUCT_FORM, **change})

    assert response.status_code == 200
    assert message in text(response)
    assert not Product.objects.exists()


@pytest.mark.parametrize(("change", "message"), BAD_PRODUCTS, ids=BAD_PRODUCT_IDS)
def test_a_bad_product_edit_changes_nothing(client, producer, change, message):
    product = ProductFactory(producer=producer, name="Original", price_minor=19700)

    response = client.post(reverse("products:edit", args=[product.pk]), {**PRODUCT_FORM, **change})

    assert response.status_code == 200
    assert message in text(response)
    # The heading keeps the saved name even though the form is bound to the bad one.
    assert "<h1>Original</h1>" in response.content.decode()
    product.refresh_from_db()
    assert (product.name, product.price_minor, product.currency) == ("Original", 19700, "BRL")


def test_the_edit_form_shows_the_saved_price_in_major_units(client, producer):
    product = ProductFactory(producer=producer, price_minor=19750)

    response = client.get(reverse("products:edit", args=[product.pk]))

    assert response.context["form"]["price"].value() == Decimal("197.50")
    assert 'value="197.50"' in response.content.decode()


def test_a_valid_product_edit_saves(client, producer):
    product = ProductFactory(producer=producer, price_minor=100)

    response = client.post(
        reverse("products:edit", args=[product.pk]), {**PRODUCT_FORM, "price": "10.01"}
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.price_minor) == ("Django for Producers", 1001)


@pytest.mark.parametrize(
    "change", [{"currency": "USD"}, {"kind": "one_time", "price": "10"}], ids=["currency", "kind"]
)
def test_currency_and_kind_are_locked_once_a_product_has_plans(client, producer, change):
    product = ProductFactory(producer=producer, subscription=True, name="Club")
    PlanFactory(product=product)
    form = {**PRODUCT_FORM, "name": "Club", "kind": "subscription", "price": "", **change}

    response = client.post(reverse("products:edit", args=[product.pk]), form)

    assert response.status_code == 200
    assert "The currency and type cannot change once the product has plans." in text(response)
    product.refresh_from_db()
    assert (product.kind, product.currency) == (Product.Kind.SUBSCRIPTION, "BRL")


# Plan form


@pytest.fixture
def club(producer):
    return ProductFactory(producer=producer, subscription=True, name="Club")


BAD_PLANS = [
    ({"promo_first_price": "49.90"}, "The promotional price must be lower than the regular price."),
    ({"promo_first_price": "60"}, "The promotional price must be lower than the regular price."),
    ({"promo_first_price": "-1"}, "Enter 0 for a free first installment, or a price between"),
    ({"installments": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"installments": "500"}, "Ensure this value is less than or equal to 120."),
    ({"installments": "-1"}, "Ensure this value is greater than or equal to 1."),
    ({"installments": "two"}, "Enter a whole number."),
    ({"price": ""}, "This field is required."),
    ({"price": "0"}, "Enter a price between R$5.00 and R$50,000.00."),
    ({"price": "1.234"}, "Ensure that there are no more than 2 decimal places."),
    ({"name": ""}, "This field is required."),
    ({"periodicity": "daily"}, "Select a valid choice. daily is not one of the available choices."),
]
BAD_PLAN_IDS = [
    "promo-equal",
    "promo-above",
    "promo-negative",
    "installments-0",
    "installments-500",
    "installments-negative",
    "installments-text",
    "price-empty",
    "price-zero",
    "price-3-decimals",
    "name-empty",
    "periodicity",
]


@pytest.mark.parametrize(("change", "message"), BAD_PLANS, ids=BAD_PLAN_IDS)
def test_a_bad_new_plan_is_refused_with_a_message(client, club, change, message):
    response = client.post(reverse("products:plans", args=[club.pk]), {**PLAN_FORM, **change})

    assert response.status_code == 200
    assert message in text(response)
    assert not Plan.objects.exists()


@pytest.mark.parametrize(("change", "message"), BAD_PLANS, ids=BAD_PLAN_IDS)
def test_a_bad_new_plan_over_htmx_re_renders_the_panel(client, club, change, message):
    response = client.post(
        reverse("products:plans", args=[club.pk]), {**PLAN_FORM, **change}, **HTMX
    )

    assert response.status_code == 200
    assert 'id="plans-panel"' in response.content.decode()
    assert "<html" not in response.content.decode()
    assert message in text(response)
    assert not Plan.objects.exists()


@pytest.mark.parametrize(("change", "message"), BAD_PLANS, ids=BAD_PLAN_IDS)
def test_a_bad_plan_edit_changes_nothing(client, club, change, message):
    plan = PlanFactory(product=club, name="Saved", price_minor=4990, installments=12)

    response = client.post(
        reverse("products:plan_edit", args=[club.pk, plan.pk]), {**PLAN_FORM, **change}
    )

    assert response.status_code == 200
    assert message in text(response)
    assert "<h1>Saved</h1>" in response.content.decode()
    plan.refresh_from_db()
    assert (plan.name, plan.price_minor, plan.installments) == ("Saved", 4990, 12)


def test_a_plan_is_created_in_minor_units(client, club):
    response = client.post(
        reverse("products:plans", args=[club.pk]),
        {**PLAN_FORM, "price": "100", "promo_first_price": "0", "installments": "12"},
    )

    assert response.url == reverse("products:plans", args=[club.pk])
    plan = Plan.objects.get()
    assert (plan.product, plan.price_minor, plan.promo_first_price_minor, plan.installments) == (
        club,
        10000,
        0,
        12,
    )


def test_htmx_plan_create_returns_only_the_panel(client, club):
    response = client.post(reverse("products:plans", args=[club.pk]), PLAN_FORM, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="plans-panel"' in content
    assert "<html" not in content
    assert "R$49.90" in content
    assert "Plan “Monthly” added." in content
    # The form comes back empty, ready for the next plan.
    assert response.context["form"].is_bound is False
    assert Plan.objects.get().price_minor == 4990


def test_a_plan_edit_saves(client, club):
    plan = PlanFactory(product=club)

    response = client.post(
        reverse("products:plan_edit", args=[club.pk, plan.pk]),
        {**PLAN_FORM, "name": "Monthly plus", "price": "59.90"},
    )

    assert response.url == reverse("products:plans", args=[club.pk])
    plan.refresh_from_db()
    assert (plan.name, plan.price_minor) == ("Monthly plus", 5990)


def test_the_plan_edit_form_shows_prices_in_major_units(client, club):
    plan = PlanFactory(product=club, price_minor=4990, promo_first_price_minor=990)

    response = client.get(reverse("products:plan_edit", args=[club.pk, plan.pk]))

    form = response.context["form"]
    assert (form["price"].value(), form["promo_first_price"].value()) == (
        Decimal("49.90"),
        Decimal("9.90"),
    )


# Affiliation commission and decisions


@pytest.fixture
def affiliation(producer):
    return AffiliationFactory(product=ProductFactory(producer=producer), commission_percent=30)


def commission_url(affiliation) -> str:
    return reverse("products:affiliation_commission", args=[affiliation.product.pk, affiliation.pk])


def decide_url(affiliation, action: str) -> str:
    return reverse(
        "products:affiliation_decide", args=[affiliation.product.pk, affiliation.pk, action]
    )


BAD_COMMISSIONS = [
    ("abc", "Enter a number."),
    ("0", "Ensure this value is greater than or equal to 0.01."),
    ("81", "Ensure this value is less than or equal to 80."),
    ("-5", "Ensure this value is greater than or equal to 0.01."),
    ("", "This field is required."),
    ("1.234", "Ensure that there are no more than 2 decimal places."),
]


@pytest.mark.parametrize(("value", "message"), BAD_COMMISSIONS)
def test_a_bad_commission_changes_nothing_and_says_why(client, affiliation, value, message):
    response = client.post(commission_url(affiliation), {"commission_percent": value}, follow=True)

    assert response.redirect_chain == [
        (reverse("products:affiliates", args=[affiliation.product.pk]), 302)
    ]
    assert message in text(response)
    affiliation.refresh_from_db()
    assert affiliation.commission_percent == Decimal("30")


@pytest.mark.parametrize(("value", "message"), BAD_COMMISSIONS)
def test_a_bad_commission_over_htmx_returns_the_unchanged_row_and_the_error(
    client, affiliation, value, message
):
    response = client.post(commission_url(affiliation), {"commission_percent": value}, **HTMX)

    content = text(response)
    assert response.status_code == 200
    assert content.lstrip().startswith(f'<tr id="affiliation-{affiliation.pk}">')
    assert 'value="30.00"' in content
    assert message in content
    assert "<html" not in content
    affiliation.refresh_from_db()
    assert affiliation.commission_percent == Decimal("30")


def test_a_valid_commission_is_saved(client, affiliation):
    response = client.post(commission_url(affiliation), {"commission_percent": "42.5"}, **HTMX)

    assert text(response).lstrip().startswith(f'<tr id="affiliation-{affiliation.pk}">')
    assert "Commission saved." in text(response)
    affiliation.refresh_from_db()
    assert affiliation.commission_percent == Decimal("42.50")


def test_an_unknown_decision_is_404(client, affiliation):
    response = client.post(decide_url(affiliation, "promote"))

    assert response.status_code == 404
    affiliation.refresh_from_db()
    assert affiliation.status == Affiliation.Status.PENDING


def test_approving_over_htmx_returns_only_the_row(
    client, affiliation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide_url(affiliation, "approve"), **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith(f'<tr id="affiliation-{affiliation.pk}">')
    assert "<html" not in content
    assert "<table" not in content
    assert "Approved" in content
    assert "/revoke/" in content
    assert "/approve/" not in content
    affiliation.refresh_from_db()
    assert affiliation.status == Affiliation.Status.APPROVED


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("approve", Affiliation.Status.APPROVED),
        ("refuse", Affiliation.Status.REFUSED),
    ],
)
def test_a_decision_without_htmx_redirects_to_the_affiliates_page(
    client, affiliation, action, status
):
    response = client.post(decide_url(affiliation, action), follow=True)

    assert response.redirect_chain == [
        (reverse("products:affiliates", args=[affiliation.product.pk]), 302)
    ]
    assert f"{affiliation.affiliate.email} {status.label.lower()}." in text(response)
    affiliation.refresh_from_db()
    assert affiliation.status == status


def test_approving_an_approved_affiliation_is_an_error_and_changes_nothing(client, producer):
    affiliation = AffiliationFactory(product=ProductFactory(producer=producer), approved=True)
    decided_at = affiliation.decided_at

    response = client.post(decide_url(affiliation, "approve"), follow=True)

    assert "An affiliation that is approved cannot become approved." in text(response)
    affiliation.refresh_from_db()
    assert (affiliation.status, affiliation.decided_at) == (Affiliation.Status.APPROVED, decided_at)


def test_approving_an_approved_affiliation_over_htmx_shows_the_error(client, producer):
    affiliation = AffiliationFactory(product=ProductFactory(producer=producer), approved=True)

    response = client.post(decide_url(affiliation, "approve"), **HTMX)

    content = text(response)
    assert content.lstrip().startswith(f'<tr id="affiliation-{affiliation.pk}">')
    # The message travels out-of-band into #messages, outside the swapped row.
    assert '<div id="messages" class="messages" hx-swap-oob="true">' in content
    assert "An affiliation that is approved cannot become approved." in content
    affiliation.refresh_from_db()
    assert affiliation.status == Affiliation.Status.APPROVED


def test_revoking_a_pending_affiliation_is_an_error(client, affiliation):
    response = client.post(decide_url(affiliation, "revoke"), follow=True)

    assert "An affiliation that is pending approval cannot become revoked." in text(response)
    affiliation.refresh_from_db()
    assert affiliation.status == Affiliation.Status.PENDING
