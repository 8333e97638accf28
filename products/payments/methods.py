"""Payment methods, their families, and the countries where each exists (SPEC, seed 002)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# SEPA direct debit: the EU/EEA members plus the other SEPA countries.
SEPA_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
        "CH",
        "GB",
        "MC",
        "SM",
        "VA",
        "AD",
    }
)


class Method(models.TextChoices):
    # Brand names (PayPal, Google Pay, Samsung Pay, Oxxo, Multibanco, PSE) stay as they are.
    CARD = "card", _("Credit card")
    PAYPAL = "paypal", "PayPal"
    GOOGLE_PAY = "google_pay", "Google Pay"
    SAMSUNG_PAY = "samsung_pay", "Samsung Pay"
    BOLETO = "boleto", _("Boleto Bancário")
    OXXO = "oxxo", "Oxxo"
    MULTIBANCO = "multibanco", "Multibanco"
    SEPA = "sepa", _("SEPA Direct Debit")
    PSE = "pse", "PSE"


class Family(models.TextChoices):
    CARD = "card", _("Card and wallets")
    CASH = "cash", _("Cash payment")
    DEBIT = "debit", _("Direct debit")


FAMILY = {
    Method.CARD: Family.CARD,
    Method.PAYPAL: Family.CARD,
    Method.GOOGLE_PAY: Family.CARD,
    Method.SAMSUNG_PAY: Family.CARD,
    Method.BOLETO: Family.CASH,
    Method.OXXO: Family.CASH,
    Method.MULTIBANCO: Family.CASH,
    Method.SEPA: Family.DEBIT,
    Method.PSE: Family.DEBIT,
}

# None: offered everywhere.
COUNTRIES: dict[str, frozenset[str] | None] = {
    Method.CARD: None,
    Method.PAYPAL: None,
    Method.GOOGLE_PAY: None,
    Method.SAMSUNG_PAY: None,
    Method.BOLETO: frozenset({"BR"}),
    Method.OXXO: frozenset({"MX"}),
    Method.MULTIBANCO: frozenset({"PT"}),
    Method.SEPA: SEPA_COUNTRIES,
    Method.PSE: frozenset({"CO"}),
}


def methods_for_country(country: str) -> list[Method]:
    country = (country or "").upper()
    return [m for m in Method if COUNTRIES[m] is None or country in COUNTRIES[m]]


def is_available(method: str, country: str) -> bool:
    return method in Method.values and method in methods_for_country(country)


def family_of(method: str) -> Family:
    return FAMILY[Method(method)]
