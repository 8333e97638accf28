"""System checks for logins: rate limits need a cache that every process shares."""

from django.conf import settings
from django.core.checks import Error, Tags, register

# Each process (gunicorn worker, host) would count on its own: 2 workers let through twice the
# failed logins, and a restart forgets them.
PER_PROCESS_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)


@register(Tags.security, Tags.caches)
def shared_cache_check(app_configs, **kwargs):
    if not getattr(settings, "REQUIRE_SHARED_CACHE", False):
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PER_PROCESS_CACHES:
        return [
            Error(
                f"The default cache is {backend.rsplit('.', 1)[-1]}: login and sign-up rate "
                "limits would be counted per process, not for the whole site.",
                hint="Set CACHE_URL (or REDIS_URL) to a Redis server every process shares, "
                "e.g. redis://127.0.0.1:6379/1.",
                id="accounts.E001",
            )
        ]
    return []
