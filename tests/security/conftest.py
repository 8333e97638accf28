"""Logins with the production rate limits (test settings turn them off) and a clean cache; the
walk over every named URL pattern (admin and allauth included) that header tests share."""

import itertools
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from config.settings import base
from tests.factories import UserFactory


@pytest.fixture
def rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = base.ACCOUNT_RATE_LIMITS
    cache.clear()
    yield base.ACCOUNT_RATE_LIMITS
    cache.clear()


# Values tried for each URL argument until reverse() accepts one.
SAMPLES = [1, "accounts", "user", "x", uuid.UUID(int=1), "2026-01"]
# Getting it logs the client out: the pages after it would all be the anonymous ones.
SKIPPED = {"account_logout"}


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
def site_urls():
    """A URL for every named pattern (sample arguments: some answer 404, which is a response
    too). The walk must really cover the site (admin, allauth, our apps), not a handful of
    pages, so a change that breaks reverse() for many names fails here."""
    urls, unreachable = [], []
    for name, arguments in named_patterns():
        if name in SKIPPED:
            continue
        url = url_for(name, arguments)
        (urls if url is not None else unreachable).append(url or name)
    assert len(urls) > 100, len(urls)
    assert len(unreachable) < len(urls) / 10, unreachable
    return urls


@pytest.fixture
def person_client():
    """A logged-in, validated staff member (superuser): the admin's pages answer too."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(is_staff=True, is_superuser=True, validated=True))
    return client
