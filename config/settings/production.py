"""Production settings: PostgreSQL, a real broker, secure cookies and HTTPS; all from the env."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.logs import logging_config
from config.sentry import init_sentry

from .base import *  # noqa: F403
from .base import (
    CACHE_URL,
    DEV_PAYOUT_WEBHOOK_SECRET,
    DEV_WEBHOOK_SECRET,
    LOG_LEVEL,
    SENTRY_DSN,
    env_bool,
)

DEBUG = False

if os.environ.get("SECRET_KEY") is None:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
if not os.environ.get("DATABASE_URL"):
    # Without it the settings would aim at the development cluster in var/pg.
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL in production.")

# The webhook that marks payments paid is only as safe as its secret: never the development
# default printed in the source (products.checks says so in `check --deploy` too).
GATEWAY_WEBHOOK_SECRET = os.environ.get("GATEWAY_WEBHOOK_SECRET", "")
if len(GATEWAY_WEBHOOK_SECRET) < 32 or GATEWAY_WEBHOOK_SECRET == DEV_WEBHOOK_SECRET:
    raise ImproperlyConfigured(
        "GATEWAY_WEBHOOK_SECRET must be set in production (at least 32 characters, not the "
        "development default)."
    )
# The same for the payout gateway's webhook: a forged "payout failed" would give back money
# that was paid out.
PAYOUT_WEBHOOK_SECRET = os.environ.get("PAYOUT_WEBHOOK_SECRET", "")
if len(PAYOUT_WEBHOOK_SECRET) < 32 or PAYOUT_WEBHOOK_SECRET == DEV_PAYOUT_WEBHOOK_SECRET:
    raise ImproperlyConfigured(
        "PAYOUT_WEBHOOK_SECRET must be set in production (at least 32 characters, not the "
        "development default)."
    )

# Login and sign-up limits count in the cache: one that every process and host shares
# (accounts.checks fails `check` on a per-process cache too, should CACHES be overridden).
REQUIRE_SHARED_CACHE = True
if not CACHE_URL:
    raise ImproperlyConfigured(
        "CACHE_URL (or REDIS_URL) must name a Redis cache in production: rate limits must be "
        "shared by every process."
    )

# The client's address (rate limits) is the one the proxies in front of the app saw: the
# TRUSTED_PROXY_COUNT-th from the right in X-Forwarded-For. By default one TLS proxy, the same
# one SECURE_PROXY_SSL_HEADER trusts; 0 if the app is reached directly (then the header is
# ignored). Or a header such a proxy sets itself (TRUSTED_CLIENT_IP_HEADER, e.g. X-Real-IP).
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "1"))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
AFFILIATE_COOKIE_SECURE = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# JSON lines on stdout for the log collector (LOG_FORMAT=text for a person reading a terminal).
LOGGING = logging_config(fmt=os.environ.get("LOG_FORMAT", "json"), level=LOG_LEVEL)
init_sentry(dsn=SENTRY_DSN, environment="production")
