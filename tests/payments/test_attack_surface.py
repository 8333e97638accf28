"""Closed attack surface (issue 8, findings 2 and 9): no forged payments in production, no
computable references, only the documented signature format, and bad input is a clear answer,
never a 500."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings
from django.urls import reverse

from products.models import SimulatedGatewayCharge
from products.payments.gateway import SimulatedGateway
from subscriptions.services.webhooks import sign
from tests.subscriptions.factories import subscribe

pytestmark = pytest.mark.django_db

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/coprod",
    "ALLOWED_HOSTS": "coprod.example.com",
    # Production also needs a shared cache (tests/security); only the webhook secret varies here.
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "PAYOUT_WEBHOOK_SECRET": "p" * 40,
    "PATH": os.environ.get("PATH", ""),
}


def start_production(**env) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**PRODUCTION_ENV, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "secret", [None, "", "local-webhook-secret", "short"], ids=["unset", "empty", "dev", "short"]
)
def test_production_refuses_to_start_without_its_own_webhook_secret(secret):
    env = {} if secret is None else {"GATEWAY_WEBHOOK_SECRET": secret}
    result = start_production(**env)
    assert result.returncode != 0
    assert "GATEWAY_WEBHOOK_SECRET must be set in production" in result.stderr


@pytest.mark.parametrize(
    "secret",
    ["", "dev-payout-webhook-secret-not-for-production-use", "short"],
    ids=["empty", "dev", "short"],
)
def test_production_refuses_to_start_without_its_own_payout_webhook_secret(secret):
    result = start_production(GATEWAY_WEBHOOK_SECRET="s" * 40, PAYOUT_WEBHOOK_SECRET=secret)
    assert result.returncode != 0
    assert "PAYOUT_WEBHOOK_SECRET must be set in production" in result.stderr


def test_production_starts_with_a_real_secret():
    result = start_production(GATEWAY_WEBHOOK_SECRET="s" * 40)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("secret", ["", "local-webhook-secret", "short"])
def test_the_deploy_check_says_the_secret_is_missing(secret):
    with override_settings(GATEWAY_WEBHOOK_SECRET=secret):
        errors = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "products.E001" in {e.id for e in errors}
    with override_settings(GATEWAY_WEBHOOK_SECRET="s" * 40):
        errors = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "products.E001" not in {e.id for e in errors}


def test_a_reference_cannot_be_computed_from_the_key():
    """The simulator's reference was sha256 of the idempotency key, i.e. of the sale id."""
    gateway = SimulatedGateway()
    key = "sale-1-attempt-1"
    result = gateway.charge(
        idempotency_key=key, amount_minor=100, currency="BRL", method="boleto", token=""
    )
    assert result.reference != "sim_" + hashlib.sha256(key.encode()).hexdigest()[:20]
    again = gateway.charge(
        idempotency_key=key, amount_minor=100, currency="BRL", method="boleto", token=""
    )
    assert again.reference == result.reference  # remembered, not recomputed
    other = gateway.charge(
        idempotency_key="sale-1-attempt-2",
        amount_minor=100,
        currency="BRL",
        method="boleto",
        token="",
    )
    assert other.reference != result.reference


def post_webhook(client, body: bytes, signature: str):
    return client.post(
        reverse("subscriptions:webhook"),
        data=body,
        content_type="application/json",
        headers={"X-Gateway-Signature": signature},
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "e\\u0000", "type": "payment.confirmed", "reference": "x"}',
        b'{"id": "e", "type": "payment.confirmed", "reference": "x\\u0000"}',
        b'["not", "an", "object"]',
        b"\xff\xfe not utf-8",
        b"null",
    ],
    ids=["nul-id", "nul-reference", "array", "bytes", "null"],
)
def test_a_signed_but_malformed_webhook_is_a_400_not_a_500(client, body):
    response = post_webhook(client, body, sign(body))
    assert response.status_code == 400


def test_only_the_documented_signature_format_is_accepted(client):
    body = json.dumps({"id": "e1", "type": "payment.confirmed", "reference": "x"}).encode()
    bare = sign(body).removeprefix("sha256=")
    for signature in (bare, "SHA256=" + bare, "sha256= " + bare, sign(body) + " "):
        assert post_webhook(client, body, signature).status_code == 400
    assert post_webhook(client, body, sign(body)).status_code == 200


@pytest.mark.parametrize(
    "card",
    ["4" * 61, "4242\x004242", "4242" * 20],
    ids=["over-60", "nul", "over-40"],
)
def test_a_bad_card_number_on_update_payment_is_a_form_error_not_a_500(client, card):
    subscription = subscribe()
    client.force_login(subscription.buyer)
    response = client.post(
        reverse("subscriptions:update_payment", args=[subscription.pk]),
        {"method": "card", "card_number": card},
    )
    assert response.status_code == 200
    assert b"form-errors" in response.content or b"errorlist" in response.content
    subscription.refresh_from_db()
    assert subscription.payment_token == "4242424242424242"  # nothing saved
    assert SimulatedGatewayCharge.objects.count() == 1
