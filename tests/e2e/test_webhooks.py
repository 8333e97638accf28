"""Browser story for outgoing webhooks (issue 13): from Account settings a producer adds an
endpoint pointing at a real HTTP server, copies the signing secret shown once, sends a test
event and sees it in the delivery log with status 200; the server got it correctly signed."""

import re

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from tests.e2e.conftest import login
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def both_widths(page, shot, name: str) -> None:
    shot(page, f"webhooks-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, f"webhooks-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_add_an_endpoint_see_the_secret_once_and_send_a_test_event(
    page, shot, httpserver, settings
):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook", method="POST").respond_with_data('{"received":true}')
    user = UserFactory(email="paula@example.com", full_name="Paula Lima")
    login(page, user.email, PASSWORD)

    page.goto("/account/settings/")
    page.get_by_role("link", name="Manage webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(page.get_by_text("No endpoints yet")).to_be_visible()
    page.locator("#webhook-endpoints").get_by_role("link", name="Add endpoint").click()

    hook = httpserver.url_for("/hook")
    page.get_by_label("URL").fill(hook)
    page.get_by_label("Description").fill("Members area")
    page.get_by_label("Sale approved").check()
    page.get_by_label("Recurrence paid").check()
    both_widths(page, shot, "add")
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    secret = page.locator("#webhook-secret-value").input_value()
    assert secret.startswith("whsec_")
    secret_url = page.url
    both_widths(page, shot, "secret")
    page.get_by_role("link", name="Done").click()

    expect(page.get_by_role("heading", name="Members area")).to_be_visible()
    expect(page.get_by_text("No deliveries yet")).to_be_visible()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("Test event sent.")).to_be_visible()
    row = page.locator("#webhook-log tbody tr").first
    expect(row).to_contain_text("Test event")
    expect(row).to_contain_text("200")
    expect(row).to_contain_text("Succeeded")
    expect(row).to_contain_text('{"received":true}')
    both_widths(page, shot, "detail")

    (request, _response) = httpserver.log[0]
    payload = Webhook(secret).verify(request.get_data(as_text=True), dict(request.headers))
    assert payload["type"] == "ping"

    page.get_by_role("link", name="Webhooks", exact=True).first.click()
    row = page.locator("#webhook-endpoints tbody tr").first
    expect(row).to_contain_text(hook)
    expect(row).to_contain_text("Enabled")
    expect(row).to_contain_text("Succeeded")
    both_widths(page, shot, "list")

    # The secret is not shown a second time.
    page.goto(secret_url)
    expect(page.get_by_text("already shown")).to_be_visible()
    assert page.locator("#webhook-secret-value").count() == 0
    assert re.search(r"whsec_", page.content()) is None
