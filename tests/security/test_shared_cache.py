"""Production refuses to start without a cache every process shares (rate limits)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from accounts.checks import shared_cache_check

REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_a_per_process_cache_fails_the_check(settings, backend):
    settings.REQUIRE_SHARED_CACHE = True
    settings.CACHES = {"default": {"BACKEND": backend}}

    assert [error.id for error in shared_cache_check(None)] == ["accounts.E001"]


def test_a_redis_cache_passes(settings):
    settings.REQUIRE_SHARED_CACHE = True
    settings.CACHES = REDIS

    assert shared_cache_check(None) == []


def test_development_and_tests_may_use_a_memory_cache():
    assert not getattr(django_settings, "REQUIRE_SHARED_CACHE", False)
    assert shared_cache_check(None) == []


def production_settings(**env) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CACHE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/coprod",
        GATEWAY_WEBHOOK_SECRET="y" * 40,
        PAYOUT_WEBHOOK_SECRET="z" * 40,
        **env,
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, config.settings.production as p; print(p.CACHES); "
            "print(*(getattr(p, n) for n in os.environ.get('PRINT', '').split()))",
        ],
        env=environment,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        check=False,
    )


def test_production_settings_refuse_to_load_without_a_cache_url():
    result = production_settings()

    assert result.returncode != 0
    assert "CACHE_URL (or REDIS_URL) must name a Redis cache" in result.stderr


@pytest.mark.parametrize("name", ["CACHE_URL", "REDIS_URL"])
def test_production_settings_use_the_redis_cache_named(name):
    result = production_settings(**{name: "redis://127.0.0.1:6379/1"})

    assert result.returncode == 0, result.stderr
    assert "RedisCache" in result.stdout
    assert "redis://127.0.0.1:6379/1" in result.stdout
