"""One place for the rules of languages and time zones: which a person reads in, the defaults
drawn from the browser and the country, and rendering for someone else (emails)."""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache

from babel import Locale
from babel import dates as babel_dates
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


def babel_locale(language: str | None = None) -> Locale:
    """The Babel locale of `language` (else the active language). A parsed Locale, not its
    name: Babel parses a name again on every call (~150 µs), a Locale it takes as it is."""
    code = supported_language(language or translation.get_language())
    return _parsed(BABEL_LOCALES.get(code, "en"))


@cache
def _parsed(name: str) -> Locale:
    return Locale.parse(name)


def as_locale(locale: str | Locale | None) -> Locale:
    """A Babel locale name ("pt_PT") as a Locale, parsed once; the active language's when None.
    (The format_* functions below take a language code instead, as babel_locale does.)"""
    if locale is None:
        return babel_locale()
    return locale if isinstance(locale, Locale) else _parsed(locale)


# A list formats the same few dates on every row (50 rows of 6 charges: 300 calls a page) and
# Babel takes ~20 µs a call; the text depends only on these three values.
@lru_cache(maxsize=8192)
def _skeleton(skeleton: str, value, locale: Locale) -> str:
    return babel_dates.format_skeleton(skeleton, value, locale=locale)


def user_zone(user) -> zoneinfo.ZoneInfo:
    name = getattr(user, "time_zone", "") or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def end_of_day(day, zone) -> datetime:
    """24:00 of `day` in `zone`: the first instant of the next day there."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


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


# --- dates and times as the reader writes them (Babel/CLDR), in the active zone ---------------


def _as_local(value):
    """A datetime in the active time zone (the viewer's, or the recipient's in an email)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _month(value) -> date:
    """The first of the month `value` falls in (in the active zone): all a month's text needs."""
    value = _as_local(value)
    return (value.date() if isinstance(value, datetime) else value).replace(day=1)


def day_formatter(*, locale: str | None = None):
    """format_day for many values, with the language (`locale`, else the active one) and the
    active time zone looked up once: a list of 50 rows writes hundreds of dates, and each
    lookup is a thread-local read."""
    babel = babel_locale(locale)
    zone = timezone.get_current_timezone()
    return lambda value: _day_text(value, babel, zone)


def _day_text(value, babel: Locale, zone) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(zone or timezone.get_current_timezone())
        value = value.date()
    return _skeleton("yMMMd", value, babel)


def format_day(value, *, locale: str | None = None) -> str:
    """'Jan 31, 2027' (en), '31 de jan. de 2027' (pt-BR), '31 ene 2027' (es)."""
    return _day_text(value, babel_locale(locale), None)


def format_day_short(value, *, locale: str | None = None) -> str:
    """'Jan 31' (en), '31 de jan.' (pt-BR), '31 ene' (es)."""
    if value is None or value == "":
        return ""
    value = _as_local(value)
    day = value.date() if isinstance(value, datetime) else value
    return _skeleton("MMMd", day, babel_locale(locale))


def moment_formatter(*, locale: str | None = None):
    """format_moment for many values, the language and the zone looked up once (day_formatter)."""
    babel = babel_locale(locale)
    zone = timezone.get_current_timezone()
    return lambda value: _moment_text(value, babel, zone)


def _moment_text(value, babel: Locale, zone) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = value.astimezone(zone or timezone.get_current_timezone())
    return f"{_day_text(value, babel, zone)} {value:%H:%M}"


def format_moment(value, *, locale: str | None = None) -> str:
    """A date and a 24-hour time in the active zone: 'Jan 31, 2027 22:30'."""
    return _moment_text(value, babel_locale(locale), None)


def format_month(value, *, locale: str | None = None) -> str:
    """'January 2027' (en), 'janeiro de 2027' (pt-BR), 'enero de 2027' (es)."""
    if value is None or value == "":
        return ""
    return _skeleton("yMMMM", _month(value), babel_locale(locale))


def format_month_short(value, *, locale: str | None = None) -> str:
    """'Jan 2027' (en), 'jan. de 2027' (pt-BR)."""
    if value is None or value == "":
        return ""
    return _skeleton("yMMM", _month(value), babel_locale(locale))


def zone_label(zone=None, *, locale: str | None = None) -> str:
    """The active zone as a person names it: 'Brasilia Time', 'Horário de Brasília'."""
    zone = zone or timezone.get_current_timezone()
    if getattr(zone, "key", "UTC") == "UTC":
        return "UTC"
    return babel_dates.get_timezone_name(
        zone, width="long", zone_variant="generic", locale=babel_locale(locale)
    )
