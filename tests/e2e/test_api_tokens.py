"""Browser story for the REST API's tokens: a producer opens Account settings > API tokens,
creates a read-only token, sees it once (with a copy button), calls the API with it from a
script (requests to the live server), revokes it after confirming, and the same call is then
refused with 401. The interactive API docs load under the site's Content-Security-Policy."""

import re

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import ApiToken
from tests.e2e.conftest import login
from tests.factories import PASSWORD
from tests.sales.test_earnings import worked_case

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_use_and_revoke_a_token(page, live_server, shot):
    case = worked_case()
    login(page, case.producer.email, PASSWORD)

    page.goto("/account/settings/")
    page.get_by_role("link", name="Manage API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_text("No tokens yet")).to_be_visible()
    page.get_by_label("Name").fill("Sales spreadsheet")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", name="Token created")).to_be_visible()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    field = page.locator("#token-value")
    plaintext = field.input_value()
    assert re.fullmatch(r"cpd_[A-Za-z0-9_-]{43}", plaintext)
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    shot(page, "api-tokens-created-1280")

    # A script calls the API with it.
    url = f"{live_server.url}/api/v1/sales"
    headers = {"Authorization": f"Bearer {plaintext}"}
    answer = requests.get(url, headers=headers, timeout=10)
    assert answer.status_code == 200
    (sale,) = answer.json()["results"]
    assert sale["id"] == case.sale.pk and len(sale["split"]) == 4

    page.get_by_role("link", name="Done").click()
    row = page.locator(f"#token-{ApiToken.objects.get().pk}")
    expect(row).to_contain_text("Sales spreadsheet")
    expect(row).to_contain_text("Read only")
    expect(row).to_contain_text(plaintext[:12])
    expect(page.locator("body")).not_to_contain_text(plaintext)
    shot(page, "api-tokens-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "api-tokens-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    row.get_by_role("link", name="Revoke").click()
    expect(page.get_by_text("cannot be undone")).to_be_visible()
    shot(page, "api-tokens-revoke-1280")
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("no longer works")).to_be_visible()
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("link", name="Revoke")).to_have_count(0)

    refused = requests.get(url, headers=headers, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_the_api_docs_load_under_the_content_security_policy(page, live_server, shot):
    blocked = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Content Security Policy" in message.text
            and blocked.append(message.text)
        ),
    )
    response = page.goto("/api/v1/docs")
    assert response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_text("/api/v1/sales/{sale_id}/refund").first).to_be_visible()
    expect(page.locator(".swagger-ui .title").first).to_contain_text("Coprod API")
    page.wait_for_load_state("networkidle")
    shot(page, "api-docs-1280")
    assert blocked == []
