"""The webhook screens: login required, another person's endpoint or delivery is a 404, bad
input is a form error (never a 500), the secret is shown once."""

import pytest
from django.urls import reverse

from accounts import outgoing_webhooks as webhooks
from accounts.models import WebhookDelivery, WebhookEndpoint
from tests.factories import UserFactory
from tests.webhooks.conftest import received
from tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def _delivery(endpoint) -> WebhookDelivery:
    webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={"id": 1})
    return WebhookDelivery.objects.get(endpoint=endpoint)


def urls(endpoint, delivery) -> list[tuple[str, str]]:
    pk = endpoint.pk
    return [
        ("get", reverse("webhooks:detail", args=[pk])),
        ("get", reverse("webhooks:edit", args=[pk])),
        ("post", reverse("webhooks:edit", args=[pk])),
        ("get", reverse("webhooks:secret", args=[pk])),
        ("post", reverse("webhooks:rotate", args=[pk])),
        ("post", reverse("webhooks:enable", args=[pk])),
        ("post", reverse("webhooks:disable", args=[pk])),
        ("post", reverse("webhooks:ping", args=[pk])),
        ("get", reverse("webhooks:delete", args=[pk])),
        ("post", reverse("webhooks:delete", args=[pk])),
        ("post", reverse("webhooks:resend", args=[pk, delivery.pk])),
    ]


def test_anonymous_people_are_sent_to_log_in(client):
    endpoint = WebhookEndpointFactory()
    delivery = _delivery(endpoint)
    pages = [
        ("get", reverse("webhooks:list")),
        ("get", reverse("webhooks:add")),
        *urls(endpoint, delivery),
    ]
    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login")), url


def test_another_persons_endpoint_is_not_found_and_untouched(client):
    endpoint = WebhookEndpointFactory()
    delivery = _delivery(endpoint)
    before = WebhookEndpoint.objects.values().get()
    client.force_login(UserFactory())
    for method, url in urls(endpoint, delivery):
        assert getattr(client, method)(url).status_code == 404, url
    assert WebhookEndpoint.objects.values().get() == before
    assert delivery.attempt_log.count() == 0


def test_a_delivery_of_another_endpoint_is_not_found_under_mine(client):
    mine = WebhookEndpointFactory()
    theirs = _delivery(WebhookEndpointFactory())
    client.force_login(mine.user)
    url = reverse("webhooks:resend", args=[mine.pk, theirs.pk])
    assert client.post(url).status_code == 404


def test_the_list_shows_only_my_endpoints(client):
    mine = WebhookEndpointFactory(url="https://mine.example.com/hook", description="My CRM")
    WebhookEndpointFactory(url="https://theirs.example.com/hook")
    _delivery(mine)
    client.force_login(mine.user)
    response = client.get(reverse("webhooks:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "https://mine.example.com/hook" in html and "My CRM" in html
    assert "theirs.example.com" not in html
    assert "Sale approved" in html
    assert "Pending" in html  # its last delivery's status
    assert reverse("webhooks:add") in html


def test_the_list_is_empty_with_an_add_button(client):
    client.force_login(UserFactory())
    response = client.get(reverse("webhooks:list"))
    assert "No endpoints yet" in response.content.decode()


def test_settings_links_to_webhooks(client):
    client.force_login(UserFactory())
    response = client.get(reverse("accounts:settings"))
    assert reverse("webhooks:list") in response.content.decode()


def test_adding_an_endpoint_shows_its_secret_once(client, loopback):
    user = UserFactory()
    client.force_login(user)
    form = client.get(reverse("webhooks:add")).content.decode()
    assert 'type="checkbox"' in form and "Recurrence declined" in form
    response = client.post(
        reverse("webhooks:add"),
        {
            "url": "http://127.0.0.1:9/hook",
            "description": "Members area",
            "event_types": ["sale.approved", "payout.paid"],
        },
    )
    endpoint = WebhookEndpoint.objects.get(user=user)
    assert response.status_code == 302
    assert response.url == reverse("webhooks:secret", args=[endpoint.pk])
    assert endpoint.event_types == ["sale.approved", "payout.paid"]
    page = client.get(response.url)
    html = page.content.decode()
    assert endpoint.secret in html
    assert "it will not be shown again" in html
    assert "no-store" in page["Cache-Control"]
    again = client.get(response.url).content.decode()
    assert endpoint.secret not in again
    assert "already shown" in again


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"url": "https://10.0.0.1/hook"}, "url", "cannot receive webhooks"),
        ({"url": "https://169.254.169.254/"}, "url", "link-local"),
        ({"url": "http://example.com/hook"}, "url", "must start with https://"),
        ({"url": "https://example.com/" + "a" * 500}, "url", "at most 500 characters"),
        ({"event_types": []}, "event_types", "Choose at least one event."),
        ({"event_types": ["ping"]}, "event_types", "Select a valid choice."),
        ({"description": "d" * 201}, "description", "at most 200 characters"),
    ],
)
def test_bad_input_is_a_form_error(client, data, field, text, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    client.force_login(UserFactory())
    values = {"url": "https://127.0.0.1/x", "event_types": ["sale.approved"], **data}
    if field != "url":
        settings.WEBHOOK_ALLOW_LOOPBACK = True
    response = client.post(reverse("webhooks:add"), values)
    assert response.status_code == 200
    assert text in " ".join(response.context["form"].errors[field])
    assert not WebhookEndpoint.objects.exists()


def test_the_eleventh_endpoint_is_refused_with_a_message(client, loopback):
    user = UserFactory()
    WebhookEndpointFactory.create_batch(10, user=user)
    client.force_login(user)
    response = client.post(
        reverse("webhooks:add"),
        {"url": "http://127.0.0.1:9/hook", "event_types": ["sale.approved"]},
    )
    assert response.status_code == 200
    assert "at most 10" in response.content.decode()
    assert "Add endpoint" not in client.get(reverse("webhooks:list")).content.decode()


def test_editing_checks_the_url_again(client, settings):
    endpoint = WebhookEndpointFactory()
    client.force_login(endpoint.user)
    url = reverse("webhooks:edit", args=[endpoint.pk])
    assert "hooks.example.com" in client.get(url).content.decode()
    response = client.post(url, {"url": "https://192.168.1.1/", "event_types": ["sale.approved"]})
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    response = client.post(
        url, {"url": "http://127.0.0.1:5/x", "description": "New", "event_types": ["payout.paid"]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == ("http://127.0.0.1:5/x", ["payout.paid"])


def test_the_detail_shows_the_log(client):
    endpoint = WebhookEndpointFactory()
    delivery = _delivery(endpoint)
    client.force_login(endpoint.user)
    response = client.get(reverse("webhooks:detail", args=[endpoint.pk]))
    html = response.content.decode()
    assert delivery.message.msg_id in html
    assert reverse("webhooks:resend", args=[endpoint.pk, delivery.pk]) in html
    assert "Send test event" in html and "Rotate secret" in html and "Disable" in html


def test_the_log_is_paginated(client):
    endpoint = WebhookEndpointFactory()
    for key in range(25):
        webhooks.emit("sale.approved", key=key, user_ids=[endpoint.user_id], data={})
    client.force_login(endpoint.user)
    url = reverse("webhooks:detail", args=[endpoint.pk])
    first = client.get(url).context["page"]
    assert (len(first.object_list), first.paginator.count) == (20, 25)
    assert len(client.get(url + "?page=2").context["page"].object_list) == 5
    assert len(client.get(url + "?page=nonsense").context["page"].object_list) == 20


def test_ping_resend_and_rotate_from_the_screen(
    client, endpoint, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    client.force_login(endpoint.user)
    detail = reverse("webhooks:detail", args=[endpoint.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhooks:ping", args=[endpoint.pk]))
    assert response.status_code == 302 and response.url == detail
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.message.event_type == "ping" and delivery.status == "succeeded"
    assert "Test event" in client.get(detail).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("webhooks:resend", args=[endpoint.pk, delivery.pk]), {"page": "2"}
        )
    assert response.url == detail + "?page=2"
    assert len(received(httpserver)) == 2

    old = endpoint.secret
    response = client.post(reverse("webhooks:rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in client.get(response.url).content.decode()
    assert "previous secret signs until" in client.get(detail).content.decode()


def test_only_post_acts(client):
    endpoint = WebhookEndpointFactory()
    client.force_login(endpoint.user)
    for name in ("rotate", "enable", "disable", "ping"):
        assert client.get(reverse(f"webhooks:{name}", args=[endpoint.pk])).status_code == 405


def test_disable_enable_and_delete_with_confirmation(client):
    endpoint = WebhookEndpointFactory()
    client.force_login(endpoint.user)
    client.post(reverse("webhooks:disable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False
    html = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "Disabled by you" in html and "Enable" in html
    client.post(reverse("webhooks:enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is True

    url = reverse("webhooks:delete", args=[endpoint.pk])
    assert "cannot be undone" in client.get(url).content.decode()
    assert WebhookEndpoint.objects.exists()
    response = client.post(url)
    assert response.url == reverse("webhooks:list")
    assert not WebhookEndpoint.objects.exists()
