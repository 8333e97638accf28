"""Browser story: a buyer who keeps trying cards at checkout is stopped, told when to try again,
and finds the form as they left it (products.payments.limits)."""

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOO_MANY = re.compile(r"Too many payment attempts\. Try again in \d+ minutes?\.")


@pytest.fixture
def two_attempts(settings):
    # A day's window: three attempts a few seconds apart all fall in it, bar a run across
    # midnight UTC (an hour's window closed under a run at 15:00 once).
    settings.PAYMENT_RATE_LIMITS = "2/1d/user"
    cache.clear()
    yield
    cache.clear()


def pay(page, card: str) -> int:
    """Submit the card; the status of the checkout's answer, once the page shows it."""
    page.get_by_label("Card number", exact=True).fill(card)
    with page.expect_response(re.compile(r"/checkout/$")) as answer:
        page.get_by_role("button", name="Pay R$100.00").click()
    page.wait_for_load_state("networkidle")
    return answer.value.status


def open_checkout(page, product) -> None:
    page.goto(f"/p/{product.pk}/checkout/")
    page.get_by_label("Credit card").check()


def test_the_third_card_is_refused_with_when_to_try_again(page, two_attempts, shot):
    product = ProductFactory(name="Course", price_minor=10000)
    UserFactory(email="bruno@example.com")
    login(page, "bruno@example.com", PASSWORD)
    open_checkout(page, product)

    for card in ("4000 0000 0000 0002", "4000 0000 0000 9995"):
        assert pay(page, card) == 200
        expect(page.get_by_role("alert")).not_to_contain_text("Too many")
    assert pay(page, "4111 1111 1111 1111") == 429

    expect(page.get_by_role("alert")).to_contain_text(TOO_MANY)
    expect(page.get_by_label("Card number", exact=True)).to_have_value("4111 1111 1111 1111")
    shot(page, "45-checkout-too-many-attempts")


def test_without_javascript_the_refusal_is_the_checkout_page(browser, live_server, two_attempts):
    product = ProductFactory(name="Course", price_minor=10000)
    UserFactory(email="bruno@example.com")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    login(page, "bruno@example.com", PASSWORD)
    open_checkout(page, product)

    for card in ("4000 0000 0000 0002", "4000 0000 0000 9995"):
        assert pay(page, card) == 200
        expect(page.get_by_role("alert")).not_to_contain_text("Too many")
    assert pay(page, "4111 1111 1111 1111") == 429

    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(TOO_MANY)
    expect(page.get_by_label("Card number", exact=True)).to_have_value("4111 1111 1111 1111")
    context.close()
