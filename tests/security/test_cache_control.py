"""Every response to a logged-in person says Cache-Control: private, no-store (pages,
fragments, the CSV export, the admin, errors): accounts.middleware.PrivateCacheMiddleware."""

import itertools
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from accounts.middleware import PrivateCacheMiddleware
from tests.factories import SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"


def is_private(response) -> bool:
    """private and no-store among the directives (a never_cache view says more; fine)."""
    directives = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


# Values tried for each URL argument until reverse() accepts one.
SAMPLES = [1, "accounts", "user", "x", uuid.UUID(int=1), "2026-01"]


def named_patterns(patterns=None, namespace=""):
    """(name, argument names) of every named URL pattern, admin and allauth included."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_patterns(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", sorted(entry.pattern.regex.groupindex)


def url_for(name, arguments):
    for values in itertools.product(SAMPLES, repeat=len(arguments)):
        try:
            return reverse(name, kwargs=dict(zip(arguments, values, strict=True)))
        except NoReverseMatch:
            continue
    return None


@pytest.fixture
def person_client():
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(is_staff=True, is_superuser=True, validated=True))
    return client


def test_every_url_answers_a_logged_in_person_privately(person_client):
    SaleFactory(paid=True)
    checked, missing, unreachable = [], [], []
    for name, arguments in named_patterns():
        if name in {"account_logout"}:
            continue
        url = url_for(name, arguments)
        if url is None:
            unreachable.append(name)
            continue
        response = person_client.get(url)
        checked.append(url)
        if not is_private(response):
            missing.append((url, response.status_code, response.headers.get("Cache-Control")))

    assert not missing
    # The walk really covered the site (admin, allauth, our apps), not a handful of pages.
    assert len(checked) > 100, len(checked)
    assert len(unreachable) < len(checked) / 10, unreachable


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
