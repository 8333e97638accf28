"""Admin columns as people read them: amounts as money, stored status codes by their label, card
tokens masked. Every admin builds its money and status columns here, so no admin page shows
minor units, a raw status code or a whole card number."""

import re
from collections.abc import Callable

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from products.money import format_money

EMPTY = "—"


def money(amount_minor: int | None, currency: str | None) -> str:
    if amount_minor is None:
        return EMPTY
    if not currency:  # a simulator refund or void row carries no currency
        return str(amount_minor)
    return format_money(amount_minor, currency)


def money_column(
    field: str, description, *, currency: Callable[[object], str], ordering: str | None = None
):
    """A list or read-only column showing `field` (minor units) as money in `currency(obj)`."""

    @admin.display(description=description, ordering=ordering or field)
    def column(self, obj) -> str:
        return money(getattr(obj, field), currency(obj))

    column.__name__ = f"{field}_money"
    return column


def status_label(code: str, choices: type[models.TextChoices] | None) -> str:
    """A status stored as a plain code (event rows) by its label; an unknown code as it is."""
    if not code:
        return EMPTY
    if choices is not None and code in choices.values:
        return str(choices(code).label)
    return code


def status_column(field: str, description, *, choices: Callable[[object], type | None]):
    @admin.display(description=description, ordering=field)
    def column(self, obj) -> str:
        return status_label(getattr(obj, field), choices(obj))

    column.__name__ = f"{field}_label"
    return column


_DIGITS = re.compile(r"\d[\d -]{7,}\d")


def mask_token(token: str) -> str:
    """A card number (or any long run of digits) as "•••• 4242"; a wallet token (tok_…) as
    "tok_…": the admin never shows what could be charged again."""
    token = (token or "").strip()
    if not token:
        return EMPTY
    digits = re.sub(r"\D", "", token)
    if _DIGITS.fullmatch(token) or len(digits) >= 8:
        return f"•••• {digits[-4:]}"
    return token[:4] + "…"


def readonly_all(model, *, replace: dict[str, str]) -> list[str]:
    """Every field of `model` read-only, with the fields in `replace` shown by their display
    column instead (money, masked tokens)."""
    return [replace.get(f.name, f.name) for f in model._meta.fields]


def method_column(field: str = "method"):
    """A payment method code ("boleto") by its name ("Boleto Bancário")."""
    from products.payments.methods import Method

    return status_column(field, _("Payment method"), choices=lambda obj: Method)
