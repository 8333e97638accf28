"""The address the app is served at, for links that leave it (emails, affiliate links): one
helper, so every absolute link follows the SITE_URL setting."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` (from reverse() or get_absolute_url()) on the app's public address."""
    if not path.startswith("/"):
        raise ValueError(f"absolute_url takes a path, got {path!r}")
    return settings.SITE_URL + path
