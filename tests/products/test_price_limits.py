"""Prices lie between a minimum and a maximum per currency (settings), the minimum leaving the
producer a positive share after the platform fee; forms and services refuse the rest and say the
range (SPEC, Money; issue 8 finding 12)."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.exceptions import DomainError
from coproduction.split import PRODUCER, platform_fee_settings, split_amount
from products import services
from products.forms import PlanForm, ProductForm, RefundForm
from products.models import MAX_AFFILIATE_PERCENT, Plan, Product
from products.money import Currency, format_money, price_limits, to_major
from tests.factories import PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

CURRENCIES = list(Currency.values)
# The most the producer can give away: the largest affiliate commission, then cocreators up to
# the 70 % the contract rules allow.
COCREATORS_AT_MOST = Decimal("70")


def range_message(currency: str) -> str:
    low, high = price_limits(currency)
    return (
        f"Enter a price between {format_money(low, currency)} and {format_money(high, currency)}."
    )


def promo_message(currency: str) -> str:
    low, high = price_limits(currency)
    return (
        "Enter 0 for a free first installment, or a price between "
        f"{format_money(low, currency)} and {format_money(high, currency)}."
    )


def major(amount_minor: int, currency: str = "BRL") -> str:
    return str(to_major(amount_minor, currency))


def product_data(**overrides) -> dict:
    data = {
        "name": "Course",
        "description": "",
        "kind": "one_time",
        "currency": "BRL",
        "price": "197.00",
        "affiliate_commission_percent": "30",
        "guarantee_days": "7",
        "is_active": "on",
    }
    return {**data, **overrides}


def plan_data(**overrides) -> dict:
    data = {
        "name": "Monthly",
        "periodicity": "monthly",
        "price": "49.90",
        "promo_first_price": "",
        "installments": "",
        "is_active": "on",
    }
    return {**data, **overrides}


def one_time_fields(**overrides) -> dict:
    fields = {"name": "Course", "currency": "BRL", "kind": Product.Kind.ONE_TIME}
    return {**fields, **overrides}


# The limits themselves


def test_the_limits_are_settings_and_read_from_them(settings):
    assert price_limits("BRL") == (5_00, 50_000_00)
    settings.PRICE_LIMITS_MINOR = {**settings.PRICE_LIMITS_MINOR, "BRL": (10_00, 20_00)}

    assert price_limits("BRL") == (10_00, 20_00)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_currency_has_a_minimum_below_its_maximum(currency):
    low, high = settings.PRICE_LIMITS_MINOR[currency]

    assert 0 < low < high


@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_minimum_leaves_the_producer_a_positive_share_after_fee_affiliate_and_cocreators(
    currency,
):
    fee_percent, fee_fixed = platform_fee_settings(currency)
    low, _ = price_limits(currency)

    parts = split_amount(
        low,
        fee_percent=fee_percent,
        fee_fixed_minor=fee_fixed,
        affiliate_percent=Decimal(MAX_AFFILIATE_PERCENT),
        cocreator_percents=[("cocreator", COCREATORS_AT_MOST)],
    )

    assert sum(part.amount_minor for part in parts) == low
    assert next(part.amount_minor for part in parts if part.role == PRODUCER) > 0


# Product form


def test_a_product_at_30_centavos_is_refused_with_the_range():
    form = ProductForm(data=product_data(price="0.30"))

    assert not form.is_valid()
    assert form.errors["price"] == ["Enter a price between R$5.00 and R$50,000.00."]
    assert form.errors["price"] == [range_message("BRL")]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_a_product_just_outside_its_currencys_range_is_refused(currency):
    low, high = price_limits(currency)

    for amount in (low - 1, high + 1):
        form = ProductForm(data=product_data(currency=currency, price=major(amount, currency)))

        assert not form.is_valid(), amount
        assert form.errors["price"] == [range_message(currency)]


@pytest.mark.parametrize("price", ["0", "-5", "0.01", "1000000.00", "99999999.99"])
def test_zero_negative_tiny_and_huge_product_prices_get_the_same_sentence(price):
    form = ProductForm(data=product_data(price=price))

    assert not form.is_valid()
    assert form.errors["price"] == [range_message("BRL")]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_a_product_at_exactly_the_minimum_or_the_maximum_is_accepted(currency):
    for amount in price_limits(currency):
        form = ProductForm(data=product_data(currency=currency, price=major(amount, currency)))

        assert form.is_valid(), (amount, form.errors)
        assert (form.cleaned_data["price_minor"], form.cleaned_data["currency"]) == (
            amount,
            currency,
        )


def test_the_range_follows_the_chosen_currency_not_the_saved_one():
    product = ProductFactory(currency="BRL", price_minor=19700)

    # 1 000 000.00 was the old ceiling in every currency; in COP it is about $250.
    cop = ProductForm(data=product_data(currency="COP", price="1000000.00"), instance=product)
    usd = ProductForm(data=product_data(currency="USD", price="1000000.00"), instance=product)

    assert cop.is_valid(), cop.errors
    assert cop.cleaned_data["price_minor"] == 1_000_000_00
    assert not usd.is_valid()
    assert usd.errors["price"] == [range_message("USD")]


def test_a_subscription_products_ignored_price_is_not_checked():
    form = ProductForm(data=product_data(kind="subscription", price="0.30"))

    assert form.is_valid(), form.errors


def test_the_product_price_help_text_says_every_currencys_range():
    help_text = ProductForm().fields["price"].help_text

    for currency in CURRENCIES:
        low, high = price_limits(currency)
        assert f"{format_money(low, currency)} to {format_money(high, currency)}" in help_text


def test_the_product_page_shows_the_range_and_refuses_30_centavos(client):
    client.force_login(UserFactory(validated=True))

    page = client.get(reverse("products:create")).content.decode()
    response = client.post(reverse("products:create"), product_data(price="0.30"))

    assert "R$5.00 to R$50,000.00" in page
    assert response.status_code == 200
    assert range_message("BRL") in response.content.decode()
    assert not Product.objects.exists()


def test_a_changed_setting_changes_the_form_at_once(settings):
    settings.PRICE_LIMITS_MINOR = {**settings.PRICE_LIMITS_MINOR, "BRL": (1_00, 2_00)}

    assert ProductForm(data=product_data(price="1.00")).is_valid()
    assert ProductForm(data=product_data(price="2.01")).errors["price"] == [
        "Enter a price between R$1.00 and R$2.00."
    ]


# Plan form


@pytest.fixture
def club():
    return ProductFactory(subscription=True, currency="BRL")


def test_a_plan_at_30_centavos_is_refused_with_the_range(club):
    form = PlanForm(data=plan_data(price="0.30"), product=club)

    assert not form.is_valid()
    assert form.errors["price"] == [range_message("BRL")]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_a_plan_price_is_limited_by_its_products_currency(currency):
    product = ProductFactory(subscription=True, currency=currency)
    low, high = price_limits(currency)

    for amount, valid in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
        form = PlanForm(data=plan_data(price=major(amount, currency)), product=product)

        assert form.is_valid() is valid, (amount, form.errors)
        if valid:
            assert form.cleaned_data["price_minor"] == amount
        else:
            assert form.errors["price"] == [range_message(currency)]


def test_a_free_promotional_first_installment_stays_allowed(club):
    form = PlanForm(data=plan_data(promo_first_price="0"), product=club)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["promo_first_price_minor"] == 0


@pytest.mark.parametrize("promo", ["0.01", "4.99", "-1"])
def test_a_paid_promotional_first_installment_below_the_minimum_is_refused(club, promo):
    form = PlanForm(data=plan_data(promo_first_price=promo), product=club)

    assert not form.is_valid()
    assert form.errors["promo_first_price"] == [promo_message("BRL")]


def test_a_promotional_first_installment_at_the_minimum_is_accepted(club):
    form = PlanForm(data=plan_data(promo_first_price="5.00"), product=club)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["promo_first_price_minor"] == 5_00


def test_the_plan_help_texts_say_the_range_of_the_products_currency():
    form = PlanForm(product=ProductFactory(subscription=True, currency="USD"))

    assert form.fields["price"].help_text == "From $1.00 to $10,000.00."
    assert "0: a free first installment" in form.fields["promo_first_price"].help_text
    assert "from $1.00" in form.fields["promo_first_price"].help_text


def test_the_plans_page_refuses_30_centavos_over_htmx(client, club):
    client.force_login(club.producer)

    response = client.post(
        reverse("products:plans", args=[club.pk]), plan_data(price="0.30"), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert range_message("BRL") in response.content.decode()
    assert not Plan.objects.exists()


# A refund is not a price


@pytest.mark.parametrize("amount", ["0.30", "2000000.00"])
def test_a_refund_amount_has_no_price_limits(amount):
    # What is left to refund on the sale bounds it (the refund view); the price range does not.
    assert RefundForm(data={"amount": amount}).is_valid()


def test_a_refund_amount_must_still_be_above_zero():
    assert not RefundForm(data={"amount": "0"}).is_valid()


# Services: the rule holds without the form


def test_product_create_refuses_a_price_below_the_minimum():
    with pytest.raises(DomainError) as exc:
        services.product_create(producer=UserFactory(), **one_time_fields(price_minor=30))

    assert exc.value.message == range_message("BRL")
    assert not Product.objects.exists()


def test_product_create_refuses_a_price_above_the_maximum():
    with pytest.raises(DomainError) as exc:
        services.product_create(
            producer=UserFactory(), **one_time_fields(currency="USD", price_minor=1_000_000_00)
        )

    assert exc.value.message == range_message("USD")
    assert not Product.objects.exists()


def test_product_create_refuses_a_one_time_product_without_a_price():
    with pytest.raises(DomainError) as exc:
        services.product_create(producer=UserFactory(), **one_time_fields())

    assert exc.value.message == "A one-time product needs a price."


@pytest.mark.parametrize("currency", CURRENCIES)
def test_product_create_accepts_exactly_the_limits(currency):
    for amount in price_limits(currency):
        product = services.product_create(
            producer=UserFactory(), **one_time_fields(currency=currency, price_minor=amount)
        )

        assert (product.currency, product.price_minor) == (currency, amount)


def test_product_create_ignores_the_price_of_a_subscription_product():
    product = services.product_create(
        producer=UserFactory(), **one_time_fields(kind=Product.Kind.SUBSCRIPTION, price_minor=30)
    )

    assert product.price_minor is None


def test_product_update_refuses_a_price_out_of_range_and_saves_nothing():
    product = ProductFactory(name="Saved", price_minor=19700)

    with pytest.raises(DomainError) as exc:
        services.product_update(product=product, name="Renamed", price_minor=30)

    assert exc.value.message == range_message("BRL")
    product.refresh_from_db()
    assert (product.name, product.price_minor) == ("Saved", 19700)


def test_product_update_checks_the_price_in_the_new_currency():
    product = ProductFactory(currency="BRL", price_minor=5_00)

    with pytest.raises(DomainError) as exc:
        services.product_update(product=product, currency="COP")  # COP 5.00: far below COP's

    assert exc.value.message == range_message("COP")
    product.refresh_from_db()
    assert product.currency == "BRL"


def test_product_update_of_other_fields_leaves_a_price_saved_under_older_limits_alone():
    product = ProductFactory(price_minor=1_00)  # saved before the limits existed

    services.product_update(product=product, name="Renamed")

    product.refresh_from_db()
    assert (product.name, product.price_minor) == ("Renamed", 1_00)


def test_plan_create_refuses_a_price_below_the_minimum(club):
    with pytest.raises(DomainError) as exc:
        services.plan_create(product=club, name="Monthly", price_minor=30)

    assert exc.value.message == range_message("BRL")
    assert not Plan.objects.exists()


def test_plan_create_refuses_a_paid_promo_below_the_minimum_and_accepts_a_free_one(club):
    with pytest.raises(DomainError) as exc:
        services.plan_create(
            product=club, name="Monthly", price_minor=49_90, promo_first_price_minor=4_99
        )

    assert exc.value.message == promo_message("BRL")
    plan = services.plan_create(
        product=club, name="Monthly", price_minor=49_90, promo_first_price_minor=0
    )
    assert (plan.price_minor, plan.promo_first_price_minor) == (49_90, 0)


def test_plan_update_refuses_a_price_above_the_maximum_and_saves_nothing(club):
    plan = PlanFactory(product=club, price_minor=49_90)

    with pytest.raises(DomainError) as exc:
        services.plan_update(plan=plan, price_minor=50_000_01)

    assert exc.value.message == range_message("BRL")
    plan.refresh_from_db()
    assert plan.price_minor == 49_90


def test_plan_update_refuses_a_paid_promo_below_the_minimum(club):
    plan = PlanFactory(product=club, price_minor=49_90)

    with pytest.raises(DomainError) as exc:
        services.plan_update(plan=plan, promo_first_price_minor=1)

    assert exc.value.message == promo_message("BRL")
    plan.refresh_from_db()
    assert plan.promo_first_price_minor is None
