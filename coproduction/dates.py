"""When a contract is in force, by its own dates: the ledger, the 70 % rule and the daily expiry
all ask here, so none of them depends on when a background task happened to run."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from accounts.models import AccountValidation, User
from coproduction.models import Contract

# The producer's time zone, from the country of their validated account. The codebase has no
# per-user zone yet; one zone per country is enough for the countries we sell in.
COUNTRY_ZONES = {
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "CO": "America/Bogota",
    "PT": "Europe/Lisbon",
    "US": "America/New_York",
    "ES": "Europe/Madrid",
}


def producer_zone(producer: User) -> ZoneInfo:
    """The zone of the producer's validated country; settings.TIME_ZONE otherwise (no
    validation, one not validated, or a country without an entry in COUNTRY_ZONES)."""
    validation = getattr(producer, "validation", None)
    if validation is not None and validation.status == AccountValidation.Status.VALIDATED:
        name = COUNTRY_ZONES.get(str(validation.country))
        if name:
            return ZoneInfo(name)
    return ZoneInfo(settings.TIME_ZONE)


def end_of_day(day, zone: ZoneInfo) -> datetime:
    """24:00 of `day` in `zone`: the first instant of the next day there."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def contract_in_force_until(contract: Contract, zone: ZoneInfo | None = None) -> datetime | None:
    """The first instant the contract is no longer in force, or None while nothing ends it.

    A contract is in force through the end of its end date in the producer's time zone; one
    ended by agreement stops at the agreed termination (closed_at) if that comes first. An
    expired contract's closed_at is only when the daily task ran, so it is not used. Pass
    `zone` (the producer's) to avoid looking it up per contract."""
    until = None
    if contract.end_date is not None:
        until = end_of_day(contract.end_date, zone or producer_zone(contract.product.producer))
    if contract.status == Contract.Status.ENDED and contract.closed_at is not None:
        until = contract.closed_at if until is None else min(until, contract.closed_at)
    return until
