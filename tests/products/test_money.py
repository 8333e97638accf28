"""Money helpers: exact conversion between major and minor units, parsing and formatting."""

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
        (4990, "BRL", "R$ 49.90"),
        (123456789, "USD", "US$ 1,234,567.89"),
        (5, "EUR", "€ 0.05"),
        (-1050, "MXN", "-MX$ 10.50"),
        (200000, "COP", "COL$ 2,000.00"),
        (0, "BRL", "R$ 0.00"),
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
    with pytest.raises(ValueError, match=r"Enter an amount such as 49\.90"):
        parse_major(text, "BRL")
