"""Test settings: fast hashing, in-memory email, eager Celery, plain static storage.

The database is base's PostgreSQL (DATABASE_URL, else the embedded cluster `make test` starts);
pytest-django creates `test_<name>` on that server."""

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
ACCOUNT_RATE_LIMITS = False

# django-zeal: a page that runs the same query once per row (an N+1, or a .get() per object of
# a list) raises ZealError in the test that requested it. The middleware wraps every request
# the test client makes (tests/perf/zeal_middleware.py: zeal's own, with the admin's known
# per-row reads named); tests/perf/test_zeal.py proves it fails a test.
INSTALLED_APPS = [*INSTALLED_APPS, "zeal"]  # noqa: F405
MIDDLEWARE = [*MIDDLEWARE, "tests.perf.zeal_middleware.zeal_middleware"]  # noqa: F405
ZEAL_RAISE = True
# The same query twice from one line for two parent rows is an N+1 already.
ZEAL_NPLUSONE_THRESHOLD = 2
ZEAL_SHOW_ALL_CALLERS = False
ZEAL_ALLOWLIST = [
    # allauth's own sign-up and e-mail confirmation look the address up twice in one request
    # (a library's two .get() calls, not a list).
    {"model": "account.EmailAddress", "field": "get()"},
]
