"""The person's language and zone hold for their request only (accounts.middleware)."""

import pytest
from django.utils import timezone, translation

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_request_leaves_no_language_or_zone_behind(client):
    client.force_login(UserFactory(language="pt-br", time_zone="America/Sao_Paulo"))

    response = client.get("/dashboard/")

    assert response["Content-Language"] == "pt-br"
    assert '<html lang="pt-br">' in response.content.decode()
    assert translation.get_language() == "en"
    assert timezone.get_current_timezone_name() == "UTC"


def test_an_anonymous_visitor_follows_the_browser(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9")

    assert '<html lang="es">' in response.content.decode()
    assert response["Content-Language"] == "es"
