"""Form fields for amounts a person types: in their locale's separators, checked exactly."""

from decimal import Decimal

from django import forms

from products.money import format_decimal_input, parse_major


class MoneyInput(forms.TextInput):
    """A text box with the decimal keypad on phones: a number input would refuse '1.234,56'."""

    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, Decimal):
            return format_decimal_input(value)  # every currency we sell in keeps 2 decimals
        return super().format_value(value)


class MoneyField(forms.DecimalField):
    """An amount in major units, typed as the active language writes numbers ('49,90' in pt-BR
    and es, '49.90' in en); ambiguous grouping is refused with the locale's example. Bounds
    and the number of decimals are still DecimalField's validators."""

    widget = MoneyInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return parse_major(str(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None

    def widget_attrs(self, widget):
        # DecimalField would add step/min/max for a number input; a text box takes none of them.
        return forms.Field.widget_attrs(self, widget)
