"""Checkout and subscribe forms: a method not offered in the country is refused in words, and
the two-card split exists only for the credit card."""

import pytest
from django.urls import reverse
from django.utils import translation

from products.forms import CheckoutForm
from subscriptions.forms import SubscribeForm
from subscriptions.models import Subscription
from tests.factories import PlanFactory, ProductFactory, UserFactory, checkout_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "country", "sentence"),
    [
        ("boleto", "MX", "Boleto Bancário is not available in Mexico."),
        ("oxxo", "BR", "Oxxo is not available in Brazil."),
        ("multibanco", "ES", "Multibanco is not available in Spain."),
    ],
)
def test_a_method_not_offered_in_the_country_is_named_in_words(method, country, sentence):
    form = CheckoutForm({"country": country, "method": method, "checkout_key": "x"})
    assert not form.is_valid()
    (error,) = form.errors["method"]
    assert sentence in error
    assert "available choices" not in error
    assert method not in error.split()


def test_the_sentence_is_in_the_readers_language():
    with translation.override("es"):
        form = CheckoutForm({"country": "MX", "method": "boleto", "checkout_key": "x"})
        form.is_valid()
        assert "México" in form.errors["method"][0]


def test_an_unknown_method_keeps_the_ordinary_error():
    form = CheckoutForm({"country": "BR", "method": "bitcoin", "checkout_key": "x"})
    assert not form.is_valid()
    assert "method" in form.errors


def test_the_checkout_page_shows_the_sentence(client):
    buyer = UserFactory()
    product = ProductFactory()
    client.force_login(buyer)
    response = client.post(
        reverse("products:checkout", args=[product.pk]),
        {"country": "MX", "method": "boleto", "checkout_key": checkout_token(buyer)},
    )
    html = response.content.decode()
    assert "Boleto Bancário is not available in Mexico." in html
    assert "not one of the available choices" not in html


def test_the_second_card_is_dropped_for_any_method_but_the_card():
    form = SubscribeForm(
        {
            "country": "BR",
            "method": "boleto",
            "checkout_key": "x",
            "second_card_number": "4242424242424242",
            "second_card_amount": "abc",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["second_card_number"] == ""
    assert form.cleaned_data["second_card_amount"] is None


def test_a_boleto_subscription_with_leftover_second_card_fields_is_not_split(client):
    buyer = UserFactory()
    plan = PlanFactory(price_minor=5000)
    client.force_login(buyer)
    response = client.post(
        reverse("subscriptions:subscribe", args=[plan.product.pk, plan.pk]),
        {
            "country": "BR",
            "method": "boleto",
            "checkout_key": checkout_token(buyer),
            "second_card_number": "4242424242424242",
            "second_card_amount": "10.00",
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(buyer=buyer)
    sale = subscription.recurrences.get(number=1).sale
    assert [a.amount_minor for a in sale.attempts.all()] == [5000]


def test_the_card_still_splits_over_two_cards():
    form = SubscribeForm(
        {
            "country": "BR",
            "method": "card",
            "card_number": "4242424242424242",
            "checkout_key": "x",
            "second_card_number": "4242424242424242",
            "second_card_amount": "10.00",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["second_card_number"] == "4242424242424242"


def test_the_subscribe_page_marks_the_two_card_box_for_hiding(client):
    plan = PlanFactory()
    client.force_login(UserFactory())
    html = client.get(reverse("subscriptions:subscribe", args=[plan.product.pk, plan.pk]))
    assert 'class="terms-box two-cards"' in html.content.decode()
