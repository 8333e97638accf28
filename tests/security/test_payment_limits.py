"""Payment attempts are limited per buyer and per client address, against card testing
(products.payments.limits): checkout, subscribe and card update share the counters; past the
limit the same form comes back with 429, what was typed, and when to try again, and nothing
reaches the gateway."""

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from products.models import PaymentAttempt, Sale, SimulatedGatewayCharge
from products.payments import limits
from subscriptions.models import Subscription
from tests.concurrency import run_together
from tests.factories import PlanFactory, ProductFactory, UserFactory, checkout_token
from tests.subscriptions.factories import APPROVED, DECLINED, subscribe

pytestmark = pytest.mark.django_db

PER_USER, PER_IP = (rate.amount for rate in ratelimit.parse_rates(limits.RATES))
HTMX = {"HTTP_HX_REQUEST": "true"}
BUYER_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
# Quarter past an hour: fixed one-hour windows close 45 minutes later.
QUARTER_PAST = datetime(2026, 12, 1, 10, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def payment_limits(settings, time_machine):
    """The production limits (the test settings turn rate limits off), empty counters, and a
    clock that stands still at a quarter past the hour: a test that counts attempts never sees
    its window close half-way (a run that crossed 15:00 once saw its counter start again)."""
    settings.PAYMENT_RATE_LIMITS = limits.RATES
    time_machine.move_to(QUARTER_PAST, tick=False)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen(time_machine):
    """The clock the autouse fixture stopped, for tests that move it."""
    return time_machine


@pytest.fixture
def product():
    return ProductFactory(name="Sourdough course", price_minor=10000)


@pytest.fixture
def plan():
    return PlanFactory(product=ProductFactory(subscription=True, name="Yoga Club"))


def too_many(minutes: int) -> str:
    return ngettext(
        "Too many payment attempts. Try again in %(minutes)d minute.",
        "Too many payment attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def text(response) -> str:
    return unescape(response.content.decode())


def as_buyer(client, user):
    client.force_login(user)
    return client


def checkout(client, user, product, *, ip=BUYER_IP, card=DECLINED, form="form", **extra):
    """Post a checkout form the server issued to `user` (a fresh one per `form` name)."""
    data = {
        "country": "BR",
        "method": "card",
        "card_number": card,
        "checkout_key": checkout_token(user, f"{form}-{product.pk}"),
    }
    return as_buyer(client, user).post(
        reverse("products:checkout", args=[product.pk]), data, REMOTE_ADDR=ip, **extra
    )


def checkouts(client, user, product, count: int, *, ip=BUYER_IP, first: int = 0) -> None:
    """`count` valid checkouts, each a new form: a card tester's declined numbers."""
    for n in range(first, first + count):
        response = checkout(client, user, product, ip=ip, form=f"attempt-{n}")
        assert response.status_code == 200, n
        assert "The card was declined" in text(response)


def subscribe_post(client, user, plan, *, ip=BUYER_IP, card=DECLINED, form="form", **extra):
    data = {
        "country": "BR",
        "method": "card",
        "card_number": card,
        "checkout_key": checkout_token(user, f"{form}-plan-{plan.pk}"),
    }
    url = reverse("subscriptions:subscribe", args=[plan.product_id, plan.pk])
    return as_buyer(client, user).post(url, data, REMOTE_ADDR=ip, **extra)


def card_update(client, subscription, *, ip=BUYER_IP, card=APPROVED):
    url = reverse("subscriptions:update_payment", args=[subscription.pk])
    return as_buyer(client, subscription.buyer).post(
        url, {"method": "card", "card_number": card}, REMOTE_ADDR=ip
    )


def gateway_state() -> tuple[int, int, int, int]:
    return (
        Sale.objects.count(),
        PaymentAttempt.objects.count(),
        SimulatedGatewayCharge.objects.count(),
        Subscription.objects.count(),
    )


# --- checkout ----------------------------------------------------------------------------------


def test_the_checkout_after_a_buyers_limit_is_refused_and_reaches_nothing(client, product, frozen):
    buyer = UserFactory()
    checkouts(client, buyer, product, PER_USER)
    before = gateway_state()

    refused = checkout(client, buyer, product, card="4111111111111111", form="one-more")

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(45 * 60)
    page = text(refused)
    assert too_many(45) in page
    assert "Too many payment attempts. Try again in 45 minutes." in page
    # The same form, with what the buyer typed.
    assert 'id="checkout-form"' in page
    assert 'value="4111111111111111"' in page
    assert checkout_token(buyer, f"one-more-{product.pk}") in page
    # No sale, no attempt, nothing sent to the gateway.
    assert gateway_state() == before


def test_the_refusal_speaks_the_buyers_language(client, product, frozen):
    buyer = UserFactory(language="pt-br")
    checkouts_pt = [checkout(client, buyer, product, form=f"f{n}") for n in range(PER_USER)]
    assert all(response.status_code == 200 for response in checkouts_pt)
    before = gateway_state()

    refused = checkout(client, buyer, product, form="one-more")

    with translation.override("pt-br"):
        expected = too_many(45)
    assert refused.status_code == 429
    assert expected != too_many(45)  # the catalog translates it
    assert expected in text(refused)
    assert gateway_state() == before


def test_htmx_gets_the_form_partial_with_the_refusal(client, product, frozen):
    buyer = UserFactory()
    checkouts(client, buyer, product, PER_USER)

    refused = checkout(client, buyer, product, card="4111111111111111", form="more", **HTMX)

    assert refused.status_code == 429
    page = text(refused)
    assert page.lstrip().startswith('<form id="checkout-form"')
    assert "<html" not in page
    assert too_many(45) in page
    assert 'value="4111111111111111"' in page


def test_one_buyers_limit_leaves_another_buyer_elsewhere_alone(client, product):
    buyer, other = UserFactory(), UserFactory()
    checkouts(client, buyer, product, PER_USER)
    assert checkout(client, buyer, product, form="more").status_code == 429

    response = checkout(client, other, product, ip=OTHER_IP, card=APPROVED)

    assert response.status_code == 302
    assert Sale.objects.get(buyer=other).status == Sale.Status.PAID


def test_the_buyers_limit_follows_them_to_another_address(client, product):
    buyer = UserFactory()
    checkouts(client, buyer, product, PER_USER)

    assert checkout(client, buyer, product, ip=OTHER_IP, form="elsewhere").status_code == 429


def test_the_address_limit_counts_every_buyer_behind_it(client, product):
    buyers = [UserFactory() for _ in range(PER_IP // PER_USER)]
    for n, buyer in enumerate(buyers):  # each within their own limit
        checkouts(client, buyer, product, PER_USER, first=n * PER_USER)
    newcomer = UserFactory()
    before = gateway_state()

    refused = checkout(client, newcomer, product, form="first")

    assert refused.status_code == 429
    assert "Too many payment attempts" in text(refused)
    assert gateway_state() == before
    # The same newcomer from another address buys, and their refused attempt cost them nothing.
    checkouts(client, newcomer, product, PER_USER - 1, ip=OTHER_IP)
    response = checkout(client, newcomer, product, ip=OTHER_IP, card=APPROVED, form="last")
    assert response.status_code == 302


def test_behind_a_proxy_the_address_is_the_one_it_saw(client, product, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    buyers = [UserFactory() for _ in range(PER_IP // PER_USER + 1)]
    for n, buyer in enumerate(buyers[:-1]):
        for m in range(PER_USER):
            # Whatever the client writes on the left, the proxy's right-most entry counts.
            forwarded = f"192.0.2.{m}, {BUYER_IP}"
            response = checkout(
                client,
                buyer,
                product,
                ip="10.0.0.2",
                form=f"{n}-{m}",
                HTTP_X_FORWARDED_FOR=forwarded,
            )
            assert response.status_code == 200
    last = buyers[-1]
    refused = checkout(client, last, product, ip="10.0.0.2", HTTP_X_FORWARDED_FOR=BUYER_IP)
    assert refused.status_code == 429
    # Another client behind the same proxy is not that address.
    response = checkout(
        client, last, product, ip="10.0.0.2", card=APPROVED, HTTP_X_FORWARDED_FOR=OTHER_IP
    )
    assert response.status_code == 302


def test_only_valid_submissions_count(client, product):
    buyer = UserFactory()
    url = reverse("products:checkout", args=[product.pk])
    as_buyer(client, buyer)
    for _ in range(PER_USER + 1):
        # Choosing the country again (htmx refresh) and an incomplete form reach no gateway.
        refresh = client.post(url, {"country": "MX", "_refresh": "1"}, REMOTE_ADDR=BUYER_IP)
        incomplete = client.post(url, {"country": "BR"}, REMOTE_ADDR=BUYER_IP)
        assert refresh.status_code == incomplete.status_code == 200
        assert client.get(url, REMOTE_ADDR=BUYER_IP).status_code == 200

    assert checkout(client, buyer, product, card=APPROVED).status_code == 302


def test_the_window_closes_and_the_buyer_may_pay_again(client, product, frozen):
    buyer = UserFactory()
    checkouts(client, buyer, product, PER_USER)
    frozen.shift(timedelta(minutes=44, seconds=1))
    refused = checkout(client, buyer, product, form="almost")
    assert refused.status_code == 429
    assert too_many(1) in text(refused)  # 59 seconds left: "1 minute"

    frozen.shift(timedelta(seconds=59))
    response = checkout(client, buyer, product, card=APPROVED, form="next-hour")

    assert response.status_code == 302
    assert Sale.objects.filter(buyer=buyer, status=Sale.Status.PAID).count() == 1


# --- subscribe and card update -----------------------------------------------------------------


def test_subscribing_past_the_limit_is_refused(client, plan, frozen):
    buyer = UserFactory()
    for n in range(PER_USER):
        response = subscribe_post(client, buyer, plan, form=f"s{n}")
        assert response.status_code == 200, n
    before = gateway_state()

    refused = subscribe_post(client, buyer, plan, card="4111111111111111", form="one-more")

    assert refused.status_code == 429
    page = text(refused)
    assert too_many(45) in page
    assert 'id="subscribe-form"' in page
    assert 'value="4111111111111111"' in page
    assert gateway_state() == before


def test_subscribe_htmx_gets_the_partial(client, plan):
    buyer = UserFactory()
    for n in range(PER_USER):
        subscribe_post(client, buyer, plan, form=f"s{n}")

    refused = subscribe_post(client, buyer, plan, form="more", **HTMX)

    assert refused.status_code == 429
    assert text(refused).lstrip().startswith('<form id="subscribe-form"')
    assert "Too many payment attempts" in text(refused)


def test_card_updates_past_the_limit_are_refused(client, plan, frozen):
    subscription = subscribe(plan, UserFactory())
    for n in range(PER_USER):
        response = card_update(client, subscription, card=f"424242424242{n:04d}")
        assert response.status_code == 302, n
    subscription.refresh_from_db()
    token = subscription.payment_token

    refused = card_update(client, subscription, card="4111111111111111")

    assert refused.status_code == 429
    page = text(refused)
    assert too_many(45) in page
    assert 'value="4111111111111111"' in page
    subscription.refresh_from_db()
    assert subscription.payment_token == token  # nothing saved


def test_checkout_subscribe_and_card_update_share_one_count(client, product, plan):
    buyer = UserFactory()
    subscription = subscribe(plan, buyer)
    checkouts(client, buyer, product, PER_USER - 2)
    assert subscribe_post(client, buyer, plan).status_code == 200
    assert card_update(client, subscription).status_code == 302

    assert card_update(client, subscription).status_code == 429
    assert subscribe_post(client, buyer, plan, form="again").status_code == 429
    assert checkout(client, buyer, product, form="again").status_code == 429


def test_a_limited_buyer_can_still_do_everything_else(client, product, plan):
    buyer = UserFactory()
    subscription = subscribe(plan, buyer)
    paid = checkout(client, buyer, product, card=APPROVED, form="bought")
    assert paid.status_code == 302
    checkouts(client, buyer, product, PER_USER - 1, first=1)
    assert checkout(client, buyer, product, form="more").status_code == 429

    # Pages, a fresh checkout form, the purchase, and cancelling are not payment attempts.
    for url in (
        reverse("products:checkout", args=[product.pk]),
        reverse("products:purchases"),
        reverse("subscriptions:detail", args=[subscription.pk]),
        reverse("dashboard"),
    ):
        assert client.get(url, REMOTE_ADDR=BUYER_IP).status_code == 200, url
    assert client.get(paid.url).status_code == 200  # the purchase page
    cancel = client.post(
        reverse("subscriptions:cancel", args=[subscription.pk]), REMOTE_ADDR=BUYER_IP
    )
    assert cancel.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED_BY_CUSTOMER
    # Logging in again works too.
    client.logout()
    login = client.post(
        reverse("account_login"),
        {"login": buyer.email, "password": "test-pass-2026"},
        REMOTE_ADDR=BUYER_IP,
    )
    assert login.status_code == 302


def test_limits_can_be_set_and_turned_off(client, product, settings):
    buyer = UserFactory()
    settings.PAYMENT_RATE_LIMITS = "2/1h/user"
    checkouts(client, buyer, product, 2)
    assert checkout(client, buyer, product, form="third").status_code == 429

    settings.PAYMENT_RATE_LIMITS = False
    assert checkout(client, buyer, product, form="fourth").status_code == 200


# --- the counter -------------------------------------------------------------------------------


def test_concurrent_attempts_never_pass_the_limit():
    """add + incr in the cache: of many attempts at once, exactly the limit passes."""

    class Buyer:
        pk = 424242
        is_authenticated = True

    def attempt():
        request = RequestFactory().post("/", REMOTE_ADDR=BUYER_IP)
        request.user = Buyer()
        limits.payment_attempt_admit(request)
        return "admitted"

    results = run_together(*[attempt for _ in range(PER_USER * 2)])

    assert results.count("admitted") == PER_USER
    refusals = [r for r in results if isinstance(r, limits.TooManyPaymentAttempts)]
    assert len(refusals) == PER_USER
