"""The buyer's screens: checkout (plain and HTMX), the affiliate link cookie, the purchase page and
the buyer's refund; and the producer's refund form."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountValidation
from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, Sale, SimulatedGatewayCharge
from products.payments import keys
from products.views.sales import affiliate_cookie_name
from tests.factories import AffiliationFactory, ProductFactory, SaleFactory, UserFactory
from tests.sales.test_ledger import cocreator_contract

pytestmark = pytest.mark.django_db

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"
HTMX = {"HTTP_HX_REQUEST": "true"}
KEY = re.compile(r'name="checkout_key" value="([^"]*)"')


@pytest.fixture
def product():
    return ProductFactory(name="Sourdough course", price_minor=10000)


@pytest.fixture
def buyer(client):
    user = UserFactory()
    client.force_login(user)
    return user


def checkout_url(product) -> str:
    return reverse("products:checkout", args=[product.pk])


def checkout_key(response) -> str:
    (key,) = KEY.findall(response.content.decode())
    return key


def form_data(key, **overrides) -> dict:
    return {"country": "BR", "method": "card", "card_number": APPROVED, "checkout_key": key} | (
        overrides
    )


def fresh_form(client, product, **overrides) -> dict:
    return form_data(checkout_key(client.get(checkout_url(product))), **overrides)


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- the form ----------------------------------------------------------------------------------


def test_each_visit_gets_a_fresh_checkout_key(client, buyer, product):
    first = client.get(checkout_url(product))
    second = client.get(checkout_url(product))

    assert first.status_code == second.status_code == 200
    # A signed token bound to this buyer, from which the server makes the sale's key.
    assert keys.checkout_key(buyer_id=buyer.pk, token=checkout_key(first))
    assert checkout_key(first) != checkout_key(second)
    assert not Sale.objects.exists()


def test_the_form_starts_from_the_buyers_validated_country(client, product):
    user = UserFactory()
    AccountValidation.objects.create(
        user=user, legal_name="Ana", country="MX", tax_document="X", status="validated"
    )
    client.force_login(user)

    content = client.get(checkout_url(product)).content.decode()

    assert 'value="oxxo"' in content
    assert 'value="boleto"' not in content


def test_a_subscription_product_sends_the_buyer_to_its_plans(client, buyer):
    product = ProductFactory(subscription=True)

    response = client.get(checkout_url(product))

    assert response.status_code == 302
    assert response.url == reverse("products:public", args=[product.pk])
    assert flashed(response) == ["Choose a plan to subscribe to this product."]


# --- paying ------------------------------------------------------------------------------------


def test_an_approved_card_pays_and_redirects_to_the_purchase(client, buyer, product):
    response = client.post(checkout_url(product), fresh_form(client, product))

    sale = Sale.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("products:purchase", args=[sale.pk])
    assert (sale.buyer, sale.status) == (buyer, Sale.Status.PAID)
    assert flashed(response) == ["Thank you! You bought Sourdough course."]
    page = client.get(response.url).content.decode()
    assert "Paid" in page


def test_a_declined_card_shows_the_message_and_keeps_the_key_so_a_retry_pays_the_same_sale(
    client, buyer, product
):
    data = fresh_form(client, product, card_number=DECLINED)

    response = client.post(checkout_url(product), data)

    assert response.status_code == 200
    assert "The card was declined. Try another card or payment method." in (
        response.content.decode()
    )
    assert checkout_key(response) == data["checkout_key"]
    sale = Sale.objects.get()
    assert sale.status == Sale.Status.PENDING

    retry = client.post(checkout_url(product), form_data(checkout_key(response)))

    assert retry.status_code == 302
    assert Sale.objects.get().status == Sale.Status.PAID
    assert list(sale.attempts.values_list("number", "status")) == [
        (1, "declined"),
        (2, "approved"),
    ]


def test_after_a_declined_card_the_buyer_may_switch_to_a_cash_slip(client, buyer, product):
    data = fresh_form(client, product, card_number=DECLINED)
    client.post(checkout_url(product), data)

    response = client.post(
        checkout_url(product), form_data(data["checkout_key"], method="boleto", card_number="")
    )

    assert response.status_code == 302
    sale = Sale.objects.get()
    assert (sale.status, sale.method) == (Sale.Status.PENDING, "boleto")
    assert list(sale.attempts.values_list("number", "status", "method")) == [
        (1, "declined", "card"),
        (2, "pending", "boleto"),
    ]
    assert flashed(response) == [
        "Your payment was issued. The purchase completes when it is confirmed."
    ]


def test_the_same_form_posted_twice_charges_once_and_says_already_paid(client, buyer, product):
    data = fresh_form(client, product)

    first = client.post(checkout_url(product), data)
    client.get(first.url)  # the buyer sees the purchase (and its flash message)
    second = client.post(checkout_url(product), data)

    sale = Sale.objects.get()
    assert first.url == second.url == reverse("products:purchase", args=[sale.pk])
    assert flashed(second) == ["This purchase is already paid; you were not charged again."]
    assert SimulatedGatewayCharge.objects.count() == 1
    assert PaymentAttempt.objects.count() == 1
    assert LedgerEntry.objects.filter(sale=sale).count() == 2


def test_htmx_payment_answers_with_hx_redirect(client, buyer, product):
    response = client.post(checkout_url(product), fresh_form(client, product), **HTMX)

    sale = Sale.objects.get(status=Sale.Status.PAID)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("products:purchase", args=[sale.pk])


def test_htmx_declined_payment_swaps_the_form_with_its_error(client, buyer, product):
    data = fresh_form(client, product, card_number=DECLINED)

    response = client.post(checkout_url(product), data, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert content.lstrip().startswith('<form id="checkout-form"')
    assert "<html" not in content
    assert "The card was declined" in content
    assert checkout_key(response) == data["checkout_key"]


def test_refresh_lists_the_methods_of_the_chosen_country(client, buyer, product):
    data = fresh_form(client, product, country="MX", method="card", _refresh="1")

    response = client.post(checkout_url(product), data, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'value="oxxo"' in content
    assert 'value="boleto"' not in content
    assert checkout_key(response) == data["checkout_key"]
    assert "errorlist" not in content  # a refresh is not a submission
    assert not Sale.objects.exists()


def test_a_cash_slip_is_issued_and_the_sale_waits(client, buyer, product):
    data = fresh_form(client, product, method="boleto", card_number="")

    response = client.post(checkout_url(product), data)

    sale = Sale.objects.get()
    assert response.url == reverse("products:purchase", args=[sale.pk])
    assert sale.status == Sale.Status.PENDING
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    "overrides, field, error",
    [
        (
            {"method": "boleto", "country": "US"},
            "method",
            "Boleto Bancário is not available in United States of America.",
        ),
        ({"method": ""}, "method", "This field is required."),
        ({"card_number": ""}, "card_number", "Enter the card number."),
        ({"card_number": "   "}, "card_number", "Enter the card number."),
        ({"country": "ZZ"}, "country", "Select a valid choice"),
        ({"country": ""}, "country", "This field is required."),
        ({"checkout_key": ""}, "checkout_key", "This checkout form is not valid any more."),
        ({"method": "bitcoin"}, "method", "Select a valid choice"),
    ],
    ids=[
        "boleto in US",
        "no method",
        "no card number",
        "blank card number",
        "garbage country",
        "no country",
        "no key",
        "unknown method",
    ],
)
def test_bad_input_is_answered_with_form_errors_and_no_sale(
    client, buyer, product, overrides, field, error
):
    response = client.post(checkout_url(product), fresh_form(client, product, **overrides))

    assert response.status_code == 200
    assert error in str(response.context["form"].errors[field])
    assert error in response.content.decode()
    assert not Sale.objects.exists()
    assert not SimulatedGatewayCharge.objects.exists()


def test_the_producer_cannot_buy_their_own_product(client, product):
    client.force_login(product.producer)

    response = client.post(checkout_url(product), fresh_form(client, product))

    assert response.status_code == 200
    assert "you cannot buy it" in response.content.decode()
    assert not Sale.objects.exists()


def test_an_inactive_product_has_no_checkout(client, buyer):
    product = ProductFactory(is_active=False)

    assert client.get(checkout_url(product)).status_code == 404
    assert client.post(checkout_url(product), form_data("k")).status_code == 404


# --- the affiliate link ------------------------------------------------------------------------


def visit(client, product, code):
    return client.get(reverse("products:public", args=[product.pk]), {"a": code})


def test_the_affiliate_link_sets_a_30_day_cookie_and_the_last_click_wins(client, product):
    first = AffiliationFactory(product=product, approved=True)
    second = AffiliationFactory(product=product, approved=True)

    response = visit(client, product, first.code)
    cookie = response.cookies[affiliate_cookie_name(product.pk)]
    assert cookie.value == first.code
    assert cookie["max-age"] == 30 * 24 * 3600
    assert cookie["httponly"]

    visit(client, product, second.code)

    assert client.cookies[affiliate_cookie_name(product.pk)].value == second.code


def test_the_affiliate_cookie_is_https_only_in_production(client, product, settings):
    """Production sets AFFILIATE_COOKIE_SECURE (as it does the session cookie): the affiliate's
    code never travels over plain HTTP."""
    from tests.security.test_shared_cache import production_settings

    flags = production_settings(
        CACHE_URL="redis://127.0.0.1:6379/1",
        PRINT="AFFILIATE_COOKIE_SECURE LANGUAGE_COOKIE_SECURE",
    )
    assert flags.stdout.split()[-2:] == ["True", "True"], flags.stderr
    affiliation = AffiliationFactory(product=product, approved=True)
    assert not visit(client, product, affiliation.code).cookies[affiliate_cookie_name(product.pk)][
        "secure"
    ]

    settings.AFFILIATE_COOKIE_SECURE = True
    cookie = visit(client, product, affiliation.code).cookies[affiliate_cookie_name(product.pk)]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_sale_goes_to_the_last_approved_affiliate_clicked(client, product):
    first = AffiliationFactory(product=product, approved=True, commission_percent=30)
    second = AffiliationFactory(product=product, approved=True, commission_percent=35)
    contract = cocreator_contract(product, percent="10")
    visit(client, product, first.code)
    visit(client, product, second.code)
    buyer = UserFactory()
    client.force_login(buyer)

    page = client.get(checkout_url(product))
    assert f"Recommended by {second.affiliate.get_full_name()}" in page.content.decode()
    client.post(checkout_url(product), form_data(checkout_key(page)))

    sale = Sale.objects.get()
    assert sale.affiliation == second
    assert list(
        LedgerEntry.objects.filter(sale=sale).values_list("role", "beneficiary", "amount_minor")
    ) == [
        ("platform", None, 1040),
        ("affiliate", second.affiliate.pk, 3136),
        ("cocreator", contract.cocreator.pk, 582),
        ("producer", product.producer.pk, 5242),
    ]


@pytest.mark.parametrize("traits", [{}, {"refused": True}], ids=["pending", "refused"])
def test_a_link_of_a_non_approved_affiliate_is_not_credited(client, buyer, product, traits):
    affiliation = AffiliationFactory(product=product, **traits)
    visit(client, product, affiliation.code)

    page = client.get(checkout_url(product))
    assert "Recommended by" not in page.content.decode()
    client.post(checkout_url(product), form_data(checkout_key(page)))

    sale = Sale.objects.get()
    assert (sale.status, sale.affiliation) == (Sale.Status.PAID, None)


def test_a_non_approved_link_clicked_last_replaces_an_approved_one(client, buyer, product):
    approved = AffiliationFactory(product=product, approved=True)
    pending = AffiliationFactory(product=product)
    visit(client, product, approved.code)
    visit(client, product, pending.code)

    client.post(checkout_url(product), fresh_form(client, product))

    assert Sale.objects.get().affiliation is None


def test_the_cookie_of_another_product_does_not_count(client, buyer, product):
    other = ProductFactory()
    affiliation = AffiliationFactory(product=other, approved=True)
    visit(client, other, affiliation.code)

    client.post(checkout_url(product), fresh_form(client, product))

    assert Sale.objects.get().affiliation is None


def test_a_buyer_clicking_their_own_link_is_not_credited(client, product):
    affiliation = AffiliationFactory(product=product, approved=True)
    client.force_login(affiliation.affiliate)
    visit(client, product, affiliation.code)

    client.post(checkout_url(product), fresh_form(client, product))

    assert Sale.objects.get().affiliation is None


# --- purchases and the buyer's refund ----------------------------------------------------------


@pytest.fixture
def paid(time_machine, client):
    time_machine.move_to(timezone.now(), tick=False)
    sale = SaleFactory(paid=True, product=ProductFactory(guarantee_days=7))
    client.force_login(sale.buyer)
    return sale


def test_purchases_lists_only_my_purchases(client, paid):
    SaleFactory(paid=True, product=paid.product)

    response = client.get(reverse("products:purchases"))

    assert list(response.context["sales"]) == [paid]
    assert reverse("products:purchase", args=[paid.pk]) in response.content.decode()


def test_the_purchase_page_offers_a_refund_while_something_is_left(client, paid):
    url = reverse("products:purchase", args=[paid.pk])
    refund_url = reverse("products:purchase_refund", args=[paid.pk])

    assert refund_url in client.get(url).content.decode()
    client.post(refund_url)
    assert refund_url not in client.get(url).content.decode()


def test_the_buyer_confirms_and_gets_a_refund_within_the_guarantee(client, paid, time_machine):
    url = reverse("products:purchase_refund", args=[paid.pk])
    time_machine.shift(timedelta(days=6))

    assert "R$100.00" in client.get(url).content.decode()
    response = client.post(url)

    assert response.url == reverse("products:purchase", args=[paid.pk])
    assert flashed(response) == ["Refund done. The money goes back to your payment method."]
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (Sale.Status.REFUNDED, 10000)


@pytest.mark.parametrize("state", ["refunded", "unpaid"])
def test_the_refund_page_offers_nothing_when_nothing_is_left(client, paid, state):
    sale = paid
    if state == "refunded":
        client.post(reverse("products:purchase_refund", args=[sale.pk]))
        client.get(reverse("products:purchase", args=[sale.pk]))  # read the flash message
    else:
        sale = SaleFactory(buyer=paid.buyer)
    url = reverse("products:purchase_refund", args=[sale.pk])

    response = client.get(url)

    assert response.url == reverse("products:purchase", args=[sale.pk])
    assert flashed(response) == ["Nothing is left to refund on this purchase."]
    client.get(response.url)
    posted = client.post(url)
    assert flashed(posted) == ["Nothing is left to refund on this sale."]
    assert sale.refunds.count() == (1 if state == "refunded" else 0)


def test_the_buyer_is_told_the_guarantee_is_over_and_nothing_changes(client, paid, time_machine):
    time_machine.shift(timedelta(days=8))

    response = client.post(reverse("products:purchase_refund", args=[paid.pk]))

    assert response.url == reverse("products:purchase", args=[paid.pk])
    assert flashed(response) == ["The 7-day guarantee period of this purchase is over."]
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor, paid.refunds.count()) == (Sale.Status.PAID, 0, 0)


# --- the producer's refund ---------------------------------------------------------------------


@pytest.fixture
def producer_client(client, paid):
    client.force_login(paid.product.producer)
    return client


@pytest.mark.parametrize(
    "amount, error",
    [
        ("abc", "Enter an amount such as 1,234.56."),
        ("", "This field is required."),
        ("0", "at least 0.01"),
        ("-5", "at least 0.01"),
        ("1.005", "Ensure that there are no more than 2 decimal places."),
        ("100.01", "At most R$100.00 is left to refund on this sale."),
        # Not a price: no price range, only what is left on the sale.
        ("5000000", "At most R$100.00 is left to refund on this sale."),
    ],
)
def test_the_producers_refund_form_refuses_bad_amounts(producer_client, paid, amount, error):
    response = producer_client.post(
        reverse("products:sale_refund", args=[paid.pk]), {"amount": amount}
    )

    assert response.status_code == 200
    assert error in str(response.context["form"].errors["amount"])
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor, paid.refunds.count()) == (Sale.Status.PAID, 0, 0)


def test_the_producers_refund_form_starts_at_what_is_left(producer_client, paid):
    response = producer_client.get(reverse("products:sale_refund", args=[paid.pk]))

    assert str(response.context["form"]["amount"].value()) == "100.00"


def test_the_producer_refunds_part_of_a_sale(producer_client, paid):
    response = producer_client.post(
        reverse("products:sale_refund", args=[paid.pk]), {"amount": "30.50", "reason": "Bonus"}
    )

    assert response.url == reverse("products:sales")
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (Sale.Status.PARTIALLY_REFUNDED, 3050)
    assert paid.refunds.get().reason == "Bonus"
    again = producer_client.get(reverse("products:sale_refund", args=[paid.pk]))
    assert str(again.context["form"]["amount"].value()) == "69.50"
