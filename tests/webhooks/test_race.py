"""Two workers running the same delivery task at the same moment post it once; emit outside
any transaction sends at once (its own transaction commits)."""

import threading

import pytest
from django.db import connection
from werkzeug import Response

from accounts import outgoing_webhooks as webhooks
from accounts.models import WebhookAttempt, WebhookDelivery
from tests.webhooks.conftest import received, verify
from tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_workers_on_one_delivery_post_once(hook_url, httpserver, settings):
    import time

    def slow_ok(request):
        time.sleep(0.3)  # the first POST is still running when the second worker looks
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(slow_ok)
    endpoint = WebhookEndpointFactory(url=hook_url)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Created without sending: the two workers below are the only senders.
    from unittest import mock

    with mock.patch("accounts.tasks.deliver_webhook.delay_on_commit"):
        webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={"id": 1})
    delivery = WebhookDelivery.objects.get()
    start = threading.Barrier(2)
    results = []

    def worker():
        try:
            start.wait()
            results.append(webhooks.deliver(delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(received(httpserver)) == 1
    assert sum(result is not None for result in results) == 1
    assert WebhookAttempt.objects.count() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    # And a third run, later, finds it succeeded.
    assert webhooks.deliver(delivery.pk) is None
    assert len(received(httpserver)) == 1


def test_emit_outside_a_transaction_delivers_once_it_returns(hook_url, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    endpoint = WebhookEndpointFactory(url=hook_url)
    assert webhooks.emit("sale.approved", key=5, user_ids=[endpoint.user_id], data={}) == 1
    (request,) = received(httpserver)
    assert verify(request, endpoint.secret)["type"] == "sale.approved"


def test_emit_inside_a_rolled_back_transaction_sends_nothing(hook_url, httpserver):
    from django.db import transaction

    httpserver.expect_request("/hook").respond_with_data("ok")
    endpoint = WebhookEndpointFactory(url=hook_url)
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks.emit("sale.approved", key=5, user_ids=[endpoint.user_id], data={})
        raise RuntimeError("the sale's transaction fails")
    assert received(httpserver) == []
    assert not WebhookDelivery.objects.exists()
