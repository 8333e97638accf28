"""Subscription screens: who may open each URL, the subscribe form (double submit, methods per
country, HTMX refresh), the buyer's detail, update-payment and cancel pages, and the
producer's subscribers list with its status filter and seller cancel."""

import re
from html import unescape
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from products.models import PaymentAttempt, SimulatedGatewayCharge
from products.money import format_money
from products.payments import keys
from subscriptions import urls as subscription_urls
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.subscribe import SWITCH_FAMILY_ADVICE
from tests.factories import PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import APPROVED, DECLINED, subscribe

pytestmark = pytest.mark.django_db

S = Subscription.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return unescape(response.content.decode())


def login(client, user):
    client.force_login(user)
    return client


def assert_login_redirect(response, url: str) -> None:
    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("account_login")
    assert parse_qs(target.query)["next"] == [url]


@pytest.fixture
def world():
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, subscription=True, name="Yoga Club")
    plan = PlanFactory(product=product, price_minor=4990)
    buyer = UserFactory()
    subscription = subscribe(plan, buyer)
    return SimpleNamespace(
        producer=producer,
        product=product,
        plan=plan,
        buyer=buyer,
        subscription=subscription,
        other_buyer=UserFactory(),
        other_producer=UserFactory(validated=True),
        unvalidated=UserFactory(),
    )


# ------------------------------------------------------------------------------ access table

ANON = "anonymous"
LOGIN = "login"

# (url name, method) → {person: expected status}; a missing person means "same as other".
ACCESS = {
    ("subscribe", "get"): {ANON: LOGIN, "buyer": 200, "other_buyer": 200},
    ("subscribe", "put"): {"buyer": 405},
    ("mine", "get"): {ANON: LOGIN, "buyer": 200, "other_buyer": 200, "producer": 200},
    ("detail", "get"): {ANON: LOGIN, "buyer": 200, "other_buyer": 404, "producer": 404},
    ("cancel", "get"): {ANON: LOGIN, "buyer": 200, "other_buyer": 404, "producer": 404},
    ("cancel", "post"): {ANON: LOGIN, "other_buyer": 404, "producer": 404, "buyer": 302},
    ("cancel", "put"): {"buyer": 405},
    ("update_payment", "get"): {ANON: LOGIN, "buyer": 405},
    ("update_payment", "post"): {ANON: LOGIN, "other_buyer": 404, "buyer": 302},
    ("subscribers", "get"): {
        ANON: LOGIN,
        "unvalidated": 403,
        "buyer": 403,
        "other_producer": 404,
        "producer": 200,
    },
    ("seller_cancel", "get"): {
        ANON: LOGIN,
        "unvalidated": 403,
        "other_producer": 404,
        "producer": 200,
    },
    ("seller_cancel", "post"): {
        ANON: LOGIN,
        "unvalidated": 403,
        "other_producer": 404,
        "producer": 302,
    },
    ("seller_cancel", "put"): {"producer": 405},
    # Signature-protected, no login: see test_webhooks.py. Only POST is allowed.
    ("webhook", "get"): {ANON: 405},
}
CASES = [
    (name, method, person, expected)
    for (name, method), people in ACCESS.items()
    for person, expected in people.items()
]


def url_for(name: str, world) -> str:
    args = {
        "subscribe": [world.product.pk, world.plan.pk],
        "detail": [world.subscription.pk],
        "cancel": [world.subscription.pk],
        "update_payment": [world.subscription.pk],
        "subscribers": [world.product.pk],
        "seller_cancel": [world.product.pk, world.subscription.pk],
    }.get(name, [])
    return reverse(f"subscriptions:{name}", args=args)


def test_the_table_covers_every_url():
    names = {pattern.name for pattern in subscription_urls.urlpatterns}
    assert {name for name, _ in ACCESS} == names


@pytest.mark.parametrize(("name", "method", "person", "expected"), CASES)
def test_access(client, world, name, method, person, expected):
    url = url_for(name, world)
    if person != ANON:
        login(client, getattr(world, person))
    data = {"method": "card", "card_number": APPROVED} if name == "update_payment" else {}
    response = (
        getattr(client, method)(url, data=data)
        if method == "post"
        else (getattr(client, method)(url))
    )
    if expected == LOGIN:
        assert_login_redirect(response, url)
    else:
        assert response.status_code == expected
    world.subscription.refresh_from_db()
    if expected in (404, 403, 405, LOGIN):
        assert world.subscription.status == S.ACTIVE  # refused requests change nothing


def test_unvalidated_producer_gets_the_validation_page(client, world):
    world.product.producer = world.unvalidated
    world.product.save(update_fields=["producer"])
    response = login(client, world.unvalidated).get(url_for("subscribers", world))
    assert response.status_code == 403
    assert "validat" in text(response).lower()


# ---------------------------------------------------------------------------- subscribe


def subscribe_url(world) -> str:
    return url_for("subscribe", world)


def checkout_key(response) -> str:
    match = re.search(r'name="checkout_key" value="([^"]+)"', response.content.decode())
    assert match, "the form carries a checkout key"
    return match[1]


def fresh_key(client, world) -> str:
    return checkout_key(client.get(subscribe_url(world)))


def form_data(key: str, **overrides) -> dict:
    return {
        "country": "BR",
        "method": "card",
        "card_number": APPROVED,
        "checkout_key": key,
        **overrides,
    }


def test_each_visit_gets_a_fresh_checkout_key(client, world):
    login(client, world.other_buyer)
    first, second = (checkout_key(client.get(subscribe_url(world))) for _ in range(2))
    assert first != second
    assert keys.checkout_key(buyer_id=world.other_buyer.pk, token=first).startswith("co-")


def test_approved_card_redirects_to_the_active_subscription(client, world):
    login(client, world.other_buyer)
    key = checkout_key(client.get(subscribe_url(world)))
    response = client.post(subscribe_url(world), form_data(key))

    subscription = Subscription.objects.get(buyer=world.other_buyer)
    assert response.status_code == 302
    assert response.url == reverse("subscriptions:detail", args=[subscription.pk])
    assert subscription.status == S.ACTIVE
    page = text(client.get(response.url))
    assert "You subscribed to Yoga Club." in page


def test_htmx_submit_redirects_with_hx_redirect(client, world):
    login(client, world.other_buyer)
    response = client.post(subscribe_url(world), form_data(fresh_key(client, world)), **HTMX)
    subscription = Subscription.objects.get(buyer=world.other_buyer)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("subscriptions:detail", args=[subscription.pk])


def test_declined_card_shows_the_error_and_keeps_the_checkout_key(client, world):
    login(client, world.other_buyer)
    key = checkout_key(client.get(subscribe_url(world)))
    response = client.post(subscribe_url(world), form_data(key, card_number=DECLINED))

    assert response.status_code == 200
    assert "The card was declined" in text(response)
    assert checkout_key(response) == key  # resubmitting is the same checkout
    retry = client.post(subscribe_url(world), form_data(key))
    assert retry.status_code == 302
    subscription = Subscription.objects.get(buyer=world.other_buyer)
    assert subscription.status == S.ACTIVE
    assert PaymentAttempt.objects.filter(sale__subscription=subscription).count() == 2


def test_double_post_makes_one_subscription_and_one_charge(client, world):
    login(client, world.other_buyer)
    key = checkout_key(client.get(subscribe_url(world)))
    charges = SimulatedGatewayCharge.objects.count()
    one = client.post(subscribe_url(world), form_data(key))
    two = client.post(subscribe_url(world), form_data(key))

    (subscription,) = Subscription.objects.filter(buyer=world.other_buyer)
    assert one.url == two.url == reverse("subscriptions:detail", args=[subscription.pk])
    assert SimulatedGatewayCharge.objects.count() == charges + 1


def test_method_not_offered_in_the_country_is_refused(client, world):
    login(client, world.other_buyer)
    response = client.post(
        subscribe_url(world),
        form_data(fresh_key(client, world), country="US", method="boleto", card_number=""),
    )
    assert response.status_code == 200
    page = text(response)
    assert "Boleto Bancário is not available in United States" in page
    assert "not one of the available choices" not in page  # said in words, not a code
    assert not Subscription.objects.filter(buyer=world.other_buyer).exists()


def test_htmx_refresh_lists_the_methods_of_the_chosen_country(client, world):
    login(client, world.other_buyer)
    response = client.post(
        subscribe_url(world), {"_refresh": "1", "country": "MX", "checkout_key": "k"}, **HTMX
    )
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<form id="subscribe-form"')  # only the partial
    assert "<html" not in page
    assert 'value="oxxo"' in page
    assert 'value="boleto"' not in page
    assert 'value="k"' in page  # the checkout key survives the refresh
    assert not Subscription.objects.filter(buyer=world.other_buyer).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"method": ""}, "This field is required"),
        ({"country": "ZZ"}, "Select a valid choice"),
        ({"card_number": ""}, "Enter the card number"),
        ({"second_card_number": APPROVED, "second_card_amount": "49.90"}, "second card"),
        ({"second_card_number": APPROVED, "second_card_amount": "60"}, "second card"),
        ({"second_card_number": APPROVED}, "how much goes on the second card"),
        ({"checkout_key": ""}, "Reload the page"),
    ],
)
def test_bad_input_shows_a_message_and_creates_nothing(client, world, overrides, message):
    login(client, world.other_buyer)
    charges = SimulatedGatewayCharge.objects.count()
    response = client.post(subscribe_url(world), form_data(fresh_key(client, world), **overrides))
    assert response.status_code == 200
    assert message in text(response)
    assert not Subscription.objects.filter(buyer=world.other_buyer).exists()
    assert SimulatedGatewayCharge.objects.count() == charges


def test_producer_cannot_subscribe_to_their_own_plan(client, world):
    login(client, world.producer)
    response = client.post(subscribe_url(world), form_data(fresh_key(client, world)))
    assert "you cannot subscribe" in text(response)
    assert not Subscription.objects.filter(buyer=world.producer).exists()


def test_inactive_plan_is_a_404(client, world):
    world.plan.is_active = False
    world.plan.save(update_fields=["is_active"])
    response = login(client, world.other_buyer).get(subscribe_url(world))
    assert response.status_code == 404


def test_cash_checkout_says_the_slip_was_issued(client, world):
    login(client, world.other_buyer)
    response = client.post(
        subscribe_url(world),
        form_data(fresh_key(client, world), method="boleto", card_number=""),
        follow=True,
    )
    assert "Your payment slip or debit was issued" in text(response)
    assert Subscription.objects.get(buyer=world.other_buyer).status == S.INITIATED


# --------------------------------------------------------------------------- buyer pages


def test_detail_shows_status_next_charge_and_history(client):
    plan = PlanFactory(price_minor=4990, promo_first_price_minor=990)
    subscription = subscribe(plan)
    page = text(login(client, subscription.buyer).get(url_for_detail(subscription)))
    assert "Active" in page
    next_charge = f"{subscription.next_charge_date:%b %-d, %Y} · {format_money(4990, 'BRL')}"
    assert next_charge in page  # the full price after the promo
    assert format_money(990, "BRL") in page  # the first charge, in the history
    assert "Card •••• 4242" in page
    assert "Charge history" in page
    assert "Paid" in page and "Approved" in page
    assert "Cancel subscription" in page


def url_for_detail(subscription) -> str:
    return reverse("subscriptions:detail", args=[subscription.pk])


def test_my_subscriptions_lists_only_mine(client, world):
    subscribe(world.plan, world.other_buyer)
    page = text(login(client, world.buyer).get(reverse("subscriptions:mine")))
    assert page.count(reverse("subscriptions:detail", args=[world.subscription.pk])) == 1
    other = Subscription.objects.get(buyer=world.other_buyer)
    assert reverse("subscriptions:detail", args=[other.pk]) not in page


def test_update_card_to_another_card(client, world):
    login(client, world.buyer)
    response = client.post(
        url_for("update_payment", world),
        {"method": "card", "card_number": "5555555555554444"},
        follow=True,
    )
    assert "Payment details updated" in text(response)
    world.subscription.refresh_from_db()
    assert world.subscription.payment_label == "Card •••• 4444"


def test_update_card_to_boleto_is_refused_with_the_advice(client, world):
    login(client, world.buyer)
    response = client.post(url_for("update_payment", world), {"method": "boleto"}, follow=True)
    page = text(response)
    assert SWITCH_FAMILY_ADVICE in page
    assert "Cancel this subscription and buy the product again" in page
    world.subscription.refresh_from_db()
    assert world.subscription.method == "card"


def test_cancel_asks_for_confirmation_then_cancels(client, world):
    login(client, world.buyer)
    confirm = client.get(url_for("cancel", world))
    assert "Confirm cancellation" in text(confirm)
    world.subscription.refresh_from_db()
    assert world.subscription.status == S.ACTIVE  # GET changes nothing

    response = client.post(url_for("cancel", world), follow=True)
    assert "Your subscription was canceled" in text(response)
    world.subscription.refresh_from_db()
    assert world.subscription.status == S.CANCELED_BY_CUSTOMER

    again = client.post(url_for("cancel", world), follow=True)
    assert "already Canceled by the customer" in text(again)
    assert world.subscription.events.filter(to_status=S.CANCELED_BY_CUSTOMER).count() == 1


# ---------------------------------------------------------------------- producer pages


def test_subscribers_status_filter(client, world):
    canceled = subscribe(world.plan, world.other_buyer)
    canceled.status = S.CANCELED_BY_CUSTOMER
    canceled.save(update_fields=["status"])
    login(client, world.producer)
    url = url_for("subscribers", world)

    everyone = text(client.get(url))
    assert world.buyer.email in everyone and world.other_buyer.email in everyone
    active = text(client.get(url, {"status": S.ACTIVE}))
    assert world.buyer.email in active and world.other_buyer.email not in active
    none = text(client.get(url, {"status": S.EXPIRED}))
    assert "No subscribers with this status" in none
    bad = text(client.get(url, {"status": "nonsense"}))
    assert world.buyer.email in bad and world.other_buyer.email in bad  # ignored, not a 500


def test_subscribers_htmx_returns_only_the_list(client, world):
    login(client, world.producer)
    response = client.get(url_for("subscribers", world), {"status": S.ACTIVE}, **HTMX)
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="subscriber-list"')
    assert "<html" not in page
    assert world.buyer.email in page


def test_seller_cancel_marks_canceled_by_the_seller(client, world):
    login(client, world.producer)
    url = url_for("seller_cancel", world)
    assert world.buyer.email in text(client.get(url))
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == url_for("subscribers", world)
    world.subscription.refresh_from_db()
    assert world.subscription.status == S.CANCELED_BY_SELLER
    again = client.post(url, follow=True)
    assert "already Canceled by the seller" in text(again)


# ----------------------------------------------------------------------- query counts


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def with_recurrences(subscription, count: int) -> None:
    from subscriptions.services.billing import recurrence_build

    for number in range(2, count + 1):
        sale, recurrence = recurrence_build(
            subscription=subscription,
            number=number,
            due=subscription.anchor_date,
            amount_minor=4990,
            now=subscription.created_at,
        )
        sale.save()
        recurrence.sale = sale
        recurrence.status = Recurrence.Status.UNPAID
        recurrence.save()
        PaymentAttempt.objects.create(
            sale=sale,
            number=1,
            idempotency_key=f"q-{sale.pk}",
            amount_minor=4990,
            method="card",
            status=PaymentAttempt.Status.DECLINED,
        )


def test_detail_queries_do_not_grow_with_the_history(client):
    one, many = subscribe(), subscribe()
    with_recurrences(many, 20)
    assert many.recurrences.count() == 20
    assert queries(login(client, one.buyer), reverse("subscriptions:detail", args=[one.pk])) == (
        queries(login(client, many.buyer), reverse("subscriptions:detail", args=[many.pk]))
    )


def test_subscribers_queries_do_not_grow_with_the_subscribers(client):
    small, large = PlanFactory(), PlanFactory()
    subscribe(small)
    for _ in range(20):
        with_recurrences(subscribe(large), 3)
    counts = []
    for plan in (small, large):
        login(client, plan.product.producer)
        url = reverse("subscriptions:subscribers", args=[plan.product.pk])
        counts.append(queries(client, url))
    assert counts[0] == counts[1]


def test_login_page_of_the_access_table_exists(client):
    """The LOGIN expectation above points at a real page."""
    assert client.get(reverse("account_login")).status_code == 200


def test_after_a_decline_the_buyer_may_pay_with_another_method(client, world):
    """The form comes back with the same checkout key; choosing boleto now issues a slip
    instead of charging the declined card again."""
    login(client, world.other_buyer)
    key = checkout_key(client.get(subscribe_url(world)))
    declined = client.post(subscribe_url(world), form_data(key, card_number=DECLINED))
    assert checkout_key(declined) == key

    response = client.post(
        subscribe_url(world), form_data(key, method="boleto", card_number=""), follow=True
    )

    assert "Your payment slip or debit was issued" in text(response)
    (subscription,) = Subscription.objects.filter(buyer=world.other_buyer)
    assert (subscription.method, subscription.payment_token) == ("boleto", "")
    recurrence = subscription.recurrences.select_related("sale").get()
    assert recurrence.status == Recurrence.Status.PENDING
    assert recurrence.sale.method == "boleto"
    assert recurrence.slip_code
