"""Webhook tests post to pytest-httpserver on 127.0.0.1: loopback is allowed for them (the
guard's own tests turn it off), and the timeout is short so a slow answer is quick to test."""

import pytest
from standardwebhooks import Webhook

from tests.webhooks.factories import WebhookEndpointFactory


@pytest.fixture
def loopback(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    return settings


@pytest.fixture
def hook_url(httpserver, loopback) -> str:
    return httpserver.url_for("/hook")


@pytest.fixture
def endpoint(hook_url):
    return WebhookEndpointFactory(url=hook_url, event_types=["sale.approved", "sale.refunded"])


def received(httpserver) -> list:
    """The requests the server got, oldest first."""
    return [request for request, _response in httpserver.log]


def verify(request, *secrets: str) -> dict:
    """The payload, once each secret verified the request's signature (raises otherwise)."""
    body = request.get_data(as_text=True)
    payload = None
    for secret in secrets:
        payload = Webhook(secret).verify(body, dict(request.headers))
    return payload
