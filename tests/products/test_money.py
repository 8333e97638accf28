"""Money helpers: exact conversion between major and minor units, parsing and formatting."""

import re
from decimal import Decimal

import pytest

from products.money import (
    CURRENCY_EXPONENTS,
    Currency,
    format_money,
    parse_major,
    to_major,
    to_minor,
)


def test_every_currency_has_an_exponent():
    assert set(CURRENCY_EXPONENTS) == set(Currency.values)


@pytest.mark.parametrize(
    ("amount", "minor"),
    [
        ("49.90", 4990),
        ("49.9", 4990),
        ("1", 100),
        ("0.01", 1),
        ("1.230", 123),
        ("1000000", 100000000),
        ("-2.50", -250),
        ("0", 0),
    ],
)
def test_to_minor_converts_exactly(amount, minor):
    assert to_minor(Decimal(amount), "BRL") == minor


@pytest.mark.parametrize("amount", ["1.234", "0.001", "49.999", "0.005"])
def test_to_minor_refuses_more_decimals_than_the_currency_has(amount):
    with pytest.raises(ValueError, match="at most 2 decimal places"):
        to_minor(Decimal(amount), "BRL")


def test_to_minor_returns_an_int_not_a_decimal():
    assert type(to_minor(Decimal("10.10"), "USD")) is int


def test_to_minor_refuses_an_unknown_currency():
    with pytest.raises(KeyError):
        to_minor(Decimal("1"), "XXX")


@pytest.mark.parametrize(
    ("minor", "major"),
    [(4990, "49.90"), (1, "0.01"), (100, "1.00"), (0, "0.00"), (-250, "-2.50")],
)
def test_to_major_gives_a_decimal_with_the_currency_exponent(minor, major):
    result = to_major(minor, "EUR")

    assert result == Decimal(major)
    assert str(result) == major


@pytest.mark.parametrize("minor", [0, 1, 99, 4990, 123456789])
def test_to_major_and_to_minor_round_trip(minor):
    assert to_minor(to_major(minor, "MXN"), "MXN") == minor


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (4990, "BRL", "R$49.90"),
        (123456789, "USD", "$1,234,567.89"),
        (5, "EUR", "€0.05"),
        (-1050, "MXN", "-MX$10.50"),
        (200000, "COP", "COP2,000"),
        (0, "BRL", "R$0.00"),
    ],
)
def test_format_money(minor, currency, text):
    assert format_money(minor, currency) == text


def test_format_money_of_nothing_is_empty():
    assert format_money(None, "BRL") == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("49.9", "49.9"),
        ("1,234.50", "1234.50"),
        (" 10 ", "10"),
        ("1 000", "1000"),
        ("-3.25", "-3.25"),
    ],
)
def test_parse_major_reads_money_input(text, value):
    assert parse_major(text, "BRL") == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "", "  ", "1.2.3", "NaN", "Infinity", "-inf", "12abc"])
def test_parse_major_refuses_what_is_not_money(text):
    with pytest.raises(ValueError, match=r"Enter an amount such as 1,234\.56"):
        parse_major(text, "BRL")


NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "text"),
    [
        (123456, "BRL", "pt_BR", f"R${NBSP}1.234,56"),
        (123456, "EUR", "es", f"1.234,56{NBSP}€"),
        (123456, "USD", "en", "$1,234.56"),
        (123456, "MXN", "en", "MX$1,234.56"),
        (123456700, "COP", "pt_BR", f"COP{NBSP}1.234.567"),
        # A split line of COP keeps its cents, so the lines still add up.
        (123456750, "COP", "pt_BR", f"COP{NBSP}1.234.567,50"),
        (-4990, "BRL", "pt_BR", f"-R${NBSP}49,90"),
    ],
)
def test_format_money_follows_the_readers_locale(minor, currency, locale, text):
    assert format_money(minor, currency, locale=locale) == text


def test_format_money_follows_the_active_language():
    from django.utils import translation

    with translation.override("pt-br"):
        assert format_money(123456, "BRL") == f"R${NBSP}1.234,56"
    with translation.override("es"):
        assert format_money(123456, "EUR") == f"1.234,56{NBSP}€"


@pytest.mark.parametrize(
    ("text", "locale", "value"),
    [
        ("49,90", "pt_BR", "49.90"),  # the issue: "49,90" was read as 4 990
        ("1.234,56", "pt_BR", "1234.56"),
        ("1.234,56", "es", "1234.56"),
        ("1234,5", "es", "1234.5"),
        ("49.90", "pt_BR", "49.90"),  # one separator, two digits: only a decimal point
        ("1,234.56", "en", "1234.56"),
        ("49,9", "en", "49.9"),
        ("1.234", "pt_BR", "1234"),
        (f"1{NBSP}234,56", "pt_BR", "1234.56"),
    ],
)
def test_parse_major_reads_the_locales_separators(text, locale, value):
    assert parse_major(text, "BRL", locale=locale) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("1,234.56", "pt_BR"),  # English grouping in a Portuguese form: ambiguous
        ("1.234,56", "en"),
        ("12.34.56", "es"),
        ("1,2,3", "en"),
        ("4\x009", "pt_BR"),
    ],
)
def test_parse_major_refuses_ambiguous_input_with_the_locales_example(text, locale):
    from products.money import format_decimal

    example = format_decimal(Decimal("1234.56"), locale=locale)
    with pytest.raises(ValueError, match=re.escape(example)):
        parse_major(text, "BRL", locale=locale)
