"""Payout accounts: how each kind's key or number is checked and stored (python-stdnum where it
knows the number), that the account is in the validated holder's own name and tax document, and
the one service that adds or replaces an account (a replacement holds withdrawals and emails
the person)."""

from __future__ import annotations

import re
import unicodedata

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban
from stdnum.br import cnpj, cpf
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from accounts.emails import email_person
from accounts.models import PAYOUT_KIND_FOR_CURRENCY, AccountValidation, PayoutAccount, User
from accounts.tax_documents import tax_document_display

Kind = PayoutAccount.Kind
PixKeyType = PayoutAccount.PixKeyType
AccountType = PayoutAccount.AccountType

# The SEPA scheme's countries and territories with IBANs of their own: EUR transfers reach
# them (the countries that joined in 2025, such as Albania and Montenegro, are not yet here).
SEPA_COUNTRIES = frozenset(
    {
        # the European Union
        *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
        *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
        # the rest of the European Economic Area, and the others in the scheme
        *("IS", "LI", "NO", "CH", "GB", "MC", "SM", "AD", "VA", "GI"),
    }
)

# Colombian banks and wallets payouts reach, by their ACH Colombia code.
CO_BANKS = {
    "007": "Bancolombia",
    "001": "Banco de Bogotá",
    "051": "Davivienda",
    "013": "BBVA Colombia",
    "023": "Banco de Occidente",
    "002": "Banco Popular",
    "032": "Banco Caja Social",
    "052": "Banco AV Villas",
    "040": "Banco Agrario",
    "019": "Scotiabank Colpatria",
    "006": "Banco Itaú",
    "507": "Nequi",
    "551": "Daviplata",
}

# A Pix email key may be at most 77 characters long (Banco Central's DICT rules).
PIX_EMAIL_MAX = 77
# DDD (two digits, no zero) then a 9-digit mobile number (starting with 9) or an 8-digit one.
_BR_PHONE = re.compile(r"[1-9]{2}(?:9\d{8}|[2-9]\d{7})")
_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_SEPARATORS = re.compile(r"[\s.\-/()]")

PIX_KEY_ERRORS = {
    PixKeyType.CPF: _("Enter a valid CPF."),
    PixKeyType.CNPJ: _("Enter a valid CNPJ."),
    PixKeyType.EMAIL: _("Enter a valid email address of at most 77 characters."),
    PixKeyType.PHONE: _(
        "Enter a Brazilian mobile or landline number with its area code, e.g. +55 11 98765-4321."
    ),
    PixKeyType.RANDOM: _(
        "Enter the random key as your bank shows it, e.g. 123e4567-e89b-42d3-a456-426614174000."
    ),
}


# Validators: each returns the value as stored, or raises a ValidationError that says what to fix.


def pix_key_clean(*, key_type: str, key: str) -> str:
    """A Pix key of `key_type`, normalized: CPF and CNPJ as digits, a phone as +55 and its
    digits, an email in lower case, a random key as a lower-case UUID."""
    if key_type not in PixKeyType.values:
        raise ValidationError(_("Choose the type of your Pix key."), code="invalid")
    value = key.strip()
    error = ValidationError(PIX_KEY_ERRORS[PixKeyType(key_type)], code="invalid")
    if key_type in (PixKeyType.CPF, PixKeyType.CNPJ):
        module = cpf if key_type == PixKeyType.CPF else cnpj
        try:
            number = module.validate(value)
        except StdnumError:
            raise error from None
        # 111.111.111-11 and the like pass the check digits; no such number is ever issued.
        if len(set(number)) == 1:
            raise error
        return number
    if key_type == PixKeyType.EMAIL:
        value = value.lower()
        if len(value) > PIX_EMAIL_MAX:
            raise error
        EmailValidator(message=error.message)(value)
        return value
    if key_type == PixKeyType.PHONE:
        return "+55" + _br_phone_national(value, error)
    value = value.lower()
    if not _UUID4.fullmatch(value):
        raise error
    return value


def _br_phone_national(value: str, error: ValidationError) -> str:
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+"):
        if not digits.startswith("+55"):
            raise error
        digits = digits[3:]
    elif len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    if not _BR_PHONE.fullmatch(digits):
        raise error
    return digits


def iban_clean(value: str) -> str:
    """An IBAN of a SEPA country, compact and in capitals (PT50000201231234567890154)."""
    # Letters, digits and spaces in an IBAN's shape first: stdnum would call most other
    # mistakes (a number cut short) wrong check digits.
    if not _IBAN_SHAPE.fullmatch(stdnum_iban.compact(value)):
        raise ValidationError(_("Enter a valid IBAN."), code="invalid")
    try:
        number = stdnum_iban.validate(value)
    except InvalidChecksum:
        raise ValidationError(
            _("The IBAN's check digits are not correct."), code="checksum"
        ) from None
    except StdnumError:
        raise ValidationError(_("Enter a valid IBAN."), code="invalid") from None
    if number[:2] not in SEPA_COUNTRIES:
        raise ValidationError(_("Only IBANs of SEPA countries are accepted."), code="country")
    return number


def clabe_check_digit(first17: str) -> int:
    """The CLABE's 18th digit: the first 17 weighted 3, 7, 1, 3, 7, 1…, each product taken
    modulo 10, and the sum's complement to 10."""
    total = sum(int(d) * (3, 7, 1)[i % 3] % 10 for i, d in enumerate(first17))
    return (10 - total % 10) % 10


def clabe_clean(value: str) -> str:
    """A Mexican CLABE, its 18 digits (python-stdnum has no module for it)."""
    digits = _SEPARATORS.sub("", value)
    if not (len(digits) == 18 and digits.isascii() and digits.isdigit()):
        raise ValidationError(_("A CLABE has 18 digits."), code="invalid")
    if clabe_check_digit(digits[:17]) != int(digits[17]):
        raise ValidationError(_("The CLABE's check digit is not correct."), code="checksum")
    return digits


def co_bank_clean(code: str) -> str:
    """The name of the Colombian bank with this code."""
    if code not in CO_BANKS:
        raise ValidationError(_("Choose your bank from the list."), code="invalid")
    return CO_BANKS[code]


def co_account_number_clean(value: str) -> str:
    """A Colombian bank account number: 6 to 20 digits (spaces and dashes dropped)."""
    digits = _SEPARATORS.sub("", value)
    if not (6 <= len(digits) <= 20 and digits.isascii() and digits.isdigit()):
        raise ValidationError(_("Enter the account number: 6 to 20 digits."), code="invalid")
    return digits


def same_name(a: str, b: str) -> bool:
    """Whether two spellings name the same person: case, accents, punctuation and spacing
    aside ("José  da Silva" is "JOSE DA SILVA")."""
    return _name_key(a) == _name_key(b)


def _name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    return " ".join(letters.casefold().split())


def _compact_document(number: str) -> str:
    return "".join(ch for ch in number if ch.isalnum()).upper()


FIELDS = (
    "kind",
    "pix_key_type",
    "pix_key",
    "iban",
    "clabe",
    "bank_code",
    "account_type",
    "account_number",
    "holder_name",
    "holder_document",
)


def payout_account_clean(
    *, user: User, data: dict, validation: AccountValidation | None = None
) -> dict:
    """`data` (the FIELDS, as typed) as PayoutAccount stores it, or a ValidationError whose
    dict names each wrong field. The account must be in the name and tax document of the
    user's validated account (`validation`, read when not given)."""
    if validation is None:
        validation = AccountValidation.objects.filter(user=user).first()
    if validation is None or not validation.is_validated:
        raise ValidationError(_("Payout accounts need a validated account."), code="not_validated")
    raw = {name: str(data.get(name) or "") for name in FIELDS}
    values = dict.fromkeys(FIELDS, "") | {"bank_name": ""}
    errors: dict[str, list] = {}

    def check(field: str, clean, *args, **kwargs):
        try:
            return clean(*args, **kwargs)
        except ValidationError as error:
            errors.setdefault(field, []).extend(error.error_list)
            return ""

    kind = values["kind"] = raw["kind"]
    if kind not in Kind.values:
        errors["kind"] = [ValidationError(_("Choose a kind of payout account."))]
    document = _compact_document(validation.tax_document)
    if kind == Kind.PIX:
        values["pix_key_type"] = raw["pix_key_type"]
        if raw["pix_key_type"] not in PixKeyType.values:
            errors["pix_key_type"] = [ValidationError(_("Choose the type of your Pix key."))]
        elif not raw["pix_key"].strip():
            errors["pix_key"] = [ValidationError(_("Enter your Pix key."))]
        else:
            values["pix_key"] = check(
                "pix_key", pix_key_clean, key_type=raw["pix_key_type"], key=raw["pix_key"]
            )
            own_key = raw["pix_key_type"] in (PixKeyType.CPF, PixKeyType.CNPJ)
            if own_key and values["pix_key"] and values["pix_key"] != document:
                errors["pix_key"] = [
                    ValidationError(_("A CPF or CNPJ key must be your own tax document."))
                ]
    elif kind == Kind.IBAN:
        values["iban"] = check("iban", iban_clean, raw["iban"])
    elif kind == Kind.CLABE:
        values["clabe"] = check("clabe", clabe_clean, raw["clabe"])
    elif kind == Kind.CO_BANK:
        values["bank_code"] = raw["bank_code"]
        values["bank_name"] = check("bank_code", co_bank_clean, raw["bank_code"])
        values["account_type"] = raw["account_type"]
        if raw["account_type"] not in AccountType.values:
            errors["account_type"] = [ValidationError(_("Choose savings or checking."))]
        values["account_number"] = check(
            "account_number", co_account_number_clean, raw["account_number"]
        )

    # What the bank knows the holder by is checked by the payout gateway; here it must be
    # the person whose identity was validated. The validated spelling is stored.
    if not same_name(raw["holder_name"], validation.legal_name):
        errors["holder_name"] = [
            ValidationError(
                _("The account must be in your own name, as validated: %(name)s."),
                params={"name": validation.legal_name},
            )
        ]
    if _compact_document(raw["holder_document"]) != document:
        errors["holder_document"] = [
            ValidationError(
                _("The account must be in your own tax document, as validated: %(document)s."),
                params={
                    "document": tax_document_display(
                        country=validation.country, number=validation.tax_document
                    )
                },
            )
        ]
    if errors:
        raise ValidationError(errors)
    values["holder_name"] = validation.legal_name
    values["holder_document"] = document
    return values


def payout_account_save(*, user: User, data: dict) -> PayoutAccount:
    """Add the user's payout account of `data["kind"]`, or replace the active one: the old row
    is kept, inactive, withdrawals to the new one are held for PAYOUT_ACCOUNT_CHANGE_HOLD, and
    the user's email address as it is now hears of it once this commits (someone who took over
    the session and changed the address next would not hide the change)."""
    with transaction.atomic():
        # The validation row serializes one user's saves and keeps it validated meanwhile.
        validation = AccountValidation.objects.select_for_update().filter(user=user).first()
        values = payout_account_clean(user=user, data=data, validation=validation)
        now = timezone.now()
        current = (
            PayoutAccount.objects.select_for_update()
            .filter(user=user, kind=values["kind"], is_active=True)
            .first()
        )
        if current is not None:
            current.is_active = False
            current.replaced_at = now
            current.save(update_fields=["is_active", "replaced_at"])
        account = PayoutAccount.objects.create(
            user=user,
            **values,
            withdrawals_held_until=(
                now + settings.PAYOUT_ACCOUNT_CHANGE_HOLD if current is not None else None
            ),
        )
        if current is not None:
            _email_change(user=user, old=current, new=account)
    return account


def change_hold_hours() -> int:
    """PAYOUT_ACCOUNT_CHANGE_HOLD in whole hours, as people are told it."""
    return int(settings.PAYOUT_ACCOUNT_CHANGE_HOLD.total_seconds() // 3600)


def _email_change(*, user: User, old: PayoutAccount, new: PayoutAccount) -> None:
    hours = change_hold_hours()
    email_person(
        user,
        subject=lambda: gettext("Your payout account was changed"),
        template="accounts/email/payout_account_changed",
        context={"old": old, "new": new, "hours": hours},
        path=reverse("accounts:payout_account"),
    )


# Reads.


def active_payout_account(user: User, currency: str) -> PayoutAccount | None:
    """The account that receives `user`'s withdrawals in `currency`; None when the currency
    has no payout kind (USD) or the user has added none."""
    kind = PAYOUT_KIND_FOR_CURRENCY.get(currency)
    if kind is None:
        return None
    return PayoutAccount.objects.filter(user=user, kind=kind, is_active=True).first()


def payout_accounts_active(*, user: User) -> list[PayoutAccount]:
    """The user's active accounts, one per kind, in the kinds' order."""
    order = {kind: i for i, kind in enumerate(Kind.values)}
    accounts = PayoutAccount.objects.filter(user=user, is_active=True)
    return sorted(accounts, key=lambda a: order[a.kind])


def mfa_enabled(user) -> bool:
    """Whether `user` logs in with an authenticator app's code (allauth.mfa's TOTP)."""
    return is_mfa_enabled(user, types=[Authenticator.Type.TOTP])


# How an account is shown: enough to recognize it, never the whole number.


def account_display(account: PayoutAccount) -> str:
    if account.kind == Kind.PIX:
        return gettext("Pix (%(type)s) %(key)s") % {
            "type": PixKeyType(account.pix_key_type).label,
            "key": _mask_pix_key(account.pix_key_type, account.pix_key),
        }
    if account.kind == Kind.IBAN:
        return f"IBAN {account.iban[:4]} **** **** {account.iban[-4:]}"
    if account.kind == Kind.CLABE:
        return f"CLABE {account.clabe[:3]} **** **** {account.clabe[-4:]}"
    return gettext("%(bank)s (%(type)s) ****%(last)s") % {
        "bank": account.bank_name,
        "type": AccountType(account.account_type).label,
        "last": account.account_number[-4:],
    }


def _mask_pix_key(key_type: str, key: str) -> str:
    if key_type == PixKeyType.CPF:  # as Banco Central shows them: ***.456.789-**
        return f"***.{key[3:6]}.{key[6:9]}-**"
    if key_type == PixKeyType.CNPJ:  # the company's root, not its branch and check digits
        return f"{key[:2]}.{key[2:5]}.{key[5:8]}/****-**"
    if key_type == PixKeyType.EMAIL:
        local, _at, domain = key.partition("@")
        return f"{local[:1]}***@{domain}"
    if key_type == PixKeyType.PHONE:
        return f"+55 {key[3:5]} *****-{key[-4:]}"
    return f"****{key[-4:]}"
