"""Payout accounts: each kind's key or number checked and stored normalized, only in the
validated holder's own name and document, a replacement holds withdrawals and emails the
address the account had, the identity confirmation (password, authenticator code) and the
page (access, bad input, no one else's accounts)."""

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib import admin
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import payout_accounts
from accounts.forms import IdentityConfirmationForm, PayoutAccountForm
from accounts.models import PAYOUT_KIND_FOR_CURRENCY, AccountValidation, PayoutAccount
from accounts.payout_accounts import (
    active_payout_account,
    clabe_clean,
    co_account_number_clean,
    co_bank_clean,
    iban_clean,
    mfa_enabled,
    payout_account_save,
    pix_key_clean,
)
from tests.concurrency import errors, run_together
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    AccountValidationFactory,
    PayoutAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("accounts:payout_account")
CPF = "12345678909"  # the factories' validated tax document, 123.456.789-09
CNPJ = "11222333000181"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth marks a used authenticator code in the cache: each test starts with none used.
    cache.clear()
    yield
    cache.clear()


def text(response) -> str:
    return unescape(response.content.decode())


def totp_now(secret: str = TOTP_SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))


def validated_user(**kwargs):
    user = UserFactory(full_name="Maria José da Silva", **kwargs)
    AccountValidationFactory(
        user=user, validated=True, legal_name="Maria José da Silva", tax_document=CPF
    )
    return user


def pix_data(**changes) -> dict:
    return {
        "kind": "pix",
        "pix_key_type": "email",
        "pix_key": "Maria.Silva@Example.com",
        "holder_name": "Maria José da Silva",
        "holder_document": "123.456.789-09",
    } | changes


def form_data(**changes) -> dict:
    return pix_data(password=PASSWORD) | changes


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    error = caught.value
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


# --- validators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "key", "stored"),
    [
        ("cpf", "123.456.789-09", "12345678909"),
        ("cpf", " 39053344705 ", "39053344705"),
        ("cnpj", "11.222.333/0001-81", CNPJ),
        ("email", " Maria.Silva@Example.COM ", "maria.silva@example.com"),
        ("phone", "(11) 98765-4321", "+5511987654321"),
        ("phone", "+55 21 3456-7890", "+552134567890"),
        ("phone", "5511987654321", "+5511987654321"),
        (
            "random",
            "123E4567-E89B-42D3-A456-426614174000",
            "123e4567-e89b-42d3-a456-426614174000",
        ),
    ],
)
def test_a_valid_pix_key_is_stored_normalized(key_type, key, stored):
    assert pix_key_clean(key_type=key_type, key=key) == stored


@pytest.mark.parametrize(
    ("key_type", "key", "message"),
    [
        ("cpf", "123.456.789-00", "Enter a valid CPF."),
        ("cpf", "1234567890", "Enter a valid CPF."),
        ("cpf", "111.111.111-11", "Enter a valid CPF."),
        ("cnpj", "11.222.333/0001-80", "Enter a valid CNPJ."),
        ("cnpj", "00.000.000/0000-00", "Enter a valid CNPJ."),
        ("email", "maria@", "Enter a valid email address of at most 77 characters."),
        ("email", "a" * 70 + "@example.com", "at most 77 characters"),
        ("phone", "+1 212 555 0100", "Brazilian mobile or landline number"),
        ("phone", "(01) 98765-4321", "Brazilian mobile or landline number"),
        ("phone", "(11) 88765-43210", "Brazilian mobile or landline number"),
        ("phone", "98765-4321", "Brazilian mobile or landline number"),
        ("random", "123e4567-e89b-12d3-a456-426614174000", "random key as your bank shows it"),
        ("random", "123e4567e89b42d3a456426614174000", "random key as your bank shows it"),
        ("random", "not-a-key", "random key as your bank shows it"),
        ("bitcoin", "x", "Choose the type of your Pix key."),
    ],
)
def test_an_invalid_pix_key_says_what_to_fix(key_type, key, message):
    with pytest.raises(ValidationError) as caught:
        pix_key_clean(key_type=key_type, key=key)

    assert message in caught.value.messages[0]


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        ("PT50 0002 0123 1234 5678 9015 4", "PT50000201231234567890154"),
        ("de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ],
)
def test_a_sepa_iban_is_stored_compact_in_capitals(number, stored):
    assert iban_clean(number) == stored


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("PT50 0002 0123 1234 5678 9015 5", "The IBAN's check digits are not correct."),
        ("PT50 0002", "Enter a valid IBAN."),
        ("hello", "Enter a valid IBAN."),
        ("BR18 0036 0305 0000 1000 9795 493C 1", "Only IBANs of SEPA countries are accepted."),
    ],
)
def test_an_invalid_or_non_sepa_iban_is_refused(number, message):
    with pytest.raises(ValidationError) as caught:
        iban_clean(number)

    assert caught.value.messages == [message]


@pytest.mark.parametrize(
    ("number", "stored"),
    [("002 010 07777777777 1", "002010077777777771"), ("032180000118359719",) * 2],
)
def test_a_clabe_with_its_check_digit_is_stored_as_18_digits(number, stored):
    assert clabe_clean(number) == stored


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("002010077777777772", "The CLABE's check digit is not correct."),
        ("00201007777777777", "A CLABE has 18 digits."),
        ("00201007777777777a", "A CLABE has 18 digits."),
        ("".join(chr(0xFF10 + int(d)) for d in "002010077777777771"), "A CLABE has 18 digits."),
    ],
)
def test_an_invalid_clabe_is_refused(number, message):
    with pytest.raises(ValidationError) as caught:
        clabe_clean(number)

    assert caught.value.messages == [message]


def test_the_clabe_check_digit_is_the_weighted_3_7_1_sum():
    # Every single-digit change of a valid CLABE's first 17 digits changes its check digit.
    valid = "002010077777777771"
    for position in range(17):
        digit = str((int(valid[position]) + 1) % 10)
        changed = valid[:position] + digit + valid[position + 1 :]
        with pytest.raises(ValidationError):
            clabe_clean(changed)


def test_a_colombian_account_needs_a_listed_bank_and_6_to_20_digits():
    assert co_bank_clean("007") == "Bancolombia"
    assert co_bank_clean("507") == "Nequi"
    assert co_account_number_clean("123-456 789") == "123456789"
    with pytest.raises(ValidationError, match=r"Choose your bank from the list\."):
        co_bank_clean("999")
    for number in ("12345", "1" * 21, "12345a7", ""):
        with pytest.raises(ValidationError, match="6 to 20 digits"):
            co_account_number_clean(number)


# --- the service ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "stored"),
    [
        (pix_data(), {"pix_key_type": "email", "pix_key": "maria.silva@example.com"}),
        (
            pix_data(pix_key_type="cpf", pix_key="123.456.789-09"),
            {"pix_key_type": "cpf", "pix_key": CPF},
        ),
        (
            pix_data(kind="iban", iban="pt50 0002 0123 1234 5678 9015 4"),
            {"iban": "PT50000201231234567890154", "pix_key": ""},
        ),
        (pix_data(kind="clabe", clabe="002-010-07777777777-1"), {"clabe": "002010077777777771"}),
        (
            pix_data(
                kind="co_bank", bank_code="051", account_type="checking", account_number="0012345"
            ),
            {
                "bank_code": "051",
                "bank_name": "Davivienda",
                "account_type": "checking",
                "account_number": "0012345",
            },
        ),
    ],
    ids=["pix-email", "pix-cpf", "iban", "clabe", "co_bank"],
)
def test_the_first_account_of_each_kind_is_saved_without_a_hold(data, stored):
    user = validated_user()

    account = payout_account_save(user=user, data=data)

    account.refresh_from_db()
    assert {name: getattr(account, name) for name in stored} == stored
    assert account.kind == data["kind"]
    assert account.is_active and account.replaced_at is None
    assert account.withdrawals_held_until is None and not account.withdrawals_held
    assert account.holder_name == "Maria José da Silva"
    assert account.holder_document == CPF
    assert mail.outbox == []


def test_the_holder_name_is_compared_without_case_accents_or_spacing():
    user = validated_user()

    account = payout_account_save(user=user, data=pix_data(holder_name="  MARIA JOSE  DA SILVA"))

    # The validated spelling is what is stored and sent.
    assert account.holder_name == "Maria José da Silva"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"holder_name": "João Pereira"}, "holder_name", "must be in your own name"),
        ({"holder_name": "Maria Silva"}, "holder_name", "Maria José da Silva"),
        ({"holder_document": "390.533.447-05"}, "holder_document", "123.456.789-09"),
        (
            {"pix_key_type": "cpf", "pix_key": "390.533.447-05"},
            "pix_key",
            "A CPF or CNPJ key must be your own tax document.",
        ),
        (
            {"pix_key_type": "cnpj", "pix_key": "11.222.333/0001-81"},
            "pix_key",
            "A CPF or CNPJ key must be your own tax document.",
        ),
        ({"kind": "usd"}, "kind", "Choose a kind of payout account."),
        ({"pix_key_type": ""}, "pix_key_type", "Choose the type of your Pix key."),
        ({"pix_key": " "}, "pix_key", "Enter your Pix key."),
        ({"kind": "co_bank", "bank_code": "007"}, "account_type", "Choose savings or checking."),
    ],
)
def test_an_account_not_in_the_holders_own_name_or_document_is_refused(changes, field, message):
    user = validated_user()

    errors = errors_of(lambda: payout_account_save(user=user, data=pix_data(**changes)))

    assert field in errors
    assert message in " ".join(errors[field])
    assert not PayoutAccount.objects.exists()


def test_a_company_holder_may_use_its_cnpj_key():
    user = UserFactory(full_name="Acme Cursos Ltda")
    AccountValidationFactory(
        user=user, validated=True, legal_name="Acme Cursos Ltda", tax_document=CNPJ
    )

    account = payout_account_save(
        user=user,
        data=pix_data(
            pix_key_type="cnpj",
            pix_key="11.222.333/0001-81",
            holder_name="ACME CURSOS LTDA",
            holder_document="11.222.333/0001-81",
        ),
    )

    assert account.pix_key == CNPJ
    assert account.holder_document == CNPJ


@pytest.mark.parametrize("status", ["none", "pending", "rejected"])
def test_only_a_validated_account_may_add_a_payout_account(status):
    user = UserFactory(full_name="Maria José da Silva")
    if status != "none":
        AccountValidationFactory(
            user=user, status=status, legal_name="Maria José da Silva", tax_document=CPF
        )

    errors = errors_of(lambda: payout_account_save(user=user, data=pix_data()))

    assert errors == {"__all__": ["Payout accounts need a validated account."]}
    assert not PayoutAccount.objects.exists()


def test_a_replacement_keeps_the_old_account_holds_withdrawals_and_emails_the_old_address(
    django_capture_on_commit_callbacks,
):
    user = validated_user(email="maria@old.example.com")
    first = payout_account_save(user=user, data=pix_data())
    now = timezone.now()

    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        second = payout_account_save(
            user=user, data=pix_data(pix_key_type="phone", pix_key="(11) 98765-4321")
        )
        # Not sent before the change commits.
        assert mail.outbox == []

    first.refresh_from_db()
    assert not first.is_active and first.replaced_at == now
    assert second.is_active
    assert second.withdrawals_held_until == now + timedelta(hours=24)
    assert active_payout_account(user, "BRL") == second
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["maria@old.example.com"]
    assert email.subject.endswith("Your payout account was changed")
    assert "withdrawals are held for 24 hours" in email.body
    assert "contact support" in email.body
    assert "Pix (email) m***@example.com" in email.body
    assert "Pix (phone) +55 11 *****-4321" in email.body
    assert "98765" not in email.body
    assert URL in email.body
    assert "contact support" in email.alternatives[0][0]


def test_the_hold_ends_after_24_hours():
    user = validated_user()
    payout_account_save(user=user, data=pix_data())
    second = payout_account_save(user=user, data=pix_data(pix_key="other@example.com"))

    assert second.withdrawals_held
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert second.withdrawals_held
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert not second.withdrawals_held


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_leave_one_active_account_and_one_replacement():
    user = validated_user()

    results = run_together(
        lambda: payout_account_save(user=user, data=pix_data(pix_key="one@example.com")),
        lambda: payout_account_save(user=user, data=pix_data(pix_key="two@example.com")),
    )

    assert errors(results) == []
    accounts = PayoutAccount.objects.filter(user=user)
    assert accounts.count() == 2
    (active,) = accounts.filter(is_active=True)
    # The one that came second replaced the first, so it is the held one.
    assert active.withdrawals_held_until is not None
    assert accounts.get(is_active=False).withdrawals_held_until is None


def test_an_account_of_another_kind_is_not_a_replacement(django_capture_on_commit_callbacks):
    user = validated_user()
    pix = payout_account_save(user=user, data=pix_data())

    with django_capture_on_commit_callbacks(execute=True):
        iban = payout_account_save(
            user=user, data=pix_data(kind="iban", iban="PT50000201231234567890154")
        )

    pix.refresh_from_db()
    assert pix.is_active and iban.is_active
    assert iban.withdrawals_held_until is None
    assert mail.outbox == []


def test_the_database_keeps_one_active_account_per_user_and_kind():
    account = PayoutAccountFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutAccountFactory(user=account.user)
    PayoutAccountFactory(user=account.user, eur=True)  # another kind is fine


def test_the_database_refuses_a_kind_without_its_fields():
    user = validated_user()

    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutAccount.objects.create(
            user=user, kind="iban", holder_name="Maria", holder_document=CPF
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutAccountFactory(user=user, pix_key_type="")


def test_a_user_with_payout_accounts_is_protected_from_deletion():
    from django.db import models

    # Withdrawals point at payout accounts: deleting their owner must not take them along.
    assert PayoutAccount._meta.get_field("user").remote_field.on_delete is models.PROTECT


def test_each_currency_maps_to_its_kind_and_usd_to_none():
    user = validated_user()
    accounts = {
        "BRL": PayoutAccountFactory(user=user),
        "EUR": PayoutAccountFactory(user=user, eur=True),
        "MXN": PayoutAccountFactory(user=user, mxn=True),
        "COP": PayoutAccountFactory(user=user, cop=True),
    }

    assert PAYOUT_KIND_FOR_CURRENCY == {
        "BRL": "pix",
        "EUR": "iban",
        "MXN": "clabe",
        "COP": "co_bank",
    }
    for currency, account in accounts.items():
        assert active_payout_account(user, currency) == account
        assert account.currency == currency
    assert active_payout_account(user, "USD") is None
    assert active_payout_account(UserFactory(), "BRL") is None


@pytest.mark.parametrize(
    ("traits", "shown", "snapshot"),
    [
        (
            {"pix_key_type": "email", "pix_key": "joao@example.com"},
            "Pix (email) j***@example.com",
            {"pix_key_type": "email", "pix_key": "joao@example.com"},
        ),
        (
            {"pix_key_type": "cpf", "pix_key": CPF},
            "Pix (CPF) ***.456.789-**",
            {"pix_key_type": "cpf", "pix_key": CPF},
        ),
        (
            {"pix_key_type": "random", "pix_key": "123e4567-e89b-42d3-a456-426614174000"},
            "Pix (random key) ****4000",
            {"pix_key_type": "random", "pix_key": "123e4567-e89b-42d3-a456-426614174000"},
        ),
        (
            {"eur": True, "iban": "PT50000201231234567890154"},
            "IBAN PT50 **** **** 0154",
            {"iban": "PT50000201231234567890154"},
        ),
        (
            {"mxn": True},
            "CLABE 002 **** **** 7771",
            {"clabe": "002010077777777771"},
        ),
        (
            {"cop": True},
            "Bancolombia (savings) ****8901",
            {
                "bank_code": "007",
                "bank_name": "Bancolombia",
                "account_type": "savings",
                "account_number": "12345678901",
            },
        ),
    ],
)
def test_display_masks_the_number_and_snapshot_has_what_the_gateway_needs(traits, shown, snapshot):
    account = PayoutAccountFactory(**traits)

    assert account.display == shown
    assert account.snapshot() == {
        "kind": account.kind,
        "currency": account.currency,
        "holder_name": account.holder_name,
        "holder_document": account.holder_document,
        **snapshot,
    }


# --- identity confirmation --------------------------------------------------------------------


def test_the_identity_form_asks_for_the_password_and_the_code_only_with_an_app():
    without = UserFactory()
    with_app = UserFactory()
    TOTP.activate(with_app, TOTP_SECRET)

    assert list(IdentityConfirmationForm(user=without).fields) == ["password"]
    assert list(IdentityConfirmationForm(user=with_app).fields) == ["password", "code"]
    assert not mfa_enabled(without)
    assert mfa_enabled(with_app)


def test_the_right_password_and_code_confirm_the_identity():
    user = UserFactory()
    TOTP.activate(user, TOTP_SECRET)

    form = IdentityConfirmationForm({"password": PASSWORD, "code": totp_now()}, user=user)

    assert form.is_valid(), form.errors


def test_a_wrong_password_is_refused():
    form = IdentityConfirmationForm({"password": "not-it"}, user=UserFactory())

    assert not form.is_valid()
    assert form.errors == {"password": ["Your password is not correct."]}


@pytest.mark.parametrize("code", ["000000", "12345", "abcdef", "1" * 20])
def test_a_wrong_code_is_refused(code):
    user = UserFactory()
    TOTP.activate(user, TOTP_SECRET)
    if code == "000000" and code == totp_now():
        code = "000001"

    form = IdentityConfirmationForm({"password": PASSWORD, "code": code}, user=user)

    assert not form.is_valid()
    assert form.errors == {"code": ["The code is not correct."]}


def test_a_code_is_accepted_once():
    user = UserFactory()
    TOTP.activate(user, TOTP_SECRET)
    code = totp_now()

    assert IdentityConfirmationForm({"password": PASSWORD, "code": code}, user=user).is_valid()
    again = IdentityConfirmationForm({"password": PASSWORD, "code": code}, user=user)
    assert not again.is_valid()
    assert again.errors == {"code": ["The code is not correct."]}


def test_a_typo_elsewhere_does_not_use_up_the_code():
    user = validated_user()
    TOTP.activate(user, TOTP_SECRET)
    code = totp_now()
    validation = user.validation

    typo = PayoutAccountForm(
        form_data(pix_key="maria@", code=code), user=user, validation=validation
    )
    assert not typo.is_valid()
    assert "code" not in typo.errors

    fixed = PayoutAccountForm(form_data(code=code), user=user, validation=validation)
    assert fixed.is_valid(), fixed.errors


# --- the page ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    for response in (client.get(URL), client.post(URL, form_data())):
        assert response.status_code == 302
        assert response.url == f"{reverse('account_login')}?next={URL}"
    assert not PayoutAccount.objects.exists()


def test_the_settings_page_links_to_payout_accounts(client):
    client.force_login(UserFactory())

    assert f'href="{URL}"' in text(client.get(reverse("accounts:settings")))


@pytest.mark.parametrize("status", ["none", "pending", "rejected"])
def test_an_unvalidated_user_is_told_to_validate_and_cannot_post(client, status):
    user = UserFactory()
    if status != "none":
        AccountValidationFactory(user=user, status=status)
    client.force_login(user)

    page = client.get(URL)
    posted = client.post(URL, form_data())

    assert page.status_code == 200
    assert "Payout accounts need a validated account" in text(page)
    assert f'href="{reverse("accounts:validation")}"' in text(page)
    assert '<form method="post" novalidate>' not in text(page)
    assert posted.status_code == 302
    assert not PayoutAccount.objects.exists()


def test_a_validated_user_adds_an_account_through_the_page(client):
    user = validated_user()
    client.force_login(user)

    page = client.get(URL)
    response = client.post(URL, form_data(), follow=True)

    assert page.status_code == 200
    assert "You have no payout account yet." in text(page)
    assert 'value="Maria José da Silva"' in text(page)  # the holder comes filled in
    assert 'value="123.456.789-09"' in text(page)
    assert "js/payout_account.js" in text(page)
    assert response.redirect_chain == [(URL, 302)]
    assert "Payout account added." in text(response)
    assert "Pix (email) m***@example.com" in text(response)
    assert "maria.silva@example.com" not in text(response)
    account = PayoutAccount.objects.get(user=user)
    assert account.pix_key == "maria.silva@example.com"


def test_replacing_through_the_page_says_withdrawals_are_held(
    client, django_capture_on_commit_callbacks
):
    user = validated_user()
    PayoutAccountFactory(user=user)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, form_data(), follow=True)

    assert "withdrawals to it are held for 24 hours" in text(response)
    assert "withdrawals held until" in text(response)
    assert len(mail.outbox) == 1
    assert PayoutAccount.objects.filter(user=user).count() == 2


def test_without_a_second_factor_the_page_asks_to_turn_it_on(client):
    user = validated_user()
    client.force_login(user)

    without = text(client.get(URL))
    TOTP.activate(user, TOTP_SECRET)
    with_app = text(client.get(URL))

    notice = "Turn on two-factor authentication before your first withdrawal."
    assert notice in without and f'href="{reverse("mfa_index")}"' in without
    assert notice not in with_app
    assert 'name="code"' in with_app and 'name="code"' not in without


def test_the_page_refuses_a_wrong_password_or_code(client):
    user = validated_user()
    client.force_login(user)

    wrong_password = client.post(URL, form_data(password="guess"))
    TOTP.activate(user, TOTP_SECRET)
    wrong_code = client.post(URL, form_data(code="000000" if totp_now() != "000000" else "1"))
    no_code = client.post(URL, form_data())
    right = client.post(URL, form_data(code=totp_now()))

    assert wrong_password.status_code == 200
    assert "Your password is not correct." in text(wrong_password)
    assert wrong_code.status_code == 200
    assert "The code is not correct." in text(wrong_code)
    assert no_code.status_code == 200
    assert right.status_code == 302
    assert PayoutAccount.objects.filter(user=user).count() == 1


def test_the_page_shows_the_services_errors_on_their_fields(client):
    user = validated_user()
    client.force_login(user)

    response = client.post(URL, form_data(holder_name="Someone Else", pix_key="maria@"))

    assert response.status_code == 200
    body = text(response)
    assert "The account must be in your own name, as validated: Maria José da Silva." in body
    assert "Enter a valid email address of at most 77 characters." in body
    assert not PayoutAccount.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"pix_key": "maria\x00@example.com"},
        {"holder_name": "Maria\x00José da Silva"},
        {"kind": "pix\x00"},
        {"pix_key_type": "email\x00"},
        {"password": PASSWORD + "\x00"},
        {"pix_key": "a" * 10_000},
        {"holder_name": "M" * 10_000},
        {"holder_document": "1" * 10_000},
        {"password": "p" * 10_000},
        {"kind": "iban", "iban": "PT" + "5" * 10_000},
        {"kind": "clabe", "clabe": "0" * 10_000},
        {"kind": "co_bank", "bank_code": "0" * 10_000, "account_type": "savings"},
        {"kind": "co_bank", "bank_code": "007", "account_type": "x" * 10_000},
        {"kind": "co_bank", "bank_code": "007", "account_number": "9" * 10_000},
    ],
    ids=lambda changes: ",".join(f"{k}:{v[:12]!r}…{len(v)}" for k, v in changes.items()),
)
def test_a_null_character_or_a_huge_value_is_a_form_error(client, changes):
    user = validated_user()
    client.force_login(user)

    response = client.post(URL, form_data(**changes))

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not PayoutAccount.objects.exists()


def test_a_user_sees_only_their_own_accounts(client):
    mine = PayoutAccountFactory(pix_key_type="email", pix_key="mine@example.com")
    PayoutAccountFactory(pix_key_type="email", pix_key="theirs@example.com")
    PayoutAccountFactory(eur=True, iban="DE89370400440532013000")
    client.force_login(mine.user)

    body = text(client.get(URL))

    assert "m***@example.com" in body
    assert "t***@example.com" not in body
    assert "DE89" not in body
    assert "Withdrawals in EUR" not in body


def test_a_replaced_account_is_no_longer_shown(client):
    user = validated_user()
    payout_account_save(user=user, data=pix_data(pix_key="first@example.com"))
    payout_account_save(user=user, data=pix_data(pix_key="second@example.com"))
    client.force_login(user)

    body = text(client.get(URL))

    assert "s***@example.com" in body
    assert "f***@example.com" not in body


def test_a_validation_revoked_meanwhile_is_a_form_error_not_a_500(client, monkeypatch):
    user = validated_user()
    client.force_login(user)
    real_save = payout_accounts.payout_account_save

    def revoked_first(*, user, data):
        AccountValidation.objects.filter(user=user).update(status="rejected")
        return real_save(user=user, data=data)

    monkeypatch.setattr(payout_accounts, "payout_account_save", revoked_first)

    response = client.post(URL, form_data())

    assert response.status_code == 200
    assert "Payout accounts need a validated account." in text(response)
    assert not PayoutAccount.objects.exists()


# --- admin ------------------------------------------------------------------------------------


def test_the_admin_lists_payout_accounts_and_deletes_none(client):
    account = PayoutAccountFactory(pix_key_type="email", pix_key="joao@example.com")
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    model_admin = admin.site._registry[PayoutAccount]

    listed = client.get(
        reverse("admin:accounts_payoutaccount_changelist"), {"q": account.user.email}
    )
    change = client.get(reverse("admin:accounts_payoutaccount_change", args=[account.pk]))

    assert listed.status_code == 200
    assert "Pix (email) j***@example.com" in text(listed)
    assert change.status_code == 200
    request = listed.wsgi_request
    assert not model_admin.has_delete_permission(request, account)
    assert not model_admin.has_add_permission(request)
    assert "withdrawals_held_until" not in model_admin.get_readonly_fields(request, account)
    assert "iban" in model_admin.get_readonly_fields(request, account)
