"""Every response to a logged-in person says Cache-Control: private, no-store (pages,
fragments, the CSV export, the admin, errors): accounts.middleware.PrivateCacheMiddleware."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.urls import reverse

from accounts.middleware import PrivateCacheMiddleware
from tests.factories import SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"


def is_private(response) -> bool:
    """private and no-store among the directives (a never_cache view says more; fine)."""
    directives = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def test_every_url_answers_a_logged_in_person_privately(person_client, site_urls):
    SaleFactory(paid=True)
    missing = []
    for url in site_urls:
        response = person_client.get(url)
        if not is_private(response):
            missing.append((url, response.status_code, response.headers.get("Cache-Control")))

    assert not missing


def test_the_csv_export_is_private(person_client):
    response = person_client.get(reverse("products:sales_csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == PRIVATE


def test_a_view_that_said_public_is_made_private(rf):
    def public_view(request):
        response = HttpResponse("mine")
        response["Cache-Control"] = "public, max-age=3600"
        return response

    request = rf.get("/")
    request.user = UserFactory()
    assert PrivateCacheMiddleware(public_view)(request)["Cache-Control"] == PRIVATE

    request.user = AnonymousUser()
    assert PrivateCacheMiddleware(public_view)(request)["Cache-Control"] == "public, max-age=3600"
