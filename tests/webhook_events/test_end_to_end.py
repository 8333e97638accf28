"""From a payment to a signed POST (issue 13): a sale paid through the real payment path reaches
the producer's and the cocreator's endpoints on a real HTTP server once it commits, every
signature verifies with the standardwebhooks library, and each payload's object is what the
API answers that person for the same sale."""

import uuid

import pytest
from django.test import Client
from standardwebhooks import Webhook

from accounts.api_tokens import api_token_create
from accounts.outgoing_webhooks import endpoint_create
from tests.factories import ProductFactory, SaleFactory, UserFactory
from tests.sales.test_ledger import cocreator_contract

pytestmark = pytest.mark.django_db


def api_get(user, path):
    _token, plaintext = api_token_create(user=user, name="script", scope="read")
    response = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_paid_sale_is_posted_signed_with_each_partys_api_view(
    httpserver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/producer").respond_with_data("ok")
    httpserver.expect_request("/cocreator").respond_with_data("ok")
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, price_minor=100_00)
    cocreator = UserFactory(validated=True)
    cocreator_contract(product, cocreator=cocreator, percent="10")
    secrets = {}
    for user, path in ((producer, "/producer"), (cocreator, "/cocreator")):
        _endpoint, secrets[path] = endpoint_create(
            user=user, url=httpserver.url_for(path), event_types=["sale.approved"]
        )

    with django_capture_on_commit_callbacks(execute=True):
        sale = SaleFactory(product=product, checkout_key=uuid.uuid4().hex, paid=True)

    requests = {request.path: request for request, _response in httpserver.log}
    assert sorted(requests) == ["/cocreator", "/producer"]
    for user, path in ((producer, "/producer"), (cocreator, "/cocreator")):
        request = requests[path]
        payload = Webhook(secrets[path]).verify(
            request.get_data(as_text=True), dict(request.headers)
        )
        assert payload["type"] == "sale.approved"
        assert payload["id"] == request.headers["webhook-id"]
        assert payload["data"]["object"] == api_get(user, f"/api/v1/sales/{sale.pk}")
