"""Developer settings: debug on, emails printed to the console, embedded defaults."""

from config.sentry import init_sentry

from .base import *  # noqa: F403
from .base import SENTRY_DSN, VAR_DIR, env_list

DEBUG = True
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
VAR_DIR.mkdir(parents=True, exist_ok=True)
init_sentry(dsn=SENTRY_DSN, environment="development")
