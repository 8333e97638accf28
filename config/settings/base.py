"""Settings shared by every environment; each value that differs per machine comes from the env."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.contrib.messages import constants as message_constants

from config.devdb import database_url
from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-only-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # django.contrib.admin with one "Accounts" section (allauth's and ours merged).
    "config.admin_site.CoprodAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "django_countries",
    "django_celery_beat",
    # The REST API's interactive docs serve Swagger UI from ninja's own static files.
    "ninja",
    "accounts",
    "products",
    "coproduction",
    "subscriptions",
]

MIDDLEWARE = [
    # Outside everything else, so that every response carries these two headers: pages,
    # fragments, the admin, redirects, errors, static files and the probes (policies below).
    # They read no session, set no cookie and add no Vary.
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # /healthz and /readyz are answered here, before the host check, the HTTPS redirect and any
    # session, CSRF or locale work (config.health).
    "config.health.HealthCheckMiddleware",
    # Every later log line, response and enqueued task carries the request's id.
    "config.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PersonLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After allauth's: staff without a second factor set one up before anything else.
    "accounts.middleware.StaffMFAMiddleware",
    # Responses to a logged-in person: Cache-Control: private, no-store.
    "accounts.middleware.PrivateCacheMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Content-Security-Policy (django-csp): scripts, styles and everything else come from our own
# origin only, as files. No inline <script>, on…= handler or style="…" attribute runs, no eval
# (htmx's own eval and indicator <style> are off in templates/base.html's htmx-config). Data
# images are allowed for allauth's TOTP QR code. tests/security/test_headers.py walks every URL
# and tests/e2e/test_csp.py opens the main pages, the admin and the MFA pages in a browser.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Permissions-Policy (django-permissions-policy): the browser features no page uses are off for
# us and for anything embedded. Copying (payment slips, recovery codes) writes the clipboard;
# reading it keeps the browser's default (this origin, and only after the person allows it).
# Passkeys are not offered (MFA_SUPPORTED_TYPES): allow publickey-credentials-* with "self" the
# day they are; the payment gateway would need "payment" the same way.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "ambient-light-sensor": [],
    "autoplay": [],
    "bluetooth": [],
    "browsing-topics": [],
    "camera": [],
    "clipboard-write": ["self"],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "local-fonts": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-create": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "window-management": [],
    "xr-spatial-tracking": [],
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"fragments": "config.templatetags.fragments"},
        },
    },
    # The rows of long lists (config/jinja.py): `.jinja` files beside the pages, used only
    # through {% rows %}. Django's engine comes first and never loads them by itself.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "config.jinja.environment",
            "context_processors": ["config.jinja.row_helpers"],
            "autoescape": True,
            "trim_blocks": True,
            "lstrip_blocks": True,
        },
    },
]

# Form widgets render with Django's own Jinja2 templates where it has them (config/forms.py).
FORM_RENDERER = "config.forms.FormRenderer"

# PostgreSQL everywhere. DATABASE_URL names the server; unset, the embedded cluster in var/pg
# that `python -m config.devdb` starts for `make run` and `make test` (config/devdb.py).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or database_url(VAR_DIR / "pg"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
        # Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator()) may
        # outlive the server connection it was opened on: DB_DISABLE_SERVER_SIDE_CURSORS=1
        # makes iterator() fetch in chunks on the client instead (README, several hosts).
        disable_server_side_cursors=env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Services own their transactions; a request is not one big transaction.
ATOMIC_REQUESTS = False

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"

# django-allauth 65: email is the login; verification is mandatory.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Coprod] "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False

# Sign-up: an existing email costs the same password hash as a new one (accounts.signup).
ACCOUNT_FORMS = {"signup": "accounts.signup.EvenSignupForm"}
# Failed logins are counted per IP, per account *and IP*, and per account from every IP: one
# address guessing cannot lock the owner out elsewhere (accounts.adapters.pre_authenticate);
# guessing one account from many addresses is still capped. Keys hash the email.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key,20/h/key",
    "login_failed_account": "100/h/key",
}
# The client's address for those limits: X-Forwarded-For is ignored unless the number of
# proxies in front of the app is configured (production reads TRUSTED_PROXY_COUNT).
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = os.environ.get("TRUSTED_CLIENT_IP_HEADER") or None

# Two-factor: an authenticator app (TOTP) with recovery codes; required for staff
# (accounts.middleware.StaffMFAMiddleware and the admin's permission), offered to everyone.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Coprod"

# Rate limits (logins, sign-ups, resets) must be shared by every process: a Redis cache from
# CACHE_URL (or REDIS_URL). Without one, a per-process memory cache (development and tests only:
# production refuses to start without it, accounts.checks says why).
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or ""
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "coprod",
    }
}
if CACHE_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
    }

LANGUAGE_CODE = "en"
# English (the seeds' exact labels), Brazilian Portuguese and Spanish; catalogs in locale/,
# compiled by `make` (pybabel compile), never committed.
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
# A recurrence is charged from this hour of its due date in the buyer's zone (not at midnight).
BILLING_LOCAL_HOUR = 8
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

MESSAGE_TAGS = {message_constants.ERROR: "error"}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Coprod <no-reply@coprod.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: the broker comes from the environment; locally an embedded filesystem broker.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    # kombu's docstring has "in" and "out" swapped; pointing both at one folder sidesteps it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Every task is acknowledged after it ran (above) and has time limits (seconds): the soft one
# raises SoftTimeLimitExceeded in the task, the hard one kills its worker process. The billing,
# refund and reconcile runs loop over batches and may take long on a big cycle; each batch
# commits on its own and a claimed row whose worker died is taken over after its lease, so a run
# cut short leaves the rest to the next one. (Time limits need the prefork pool, as in the
# Procfile; `make run`'s solo worker ignores them.)
CELERY_TASK_SOFT_TIME_LIMIT = 5 * 60
CELERY_TASK_TIME_LIMIT = 6 * 60
_LONG_RUN = {"soft_time_limit": 25 * 60, "time_limit": 30 * 60, "acks_late": True}
CELERY_TASK_ANNOTATIONS = {
    "subscriptions.create_due_recurrences": _LONG_RUN,
    "subscriptions.collect_recurrences": _LONG_RUN,
    "subscriptions.expire_payments": _LONG_RUN,
    "products.retry_refunds": _LONG_RUN,
    "products.reconcile_attempts": _LONG_RUN,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Declared in code (UTC); the DatabaseScheduler syncs them into its tables at start-up.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "config.celery.heartbeat",
        "schedule": crontab(minute="*/5"),
    },
    # Hourly: a contract ends at 24:00 of its end date in its producer's zone, whatever the zone.
    "expire-contracts": {
        "task": "coproduction.expire_contracts",
        "schedule": crontab(minute=5),
    },
    # Billing: due recurrences are created, charged (retries included) and expired.
    "create-due-recurrences": {
        "task": "subscriptions.create_due_recurrences",
        "schedule": crontab(minute="*/5"),
    },
    "collect-recurrences": {
        "task": "subscriptions.collect_recurrences",
        "schedule": crontab(minute="*"),
    },
    "expire-payments": {
        "task": "subscriptions.expire_payments",
        "schedule": crontab(minute="*/10"),
    },
    # Refunds the gateway refused or never answered are sent again (same keys).
    "retry-refunds": {
        "task": "products.retry_refunds",
        "schedule": crontab(minute="*/5"),
    },
    # One-time checkouts whose answer was lost are asked again (same key) and recorded.
    "reconcile-attempts": {
        "task": "products.reconcile_attempts",
        "schedule": crontab(minute="*/5"),
    },
    # Hourly reminders (each told once): slips expiring within a day, renewals a week away,
    # contracts ending within 7 days (in their producer's zone).
    "send-reminders": {
        "task": "subscriptions.send_reminders",
        "schedule": crontab(minute=20),
    },
    "remind-slips": {
        "task": "products.remind_slips",
        "schedule": crontab(minute=22),
    },
    "remind-expiring-contracts": {
        "task": "coproduction.remind_expiring_contracts",
        "schedule": crontab(minute=25),
    },
    # Outgoing webhooks whose enqueued delivery was lost, or whose retry is due, are sent.
    "deliver-due-webhooks": {
        "task": "accounts.deliver_due_webhooks",
        "schedule": crontab(minute="*"),
    },
    "dispatch-stale-withdrawals": {
        "task": "coproduction.dispatch_stale_withdrawals",
        "schedule": crontab(minute="*/5"),
    },
}

# Money: platform fee per charge = percentage of the amount + a fixed amount per currency.
PLATFORM_FEE_PERCENT = "9.9"
PLATFORM_FEE_FIXED_MINOR = {"BRL": 50, "USD": 50, "EUR": 50, "MXN": 500, "COP": 200000}
# The lowest and highest price a producer may set, (min, max) in minor units, both allowed
# (products.money.price_limits). Each minimum still leaves the producer a positive share after
# the platform fee, an 80 % affiliate and cocreators holding 70 % (tests/products/
# test_price_limits.py); each maximum is worth roughly US$ 10 000.
PRICE_LIMITS_MINOR = {
    "BRL": (5_00, 50_000_00),
    "USD": (1_00, 10_000_00),
    "EUR": (1_00, 10_000_00),
    "MXN": (20_00, 200_000_00),
    "COP": (5_000_00, 40_000_000_00),
}

# A payout account that replaces another receives no withdrawal for this long, and the old
# email address is told (accounts.payout_accounts): time to stop a stolen session's change.
PAYOUT_ACCOUNT_CHANGE_HOLD = timedelta(hours=24)

# Balances and payouts (coproduction.balances, coproduction.services.withdrawals). A sale's
# shares become available the day after its guarantee period plus a holding period: 30 days
# in BRL, 15 in the other currencies (as Hotmart does).
PAYOUT_HOLDING_DAYS = {"BRL": 30}
PAYOUT_HOLDING_DAYS_OTHER = 15
# Per currency, in minor units: the smallest withdrawal, the fee taken from each paid one, and
# the amount above which an admin reviews it (the first of every payout account is reviewed
# too). USD has no payout account kind yet (accounts.PAYOUT_KIND_FOR_CURRENCY).
PAYOUT_LIMITS_MINOR = {
    "BRL": {"minimum": 50_00, "fee": 3_67, "review_above": 10_000_00},
    "EUR": {"minimum": 20_00, "fee": 1_00, "review_above": 2_000_00},
    "MXN": {"minimum": 200_00, "fee": 15_00, "review_above": 40_000_00},
    "COP": {"minimum": 50_000_00, "fee": 3_500_00, "review_above": 8_000_000_00},
    "USD": {"minimum": 20_00, "fee": 1_00, "review_above": 2_000_00},
}
# The payout gateway (coproduction.payout_gateway): the shipped simulator confirms or fails
# each payout by a signed webhook, as a real one would.
PAYOUT_GATEWAY = os.environ.get("PAYOUT_GATEWAY", "simulator")
DEV_PAYOUT_WEBHOOK_SECRET = "dev-payout-webhook-secret-not-for-production-use"
PAYOUT_WEBHOOK_SECRET = os.environ.get("PAYOUT_WEBHOOK_SECRET", DEV_PAYOUT_WEBHOOK_SECRET)
# How long the simulator takes to confirm a payout.
PAYOUT_SIMULATOR_DELAY_SECONDS = 5

# Integrations (accounts.outgoing_webhooks, config.api). Outgoing webhooks: each POST waits at
# most WEBHOOK_TIMEOUT_SECONDS; a failed delivery is tried again after each of
# WEBHOOK_RETRY_DELAYS (seconds: about three days in all), then marked failed; an endpoint
# whose deliveries failed WEBHOOK_DISABLE_AFTER_FAILURES times in a row is disabled and its
# owner emailed. URLs resolving to private, loopback or link-local addresses are refused;
# WEBHOOK_ALLOW_LOOPBACK admits 127.0.0.0/8 and ::1 (tests and local demos only).
WEBHOOK_TIMEOUT_SECONDS = 10
WEBHOOK_RETRY_DELAYS = [5, 300, 1800, 7200, 18000, 36000, 36000, 86400, 86400]
WEBHOOK_DISABLE_AFTER_FAILURES = 50
WEBHOOK_ALLOW_LOOPBACK = os.environ.get("WEBHOOK_ALLOW_LOOPBACK", "") == "1"
# A rotated secret keeps signing (beside the new one) for this long.
WEBHOOK_SECRET_ROTATION_OVERLAP = timedelta(hours=24)
# REST API: requests per token per minute (reads, writes), and the largest page.
API_RATE_LIMITS = {"read": 600, "write": 60}
API_PAGE_SIZE_MAX = 100

# Logs go to stdout with the request id on every line (config.logs): readable here, JSON lines
# in production (LOG_FORMAT=json|text overrides). Money events: config.money_log.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = logging_config(fmt=os.environ.get("LOG_FORMAT", "text"), level=LOG_LEVEL)
# The worker and beat log through the same LOGGING instead of Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Error tracking: Sentry (Django, Celery, beat's schedules as cron monitors) only when
# SENTRY_DSN is set; local.py and production.py switch it on, tests never (config.sentry).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")

# /readyz: beat's heartbeat (every 5 minutes, recorded at least every 3) older than this, in
# seconds, means beat is down and nothing is billed; the broker must answer within
# HEALTH_BROKER_TIMEOUT seconds.
HEALTH_HEARTBEAT_MAX_AGE = int(os.environ.get("HEALTH_HEARTBEAT_MAX_AGE", str(15 * 60)))
HEALTH_BROKER_TIMEOUT = float(os.environ.get("HEALTH_BROKER_TIMEOUT", "2"))

# The address the app is served at: absolute links in emails and affiliate links
# (config.site.absolute_url). By default where `make run` serves it: PORT, else 8000.
SITE_URL = (
    os.environ.get("SITE_URL") or f"http://localhost:{os.environ.get('PORT') or '8000'}"
).rstrip("/")

# The payment gateway implementation (the simulator until a real provider is wired in).
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "products.payments.gateway.SimulatedGateway")
AFFILIATE_COOKIE_DAYS = 30
# Sent over HTTPS only in production (config/settings/production.py), like the session cookie.
AFFILIATE_COOKIE_SECURE = False
# Development only; production refuses to start without its own (config/settings/production.py).
DEV_WEBHOOK_SECRET = "local-webhook-secret"
GATEWAY_WEBHOOK_SECRET = os.environ.get("GATEWAY_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
