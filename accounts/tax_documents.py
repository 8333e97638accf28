"""Which tax document each country asks for and how it is checked (python-stdnum), stored
(compact: digits and letters only) and shown (formatted, e.g. CPF 390.533.447-05).
The validation form and the admin both go through here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import ModuleType

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from stdnum import get_cc_module
from stdnum.br import cnpj, cpf
from stdnum.co import nit
from stdnum.es import nif as es_nif
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.mx import rfc
from stdnum.pt import nif as pt_nif


@dataclass(frozen=True)
class TaxDocument:
    # Tried in order: the first module that accepts the number says how it is stored and shown.
    modules: tuple[ModuleType, ...]
    # May name the country as %(country)s.
    error: str


# Mexico's RFC: stdnum checks its structure and date but, by default, not the last check digit,
# which about 1.5% of RFCs in use fail; refusing them would turn away real taxpayers.
RULES = {
    "BR": TaxDocument((cpf, cnpj), _("Enter a valid CPF or CNPJ.")),
    "MX": TaxDocument((rfc,), _("Enter a valid RFC.")),
    "CO": TaxDocument((nit,), _("Enter a valid NIT.")),
    "PT": TaxDocument((pt_nif,), _("Enter a valid NIF.")),
    "ES": TaxDocument((es_nif,), _("Enter a valid NIF.")),
}
OTHER_COUNTRY_ERROR = _("Enter a valid tax number for %(country)s.")


def rule_for(country) -> TaxDocument | None:
    """The country's rule; for a country not listed, its VAT (else tax id) number where stdnum
    knows one; None when it knows none (any text is accepted)."""
    return _rule(str(country or "").upper())


@cache
def _rule(code: str) -> TaxDocument | None:
    if code in RULES:
        return RULES[code]
    for kind in ("vat", "tin"):
        module = get_cc_module(code.lower(), kind) if code.isalpha() else None
        if module is not None:
            return TaxDocument((module,), OTHER_COUNTRY_ERROR)
    return None


def tax_document_clean(*, country, number: str) -> str:
    """`number` as stored, when it is a valid document of `country`; else a ValidationError that
    names the document ("Enter a valid CPF or CNPJ.")."""
    rule = rule_for(country)
    if rule is None:
        return number.strip()
    for module in rule.modules:
        try:
            return module.validate(number)
        except StdnumError:
            continue
    raise ValidationError(
        rule.error, code="invalid", params={"country": countries.name(str(country).upper())}
    )


def tax_document_display(*, country, number: str) -> str:
    """`number` written the way people of `country` read it; a number the rule refuses (stored
    before numbers were checked) is shown as stored."""
    rule = rule_for(country)
    if rule is None or not number:
        return number
    for module in rule.modules:
        if module.is_valid(number):
            return getattr(module, "format", module.compact)(number)
    return number
