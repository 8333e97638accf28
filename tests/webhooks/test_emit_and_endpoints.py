"""emit: one query when nobody listens, one message per person and event, data asked only of
those who receive it. Endpoint services: checked fields, the secret, the limit, rotation."""

import pytest
from django.core.exceptions import ValidationError

from accounts import outgoing_webhooks as webhooks
from accounts.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from tests.factories import UserFactory
from tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def never_called(user_id):
    raise AssertionError(f"data asked for user {user_id}, who receives nothing")


def test_emit_costs_one_query_when_nobody_subscribes(django_assert_num_queries):
    users = UserFactory.create_batch(3)
    WebhookEndpointFactory(user=users[0], event_types=["sale.refunded"])  # another event
    WebhookEndpointFactory(user=users[1], event_types=["sale.approved"], disabled=True)
    WebhookEndpointFactory(event_types=["sale.approved"])  # someone not told
    with django_assert_num_queries(1):
        created = webhooks.emit(
            "sale.approved", key=7, user_ids=[u.pk for u in users], data=never_called
        )
    assert created == 0
    assert not WebhookMessage.objects.exists()


def test_emit_to_nobody_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert webhooks.emit("sale.approved", key=7, user_ids=[], data=never_called) == 0


def test_emit_asks_the_data_of_each_receiver_and_writes_one_message_each(
    django_capture_on_commit_callbacks,
):
    producer, cocreator, buyer = UserFactory.create_batch(3)
    producer_endpoints = WebhookEndpointFactory.create_batch(2, user=producer)
    cocreator_endpoint = WebhookEndpointFactory(user=cocreator)
    asked = []

    def data(user_id):
        asked.append(user_id)
        return {"sale": 9, "for": user_id}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = webhooks.emit(
            "sale.approved",
            key=9,
            user_ids=(pk for pk in [producer.pk, cocreator.pk, buyer.pk, producer.pk]),
            data=data,
        )
    assert created == 3
    assert len(callbacks) == 3  # one delivery task each, after the commit
    assert sorted(asked) == sorted([producer.pk, cocreator.pk])
    messages = {m.user_id: m for m in WebhookMessage.objects.all()}
    assert set(messages) == {producer.pk, cocreator.pk}
    assert messages[cocreator.pk].payload["data"] == {"sale": 9, "for": cocreator.pk}
    assert messages[producer.pk].msg_id != messages[cocreator.pk].msg_id
    assert messages[producer.pk].key == "9"
    deliveries = WebhookDelivery.objects.all()
    assert {d.endpoint_id for d in deliveries} == {
        *(e.pk for e in producer_endpoints),
        cocreator_endpoint.pk,
    }
    assert {d.status for d in deliveries} == {"pending"}
    assert all(d.next_attempt_at is not None for d in deliveries)


def test_emit_again_creates_nothing_and_enqueues_nothing(django_capture_on_commit_callbacks):
    endpoint = WebhookEndpointFactory()
    with django_capture_on_commit_callbacks(execute=False):
        assert webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={}) == 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={}) == 0
    assert callbacks == []
    assert WebhookMessage.objects.count() == WebhookDelivery.objects.count() == 1
    # Another key is another event.
    with django_capture_on_commit_callbacks(execute=False):
        assert webhooks.emit("sale.approved", key=2, user_ids=[endpoint.user_id], data={}) == 1


def test_emit_serialises_decimals_and_dates():
    from datetime import date
    from decimal import Decimal

    endpoint = WebhookEndpointFactory()
    webhooks.emit(
        "sale.approved",
        key=1,
        user_ids=[endpoint.user_id],
        data={"amount": Decimal("97.00"), "day": date(2026, 12, 2)},
    )
    assert WebhookMessage.objects.get().payload["data"] == {"amount": "97.00", "day": "2026-12-02"}


def test_emit_refuses_an_unknown_event_type():
    with pytest.raises(ValueError):
        webhooks.emit("sale.exploded", key=1, user_ids=[1], data={})
    with pytest.raises(ValueError):
        webhooks.emit("ping", key=1, user_ids=[1], data={})


def test_the_event_types_are_the_issue_s_list():
    assert list(webhooks.EVENT_TYPES) == [
        "sale.approved",
        "sale.refunded",
        "sale.chargeback",
        "subscription.status_changed",
        "recurrence.paid",
        "recurrence.declined",
        "invitation.answered",
        "change_request.answered",
        "contract.ended",
        "payout.paid",
    ]


# --- endpoint services -------------------------------------------------------------------------


def test_create_returns_a_standard_webhooks_secret(loopback):
    user = UserFactory()
    endpoint, secret = webhooks.endpoint_create(
        user=user,
        url=" http://127.0.0.1:9/hook ",
        description="CRM",
        event_types=["sale.refunded", "sale.approved"],
    )
    assert secret.startswith("whsec_") and endpoint.secret == secret
    from standardwebhooks import Webhook

    Webhook(secret)  # a valid secret for the library
    assert endpoint.url == "http://127.0.0.1:9/hook"
    assert endpoint.event_types == ["sale.approved", "sale.refunded"]  # the list's order
    _endpoint, other = webhooks.endpoint_create(
        user=user, url="http://127.0.0.1:9/hook", event_types=["sale.approved"]
    )
    assert other != secret


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"url": "https://10.0.0.1/hook"}, "url", "private_address"),
        ({"url": "https://192.168.0.1/hook"}, "url", "private_address"),
        ({"url": "https://169.254.169.254/"}, "url", "private_address"),
        ({"url": "https://[::1]/hook"}, "url", "private_address"),
        ({"url": "http://example.com/hook"}, "url", "https_required"),
        ({"url": "https://127.0.0.1/" + "a" * 500}, "url", "max_length"),
        ({"event_types": []}, "event_types", "no_events"),
        ({"event_types": ["ping"]}, "event_types", "unknown_event"),
        ({"description": "d" * 201}, "description", "max_length"),
    ],
)
def test_create_refuses_bad_fields(fields, field, code, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    values = {"url": "https://127.0.0.1/hook", "event_types": ["sale.approved"], **fields}
    if field != "url":
        settings.WEBHOOK_ALLOW_LOOPBACK = True
    with pytest.raises(ValidationError) as caught:
        webhooks.endpoint_create(user=UserFactory(), **values)
    assert field in caught.value.error_dict
    assert caught.value.error_dict[field][0].code == code
    assert not WebhookEndpoint.objects.exists()


def test_a_person_has_at_most_ten_endpoints(loopback):
    user = UserFactory()
    WebhookEndpointFactory.create_batch(10, user=user)
    WebhookEndpointFactory()  # someone else's do not count
    with pytest.raises(webhooks.WebhookError) as caught:
        webhooks.endpoint_create(
            user=user, url="http://127.0.0.1:9/hook", event_types=["sale.approved"]
        )
    assert "at most 10" in caught.value.message
    assert WebhookEndpoint.objects.filter(user=user).count() == 10


def test_update_checks_the_url_again(settings):
    endpoint = WebhookEndpointFactory()
    with pytest.raises(ValidationError):
        webhooks.endpoint_update(
            endpoint=endpoint,
            url="https://10.0.0.2/",
            description="",
            event_types=["sale.approved"],
        )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/coprod"
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    webhooks.endpoint_update(
        endpoint=endpoint,
        url="http://127.0.0.1:1/new",
        description="New",
        event_types=["payout.paid"],
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "http://127.0.0.1:1/new",
        "New",
        ["payout.paid"],
    )


def test_rotation_keeps_the_old_secret_for_the_overlap_only(settings):
    import time_machine
    from django.utils import timezone

    endpoint = WebhookEndpointFactory()
    old = endpoint.secret
    with time_machine.travel("2026-12-02 12:00Z", tick=False):
        new = webhooks.endpoint_rotate_secret(endpoint=endpoint)
        assert (endpoint.secret, endpoint.previous_secret) == (new, old)
        now = timezone.now()
        assert webhooks.signing_secrets(endpoint, at=now) == [new, old]
        until = now + settings.WEBHOOK_SECRET_ROTATION_OVERLAP
        assert webhooks.previous_secret_until(endpoint) == until
        assert webhooks.signing_secrets(endpoint, at=until) == [new]
        # Rotating again drops the oldest at once.
        newest = webhooks.endpoint_rotate_secret(endpoint=endpoint)
        assert webhooks.signing_secrets(endpoint, at=now) == [newest, new]


def test_disable_and_enable():
    endpoint = WebhookEndpointFactory(consecutive_failures=4)
    webhooks.endpoint_disable(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False and endpoint.disabled_at is not None
    assert webhooks.disabled_reason_display(endpoint) == "Disabled by you"
    webhooks.endpoint_enable(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_at, endpoint.consecutive_failures) == (
        True,
        None,
        0,
    )


def test_delete_removes_the_log_and_keeps_the_messages(django_capture_on_commit_callbacks):
    endpoint = WebhookEndpointFactory()
    with django_capture_on_commit_callbacks(execute=False):
        webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={})
    webhooks.endpoint_delete(endpoint=endpoint)
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert WebhookMessage.objects.count() == 1
