"""Money is integer minor units plus a currency; these helpers convert and format it exactly."""

import functools
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    parse_decimal,
)
from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# ISO 4217 exponents of the currencies the platform sells in.
CURRENCY_EXPONENTS = {"BRL": 2, "USD": 2, "EUR": 2, "MXN": 2, "COP": 2}


class Currency(models.TextChoices):
    BRL = "BRL", gettext_lazy("Brazilian real (BRL)")
    USD = "USD", gettext_lazy("US dollar (USD)")
    EUR = "EUR", gettext_lazy("Euro (EUR)")
    MXN = "MXN", gettext_lazy("Mexican peso (MXN)")
    COP = "COP", gettext_lazy("Colombian peso (COP)")


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[currency]


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal major units → integer minor units; refuses more decimals than the currency has."""
    scaled = Decimal(amount).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(
            _("%(currency)s amounts have at most %(digits)s decimal places.")
            % {"currency": currency, "digits": exponent(currency)}
        )
    return int(scaled)


def to_major(amount_minor: int, currency: str) -> Decimal:
    exp = exponent(currency)
    return (Decimal(amount_minor).scaleb(-exp)).quantize(Decimal(1).scaleb(-exp))


# One separator followed by one or two digits can only be a decimal separator (a thousands
# group has three digits), whatever the reader's locale: "49.90" typed on a pt-BR phone is 49,90.
_PLAIN_DECIMAL = re.compile(r"^(-?\d+)[.,](\d{1,2})$")


def _locale(locale: str | None):
    from accounts.locales import as_locale

    return as_locale(locale)


def parse_major(text: str, currency: str | None = None, *, locale: str | None = None) -> Decimal:
    """Parse an amount typed by a person in their locale ('1.234,56' in pt-BR and es,
    '1,234.56' in en) to a Decimal; ValueError with a sentence to show when it is not money
    or is ambiguous (grouping that does not match the locale)."""
    locale = _locale(locale)
    cleaned = str(text).strip().replace("\u00a0", "").replace(" ", "")
    if "\x00" in cleaned or len(cleaned) > 40:
        raise ValueError(_amount_example(locale))
    plain = _PLAIN_DECIMAL.match(cleaned)
    if plain:
        return Decimal(f"{plain.group(1)}.{plain.group(2)}")
    try:
        value = parse_decimal(cleaned, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        raise ValueError(_amount_example(locale)) from None
    if not value.is_finite():
        raise ValueError(_amount_example(locale))
    return value


def _amount_example(locale: str) -> str:
    example = format_decimal(Decimal("1234.56"), locale=locale)
    return _("Enter an amount such as %(example)s.") % {"example": example}


def format_decimal_input(value: Decimal, *, digits: int = 2, locale: str | None = None) -> str:
    """An amount as a money input shows it back: the locale's separators, no symbol."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(value), format=pattern, locale=_locale(locale))


def format_money(amount_minor: int | None, currency: str, *, locale: str | None = None) -> str:
    """An amount as the reader's locale writes it (Babel/CLDR): R$ 1.234,56 (pt-BR),
    1.234,56 € (es), $1,234.56 and MX$1,234.56 (en). Where CLDR shows fewer digits than we keep
    (COP: none), a whole amount is shown that way (COP 1.234.567) and any other keeps its cents,
    so the lines of a split always add up on screen."""
    if amount_minor is None:
        return ""
    return _formatted(amount_minor, currency, _locale(locale))


# Pages format the same few amounts on every row (prices, fees, shares): Babel takes ~40 µs a
# call, the cache a fraction of one. The text depends only on these three values.
@functools.lru_cache(maxsize=16384)
def _formatted(amount_minor: int, currency: str, locale: str) -> str:
    major = to_major(amount_minor, currency)
    whole = major == major.to_integral_value()
    return format_currency(
        major,
        currency,
        locale=locale,
        currency_digits=whole or get_currency_precision(currency) >= exponent(currency),
    )


def price_limits(currency: str) -> tuple[int, int]:
    """The lowest and highest price a producer may set in `currency`, in minor units, both
    allowed (settings.PRICE_LIMITS_MINOR). Configuration, not a database constraint: changing
    the limits leaves saved prices alone; the next change of such a price must be in range."""
    low, high = settings.PRICE_LIMITS_MINOR[currency]
    return int(low), int(high)


def price_range_error(
    amount_minor: int, currency: str, *, free_allowed: bool = False
) -> str | None:
    """Why a price is refused (a sentence that says the range), or None when it is in range.
    `free_allowed`: 0 is accepted as well, for a free promotional first installment."""
    low, high = price_limits(currency)
    if low <= amount_minor <= high or (free_allowed and amount_minor == 0):
        return None
    texts = {"low": format_money(low, currency), "high": format_money(high, currency)}
    if free_allowed:
        return (
            _("Enter 0 for a free first installment, or a price between %(low)s and %(high)s.")
            % texts
        )
    return _("Enter a price between %(low)s and %(high)s.") % texts
