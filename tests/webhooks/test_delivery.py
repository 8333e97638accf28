"""Delivery to a real HTTP server on loopback: signed (every signature verified), retried with
growing delays on 500s and timeouts, never twice for a duplicated task, no redirects followed,
and endpoints disabled after too many failures in a row."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug import Response

from accounts import outgoing_webhooks as webhooks
from accounts.models import WebhookAttempt, WebhookDelivery, WebhookMessage
from tests.factories import UserFactory
from tests.webhooks.conftest import received, verify
from tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SALE = {"id": 41, "status": "paid", "amount": "97.00", "currency": "BRL"}


def emit_sale(endpoint, capture, *, key=41, event="sale.approved") -> int:
    with capture(execute=True):
        return webhooks.emit(event, key=key, user_ids=[endpoint.user_id], data=SALE)


def delivery_of(endpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint=endpoint)


def test_an_event_is_posted_signed_with_the_versioned_envelope(
    endpoint, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)
    assert emit_sale(endpoint, django_capture_on_commit_callbacks) == 1

    (request,) = received(httpserver)
    payload = verify(request, endpoint.secret)
    message = WebhookMessage.objects.get()
    assert payload == {
        "id": message.msg_id,
        "type": "sale.approved",
        "api_version": "v1",
        "timestamp": payload["timestamp"],
        "data": SALE,
    }
    assert message.msg_id.startswith("msg_") and len(message.msg_id) == 36
    assert payload["timestamp"].endswith("Z")
    assert request.headers["webhook-id"] == message.msg_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Coprod-Webhooks/1"
    delivery = delivery_of(endpoint)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 1, None)
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (200, "thanks", "")
    assert attempt.manual is False


def test_a_500_is_retried_after_each_delay_then_the_delivery_fails(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    delays = settings.WEBHOOK_RETRY_DELAYS
    assert sum(delays) > 3 * 24 * 3600  # about three days in all

    with time_machine.travel(START, tick=False) as clock:
        emit_sale(endpoint, django_capture_on_commit_callbacks)
        for number, delay in enumerate(delays, start=1):
            delivery = delivery_of(endpoint)
            assert delivery.attempts == number
            assert delivery.status == "pending"
            assert delivery.next_attempt_at == datetime.now(UTC) + timedelta(seconds=delay)
            # Not due a second early: nothing is sent.
            clock.shift(timedelta(seconds=delay - 1))
            assert webhooks.deliver_due() == 0
            assert len(received(httpserver)) == number
            clock.shift(timedelta(seconds=1))
            assert webhooks.deliver_due() == 1
            assert len(received(httpserver)) == number + 1
        delivery = delivery_of(endpoint)
        assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
        assert delivery.attempts == len(delays) + 1
        assert webhooks.deliver_due() == 0
        # Every retry was signed afresh, with the same webhook-id.
        ids = {request.headers["webhook-id"] for request in received(httpserver)}
        assert ids == {delivery.message.msg_id}
        for request in received(httpserver):
            with time_machine.travel(int(request.headers["webhook-timestamp"]), tick=False):
                verify(request, endpoint.secret)
    assert set(WebhookAttempt.objects.values_list("status_code", flat=True)) == {500}
    assert WebhookAttempt.objects.first().error == "The endpoint answered 500."
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == len(delays) + 1


def test_a_timeout_is_retried_and_the_next_answer_succeeds(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    answers = iter(["slow", "fast"])

    def handler(request):
        if next(answers) == "slow":
            time.sleep(1.0)
        return Response("ok", status=200)

    httpserver.expect_request("/hook").respond_with_handler(handler)
    with time_machine.travel(START, tick=False) as clock:
        emit_sale(endpoint, django_capture_on_commit_callbacks)
        delivery = delivery_of(endpoint)
        first = WebhookAttempt.objects.get()
        assert first.status_code is None
        assert first.error == "No answer within 0.5 seconds."
        assert delivery.status == "pending"
        delay = settings.WEBHOOK_RETRY_DELAYS[0]
        assert delivery.next_attempt_at == START + timedelta(seconds=delay)
        clock.shift(timedelta(seconds=delay))
        assert webhooks.deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert WebhookAttempt.objects.order_by("pk").last().status_code == 200


def test_a_duplicated_task_or_event_sends_one_request(
    endpoint, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    assert emit_sale(endpoint, django_capture_on_commit_callbacks) == 1
    # The same event told again (a retried task), and the delivery task run again.
    assert emit_sale(endpoint, django_capture_on_commit_callbacks) == 0
    delivery = delivery_of(endpoint)
    assert webhooks.deliver(delivery.pk) is None
    assert webhooks.deliver_due() == 0
    assert len(received(httpserver)) == 1
    assert WebhookMessage.objects.count() == 1
    assert WebhookAttempt.objects.count() == 1


def test_a_duplicate_right_after_a_failure_waits_for_the_retry(
    endpoint, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("no", status=503)
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    assert webhooks.deliver(delivery_of(endpoint).pk) is None
    assert len(received(httpserver)) == 1


def test_each_endpoint_gets_its_own_delivery_of_one_message(
    hook_url, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    user = UserFactory()
    first = WebhookEndpointFactory(user=user, url=hook_url)
    second = WebhookEndpointFactory(user=user, url=hook_url)
    emit_sale(first, django_capture_on_commit_callbacks)
    requests = received(httpserver)
    assert len(requests) == 2
    assert {r.headers["webhook-id"] for r in requests} == {WebhookMessage.objects.get().msg_id}
    for request in requests:  # each endpoint signs with its own secret
        signed_by = [e for e in (first, second) if _verifies(request, e.secret)]
        assert len(signed_by) == 1


def _verifies(request, secret) -> bool:
    try:
        verify(request, secret)
    except WebhookVerificationError:
        return False
    return True


def test_redirects_are_not_followed(endpoint, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("followed!")
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    assert [r.path for r in received(httpserver)] == ["/hook"]
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302
    assert "Redirects are not followed" in attempt.error
    assert delivery_of(endpoint).status == "pending"  # a failure: retried later


def test_the_guard_runs_again_at_delivery(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    settings.WEBHOOK_ALLOW_LOOPBACK = False  # the URL was fine when saved, not any more
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    assert received(httpserver) == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "https://" in attempt.error


def test_a_host_that_rebinds_to_a_private_address_is_not_reached(
    loopback, httpserver, monkeypatch, django_capture_on_commit_callbacks
):
    """The name resolved to a public address when saved; at delivery it answers 10.x: the
    connection layer checks what it connects to, so nothing is sent."""
    import socket

    answers = {"now": "93.184.216.34"}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "rebind.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["now"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    user = UserFactory()
    endpoint, _secret = webhooks.endpoint_create(
        user=user, url="https://rebind.example.com/hook", event_types=["sale.approved"]
    )
    answers["now"] = "10.0.0.8"
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "10.0.0.8" in attempt.error and "private network" in attempt.error


def test_loopback_at_delivery_is_refused_without_the_setting(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings, monkeypatch
):
    import socket

    endpoint.url = "https://loop.example.com:1/hook"
    endpoint.save()
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        ],
    )
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    assert "loopback" in WebhookAttempt.objects.get().error


def test_after_n_failures_in_a_row_the_endpoint_is_disabled_and_its_owner_emailed_once(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    mail.outbox.clear()
    for key in (1, 2):
        emit_sale(endpoint, django_capture_on_commit_callbacks, key=key)
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.consecutive_failures) == (True, 2)
    emit_sale(endpoint, django_capture_on_commit_callbacks, key=3)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False
    assert endpoint.disabled_reason == webhooks.DISABLED_BY_FAILURES
    assert endpoint.disabled_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [endpoint.user.email]
    assert "disabled" in mail.outbox[0].subject
    assert endpoint.url in mail.outbox[0].body
    assert f"/account/webhooks/{endpoint.pk}/" in mail.outbox[0].body

    # Disabled: no new deliveries, no retries; a manual send still fails without a 2nd email.
    assert webhooks.emit("sale.approved", key=4, user_ids=[endpoint.user_id], data={}) == 0
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1)):
        assert webhooks.deliver_due() == 0
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.delivery_resend(
            delivery=WebhookDelivery.objects.order_by("pk").first(), by_user=endpoint.user
        )
    assert len(received(httpserver)) == 4
    assert len(mail.outbox) == 1


def test_enabling_again_resets_the_count_and_sends_what_waited(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("up")
    webhooks.endpoint_enable(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.consecutive_failures) == (True, 0)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        assert webhooks.deliver_due() == 1
    assert delivery_of(endpoint).status == "succeeded"


def test_a_success_resets_the_failure_count(
    endpoint, httpserver, django_capture_on_commit_callbacks
):
    endpoint.consecutive_failures = 7
    endpoint.save()
    httpserver.expect_request("/hook").respond_with_data("ok")
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    old = endpoint.secret
    with time_machine.travel(START, tick=False) as clock:
        new = webhooks.endpoint_rotate_secret(endpoint=endpoint)
        assert new != old and new.startswith("whsec_")
        emit_sale(endpoint, django_capture_on_commit_callbacks, key=1)
        (during,) = received(httpserver)
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        verify(during, old, new)

        clock.shift(settings.WEBHOOK_SECRET_ROTATION_OVERLAP + timedelta(seconds=1))
        emit_sale(endpoint, django_capture_on_commit_callbacks, key=2)
        after = received(httpserver)[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        verify(after, new)
        with pytest.raises(WebhookVerificationError):
            verify(after, old)


def test_a_resend_posts_the_same_message_again_logged_as_manual(
    endpoint, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    delivery = delivery_of(endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.delivery_resend(delivery=delivery, by_user=endpoint.user)
    first, second = received(httpserver)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verify(second, endpoint.secret)
    assert first.get_data() == second.get_data()
    assert list(delivery.attempt_log.order_by("pk").values_list("manual", flat=True)) == [
        False,
        True,
    ]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_a_failed_delivery_resent_successfully_succeeds(
    endpoint, httpserver, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_RETRY_DELAYS = []
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    delivery = delivery_of(endpoint)
    assert delivery.status == "failed"
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.delivery_resend(delivery=delivery, by_user=endpoint.user)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_nobody_resends_someone_elses_delivery(endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={})
    with pytest.raises(webhooks.WebhookError):
        webhooks.delivery_resend(delivery=delivery_of(endpoint), by_user=UserFactory())


def test_a_ping_goes_to_that_endpoint_only_and_is_not_retried(
    endpoint, hook_url, httpserver, django_capture_on_commit_callbacks
):
    other = WebhookEndpointFactory(user=endpoint.user, url=hook_url + "?other")
    httpserver.expect_request("/hook").respond_with_data("pong")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.endpoint_ping(endpoint=endpoint)
    (request,) = received(httpserver)
    payload = verify(request, endpoint.secret)
    assert payload["type"] == "ping"
    assert payload["data"]["endpoint_url"] == endpoint.url
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempt_log.get().manual is True
    assert not other.deliveries.exists()

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        failing = webhooks.endpoint_ping(endpoint=endpoint)
    failing.refresh_from_db()
    assert (failing.status, failing.next_attempt_at) == ("failed", None)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=4)):
        assert webhooks.deliver_due() == 0


def test_a_ping_reaches_a_disabled_endpoint(
    hook_url, httpserver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpointFactory(url=hook_url, disabled=True)
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.endpoint_ping(endpoint=endpoint)
    assert len(received(httpserver)) == 1


def test_one_row_that_breaks_does_not_stop_the_batch(
    hook_url, httpserver, django_capture_on_commit_callbacks, monkeypatch
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    endpoints = [WebhookEndpointFactory(url=hook_url) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False):
        for endpoint in endpoints:
            webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={})
    broken = delivery_of(endpoints[0]).pk
    real_post = webhooks._post

    def post(delivery):
        if delivery.pk == broken:
            raise RuntimeError("a bug in one row")
        return real_post(delivery)

    monkeypatch.setattr(webhooks, "_post", post)
    assert webhooks.deliver_due() == 2
    assert len(received(httpserver)) == 2
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses.pop(broken) == "pending"
    assert set(statuses.values()) == {"succeeded"}


def test_the_excerpt_keeps_the_first_500_characters(
    endpoint, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("é" * 3000)
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    assert WebhookAttempt.objects.get().response_excerpt == "é" * 500


def test_an_unreachable_endpoint_is_a_failure_with_its_error(
    loopback, django_capture_on_commit_callbacks
):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = WebhookEndpointFactory(url=f"http://127.0.0.1:{port}/hook")
    emit_sale(endpoint, django_capture_on_commit_callbacks)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error
    assert delivery_of(endpoint).status == "pending"


def test_the_signature_is_the_standard_webhooks_one(endpoint):
    at = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    header = webhooks.signature(endpoint, msg_id="msg_1", at=at, body='{"a":1}')
    assert header == Webhook(endpoint.secret).sign("msg_1", at, '{"a":1}')
