"""Browser check of the Content-Security-Policy: the main screens of a producer and a buyer,
allauth's two-factor pages and the Django admin open, and their htmx requests and swaps run,
without one script, style or image the policy blocks (a `securitypolicyviolation` event or
Chromium's console error says so)."""

import re

import pytest
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import expect

from coproduction.services.contracts import contract_request_end
from tests.coproduction.factories import ContractFactory
from tests.e2e.conftest import login
from tests.e2e.test_staff_two_factor import code_for
from tests.factories import PASSWORD, TOTP_SECRET, PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in every document before its own scripts; the event fires for each blocked resource,
# inline script, handler or style attribute (and for eval), and bubbles to the document.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} in ` +
    `${event.documentURI} line ${event.lineNumber}: ${event.sample}`
  );
}, true);
"""


@pytest.fixture
def watched(browser, live_server):
    """new() opens a page and the list its policy violations are collected in."""
    contexts = []

    def new():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        contexts.append(context)
        context.set_default_timeout(20_000)
        page = context.new_page()
        violations = []

        def report(text):
            violations.append(text)

        def console(message):
            if message.type == "error" and "Content Security Policy" in message.text:
                violations.append(message.text)

        page.expose_function("reportViolation", report)
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", console)
        return page, violations

    yield new
    for context in contexts:
        context.close()


def visit(page, url: str):
    """Opens url and waits until its htmx requests (the bell's first) are answered."""
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    assert response.ok, (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    return response


def test_the_watch_sees_what_the_policy_blocks(watched):
    """The harness itself: an inline style attribute and an inline script are reported."""
    page, violations = watched()
    visit(page, "/")
    page.evaluate(
        """() => {
            document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
            const script = document.createElement("script");
            script.textContent = "window.ran = true";
            document.body.append(script);
        }"""
    )
    expect(page.locator("p[style]")).to_have_count(1)
    page.wait_for_function("() => true")  # the events are delivered before the next task

    assert page.evaluate("window.ran") is None
    assert any("style-src" in violation for violation in violations), violations
    assert any("script-src" in violation for violation in violations), violations


def test_a_producers_screens_run_under_the_policy(watched):
    producer = UserFactory(email="paula@example.com", validated=True, time_zone="UTC")
    product = ProductFactory(producer=producer, name="Data Course", price_minor=10000)
    contract = ContractFactory(product=product, active=True)
    contract_request_end(contract=contract, actor=contract.cocreator)
    page, violations = watched()

    visit(page, "/")
    visit(page, "/accounts/login/")
    login(page, "paula@example.com", PASSWORD)
    page.wait_for_load_state("networkidle")
    # htmx still runs: the bell fetched its count when the page loaded.
    expect(page.locator("#bell .bell-count")).to_have_text("1")
    visit(page, "/products/")
    visit(page, f"/tools/co-productions/{product.pk}/")
    visit(page, f"/tools/co-productions/{product.pk}/invite/")
    # A swap: the end date field appears when the duration asks for it (hx-post, outerHTML).
    page.get_by_label("Set contract end date").check()
    expect(page.locator("#field-end_date")).to_be_visible()
    visit(page, "/sales/")
    visit(page, "/account/inbox/")
    expect(page.locator(".inbox-item")).to_have_count(1)

    assert violations == []


def test_a_buyers_screens_and_two_factor_set_up_run_under_the_policy(watched):
    product = ProductFactory(name="Course", price_minor=10000)
    plan = PlanFactory(product=ProductFactory(subscription=True), name="Monthly")
    buyer = UserFactory(email="bruno@example.com")
    subscription = subscribe(plan, buyer)
    page, violations = watched()

    login(page, "bruno@example.com", PASSWORD)
    visit(page, f"/p/{product.pk}/checkout/")
    page.get_by_label("Country").select_option("BR")  # re-renders the form through htmx
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Boleto Bancário")).to_be_visible()
    visit(page, f"/subscriptions/{subscription.pk}/")
    visit(page, "/subscriptions/")

    # allauth's authenticator-app set-up: its QR code is a data: image, which must load.
    visit(page, "/accounts/2fa/totp/activate/")
    # allauth asks for the password first.
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/"))
    page.wait_for_load_state("networkidle")
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    secret = page.locator("#authenticator_secret").input_value()
    page.locator("input[name=code]").fill(code_for(secret))
    page.get_by_role("button", name="Activate").click()
    # The recovery codes page runs allauth's scripts (a JSON block read by onload.js).
    page.wait_for_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    page.wait_for_load_state("networkidle")
    expect(page.locator("#recovery_codes")).to_be_visible()
    visit(page, "/accounts/2fa/")

    assert violations == []


def test_the_admin_runs_under_the_policy(watched):
    UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)
    CrontabSchedule.objects.create(minute="5", hour="*")
    page, violations = watched()

    page.goto("/admin/")
    page.locator("input[name=login]").fill("ops@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.wait_for_load_state("networkidle")
    page.locator("input[name=code]").fill(code_for(TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.wait_for_load_state("networkidle")
    visit(page, "/admin/accounts/user/")
    expect(page.locator("#result_list")).to_be_visible()
    visit(page, "/admin/accounts/user/add/")
    # django-celery-beat's form: the schedule in words, from our file instead of its inline
    # script (templates/admin/djcelery/change_periodictask_form.html).
    visit(page, "/admin/django_celery_beat/periodictask/add/")
    page.locator("#id_crontab").select_option(index=1)
    expect(page.locator(".field-crontab .help")).to_contain_text("Schedule in words:")

    assert violations == []
