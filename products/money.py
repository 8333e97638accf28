"""Money is integer minor units plus a currency; these helpers convert and format it exactly."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import models

# ISO 4217 exponents of the currencies the platform sells in.
CURRENCY_EXPONENTS = {"BRL": 2, "USD": 2, "EUR": 2, "MXN": 2, "COP": 2}
CURRENCY_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€", "MXN": "MX$", "COP": "COL$"}


class Currency(models.TextChoices):
    BRL = "BRL", "Brazilian real (BRL)"
    USD = "USD", "US dollar (USD)"
    EUR = "EUR", "Euro (EUR)"
    MXN = "MXN", "Mexican peso (MXN)"
    COP = "COP", "Colombian peso (COP)"


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[currency]


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal major units → integer minor units; refuses more decimals than the currency has."""
    scaled = Decimal(amount).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {exponent(currency)} decimal places.")
    return int(scaled)


def to_major(amount_minor: int, currency: str) -> Decimal:
    exp = exponent(currency)
    return (Decimal(amount_minor).scaleb(-exp)).quantize(Decimal(1).scaleb(-exp))


def parse_major(text: str, currency: str) -> Decimal:
    """Parse user input like '1,234.50' or '49.9' to a Decimal; ValueError when it is not money."""
    cleaned = str(text).strip().replace(" ", "").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("Enter an amount such as 49.90.") from None
    if not value.is_finite():
        raise ValueError("Enter an amount such as 49.90.")
    return value


def format_money(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return ""
    major = to_major(amount_minor, currency)
    sign = "-" if major < 0 else ""
    quantum = Decimal(1).scaleb(-exponent(currency))
    text = f"{abs(major).quantize(quantum, rounding=ROUND_HALF_UP):,}"
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency)} {text}"


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
    low_text, high_text = format_money(low, currency), format_money(high, currency)
    if free_allowed:
        return (
            f"Enter 0 for a free first installment, or a price between {low_text} and {high_text}."
        )
    return f"Enter a price between {low_text} and {high_text}."
