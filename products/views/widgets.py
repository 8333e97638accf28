"""A select for long, fixed lists (the ~250 countries of the checkout form) written out in one
pass: Django's Select renders each option through its own template include, which made the
country list the most expensive part of the checkout page."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language


class FastSelect(forms.Select):
    """Same markup as forms.Select for flat choices; the options' text is built once per
    language and field name, and only the selected option differs between renders."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        if self.is_required and self.use_required_attribute(None):
            final["required"] = True
        chosen = "" if value is None else str(value)
        key = (get_language(), name)
        options = _OPTIONS.get(key)
        if options is None:
            options = _OPTIONS[key] = tuple(
                (escape(str(value)), escape(str(label))) for value, label in self.choices
            )
        parts = [
            f'<option value="{key}" selected>{label}</option>'
            if key == chosen
            else f'<option value="{key}">{label}</option>'
            for key, label in options
        ]
        return mark_safe(f"<select{flatatt(final)}>\n{''.join(parts)}\n</select>")


# (language, field name) → its options, escaped. For lists that never change while the
# process runs (the countries); a field whose choices vary must not use this widget.
_OPTIONS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
