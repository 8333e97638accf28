"""Webhook admin: every page opens read-only, no secret is shown, staff can disable."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts import outgoing_webhooks as webhooks
from accounts.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from tests.factories import UserFactory
from tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

MODELS = [WebhookEndpoint, WebhookMessage, WebhookDelivery, WebhookAttempt]


@pytest.fixture
def rows():
    endpoint = WebhookEndpointFactory()
    webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={"id": 1})
    delivery = WebhookDelivery.objects.get()
    WebhookAttempt.objects.create(
        delivery=delivery, status_code=500, error="The endpoint answered 500."
    )
    return endpoint


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_pages_open_read_only(client, superuser, rows, model):
    name = model._meta.model_name
    listing = client.get(reverse(f"admin:accounts_{name}_changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    obj = model.objects.get()
    page = client.get(reverse(f"admin:accounts_{name}_change", args=[obj.pk]))
    assert page.status_code == 200
    assert rows.secret not in page.content.decode()
    assert client.get(reverse(f"admin:accounts_{name}_add")).status_code == 403
    assert client.get(reverse(f"admin:accounts_{name}_delete", args=[obj.pk])).status_code == 403


def test_staff_disable_an_endpoint(client, superuser, rows):
    response = client.post(
        reverse("admin:accounts_webhookendpoint_changelist"),
        {"action": "disable_endpoints", ACTION_CHECKBOX_NAME: [rows.pk]},
    )
    assert response.status_code == 302
    rows.refresh_from_db()
    assert rows.is_enabled is False
    assert rows.disabled_reason == webhooks.DISABLED_BY_STAFF
    assert webhooks.disabled_reason_display(rows) == "Disabled by the platform's staff"
