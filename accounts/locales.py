"""One place for the rules of languages and time zones: which a person reads in, the defaults
drawn from the browser and the country, and rendering for someone else (emails)."""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.utils import timezone, translation

# A country's main zone: the default for an account of that country (SPEC, Languages and time).
COUNTRY_TIME_ZONES = {
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "CO": "America/Bogota",
    "PT": "Europe/Lisbon",
    "ES": "Europe/Madrid",
    "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago",
    "PE": "America/Lima",
    "US": "America/New_York",
    "GB": "Europe/London",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "IT": "Europe/Rome",
}

# Babel/CLDR locale for each interface language: how money, numbers and dates read.
BABEL_LOCALES = {"en": "en", "pt-br": "pt_BR", "es": "es"}


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in _zones()]


def is_time_zone(name: str) -> bool:
    return name in _zones()


def country_time_zone(country: str | None) -> str:
    return COUNTRY_TIME_ZONES.get((country or "").upper(), "UTC")


def supported_language(code: str | None) -> str:
    """The interface language closest to `code` ('pt-BR', 'pt', 'es-MX' ...), else the default."""
    if code:
        try:
            return translation.get_supported_language_variant(code.lower())
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


def browser_defaults(request) -> tuple[str, str]:
    """(language, time zone) to offer someone who signs up: the browser's language, and the zone
    of the region it names ('es-MX' → Mexico City), else UTC."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    language = supported_language(translation.get_language_from_request(request))
    zone = "UTC"
    for part in header.split(","):
        tag = part.split(";")[0].strip().replace("_", "-")
        if "-" in tag:
            zone = country_time_zone(tag.split("-")[-1])
            if zone != "UTC":
                break
    return language, zone


def babel_locale(language: str | None = None) -> str:
    code = supported_language(language or translation.get_language())
    return BABEL_LOCALES.get(code, "en")


def user_zone(user) -> zoneinfo.ZoneInfo:
    name = getattr(user, "time_zone", "") or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_date(user, moment=None):
    """The calendar date it is (or was, at `moment`) for `user`."""
    moment = moment or timezone.now()
    return timezone.localtime(moment, user_zone(user)).date()


@contextmanager
def recipient(user):
    """Render for `user`, whoever is sending: their language and time zone (emails, tasks)."""
    language = supported_language(getattr(user, "language", None))
    with translation.override(language), timezone.override(user_zone(user)):
        yield
