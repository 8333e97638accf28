"""API tokens in the admin: read-only, the token never shown (only its prefix), and support
may revoke one (a leaked token): it answers 401 at once."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.api_tokens import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def token():
    return api_token_create(user=UserFactory(), name="CRM sync", scope="write")


def test_the_pages_open_read_only_without_the_token(client, superuser, token):
    row, plaintext = token
    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert listing.status_code == 200
    assert row.prefix in listing.content.decode()
    page = client.get(reverse("admin:accounts_apitoken_change", args=[row.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert plaintext not in body and row.digest not in body
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    assert client.get(reverse("admin:accounts_apitoken_delete", args=[row.pk])).status_code == 403


def test_staff_revoke_a_token_and_it_stops_working(client, superuser, token):
    row, plaintext = token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    assert client.get("/api/v1/products", **auth).status_code == 200
    response = client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke_tokens", ACTION_CHECKBOX_NAME: [row.pk]},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    answer = client.get("/api/v1/products", **auth)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_a_staff_member_without_permissions_sees_no_tokens(client, token):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:accounts_apitoken_changelist")).status_code in (302, 403)
