"""Logins with the production rate limits (test settings turn them off) and a clean cache."""

import pytest
from django.core.cache import cache

from config.settings import base


@pytest.fixture
def rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = base.ACCOUNT_RATE_LIMITS
    cache.clear()
    yield base.ACCOUNT_RATE_LIMITS
    cache.clear()
