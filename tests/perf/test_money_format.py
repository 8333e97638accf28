"""format_money remembers what it wrote (pages format the same amounts on every row), keyed on
the amount, the currency and the reader's locale: switching language never shows the text of
another."""

from decimal import Decimal

from django.utils import translation

from products.money import format_money


def test_the_same_amount_reads_in_each_language_after_it_was_formatted_in_another():
    seen = {}
    for _round in range(2):
        for language in ("en", "pt-br", "es"):
            with translation.override(language):
                seen.setdefault(language, set()).add(format_money(123456, "BRL"))
    assert seen == {"en": {"R$1,234.56"}, "pt-br": {"R$\xa01.234,56"}, "es": {"1.234,56\xa0BRL"}}


def test_an_explicit_locale_and_a_decimal_amount_read_as_before():
    assert format_money(123456, "EUR", locale="pt_PT") == format_money(
        Decimal(123456), "EUR", locale="pt_PT"
    )
    assert format_money(None, "BRL") == ""
    assert format_money(123400, "COP", locale="es_CO") == format_money(
        123400, "COP", locale="es_CO"
    )
