"""Database constraints on products, plans and affiliations hold even when a service is bypassed."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from products.models import Affiliation, Plan, Product
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {"price_minor": 0},
        {"price_minor": -100},
        {"price_minor": 1000, "promo_first_price_minor": 1000},
        {"price_minor": 1000, "promo_first_price_minor": 1001},
        {"price_minor": 1000, "promo_first_price_minor": -1},
        {"installments": 0},
    ],
    ids=["price-0", "price-negative", "promo-equal", "promo-above", "promo-negative", "inst-0"],
)
def test_a_plan_breaking_a_constraint_is_refused(fields):
    product = ProductFactory(subscription=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        PlanFactory(product=product, **fields)

    assert not Plan.objects.exists()


def test_a_plan_with_a_free_first_installment_is_allowed():
    plan = PlanFactory(price_minor=1000, promo_first_price_minor=0, installments=1)

    plan.refresh_from_db()
    assert plan.promo_first_price_minor == 0


@pytest.mark.parametrize("price_minor", [None, 0, -1])
def test_a_one_time_product_needs_a_positive_price(price_minor):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(kind=Product.Kind.ONE_TIME, price_minor=price_minor)

    assert not Product.objects.exists()


def test_a_subscription_product_needs_no_price():
    product = ProductFactory(subscription=True)

    product.refresh_from_db()
    assert product.price_minor is None


@pytest.mark.parametrize("percent", ["-1", "80.01"])
def test_a_product_default_affiliate_percent_stays_in_range(percent):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(affiliate_commission_percent=Decimal(percent))

    assert not Product.objects.exists()


@pytest.mark.parametrize("percent", ["0", "81", "-5"])
def test_an_affiliation_percent_outside_0_to_80_is_refused(percent):
    product = ProductFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliationFactory(product=product, commission_percent=Decimal(percent))

    assert not Affiliation.objects.exists()


@pytest.mark.parametrize("percent", ["0.01", "80"])
def test_an_affiliation_percent_at_the_bounds_is_allowed(percent):
    affiliation = AffiliationFactory(commission_percent=Decimal(percent))

    affiliation.refresh_from_db()
    assert affiliation.commission_percent == Decimal(percent)


def test_one_affiliation_per_product_and_user():
    existing = AffiliationFactory(refused=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliationFactory(product=existing.product, affiliate=existing.affiliate)

    assert Affiliation.objects.count() == 1


def test_affiliation_codes_are_unique():
    existing = AffiliationFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliationFactory(code=existing.code)

    assert Affiliation.objects.count() == 1


def test_affiliate_link_points_at_the_public_page_with_the_code():
    affiliation = AffiliationFactory()

    assert affiliation.link.endswith(f"/p/{affiliation.product.pk}/?a={affiliation.code}")
