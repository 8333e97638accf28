"""Money typed by a person in their language: the locale's separators in, the locale's format
back, ambiguous grouping refused in their language (issue 9)."""

from html import unescape

import pytest
from django.urls import reverse

from products.models import Product
from tests.factories import ProductFactory, UserFactory
from tests.products.test_bad_input import PRODUCT_FORM

pytestmark = pytest.mark.django_db


@pytest.fixture
def producer_pt(client):
    user = UserFactory(validated=True, language="pt-br", time_zone="America/Sao_Paulo")
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("typed", "minor"), [("1.234,56", 123456), ("49,90", 4990), ("49.90", 4990), ("1234", 123400)]
)
def test_a_brazilian_producer_types_prices_with_a_decimal_comma(client, producer_pt, typed, minor):
    response = client.post(reverse("products:create"), {**PRODUCT_FORM, "price": typed})

    assert response.status_code == 302
    assert Product.objects.get().price_minor == minor


def test_english_grouping_in_a_portuguese_form_is_refused_in_portuguese(client, producer_pt):
    response = client.post(reverse("products:create"), {**PRODUCT_FORM, "price": "1,234.56"})

    assert response.status_code == 200
    assert "Informe um valor como 1.234,56." in unescape(response.content.decode())
    assert not Product.objects.exists()


def test_the_edit_form_shows_the_price_back_in_the_locales_format(client, producer_pt):
    product = ProductFactory(producer=producer_pt, price_minor=123456)

    page = unescape(client.get(reverse("products:edit", args=[product.pk])).content.decode())

    assert 'value="1.234,56"' in page
    assert 'inputmode="decimal"' in page


def test_an_english_producer_keeps_the_decimal_point(client):
    client.force_login(UserFactory(validated=True, language="en"))

    client.post(reverse("products:create"), {**PRODUCT_FORM, "price": "1,234.56"})

    assert Product.objects.get().price_minor == 123456
