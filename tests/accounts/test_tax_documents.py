"""Tax documents checked by country with python-stdnum: the rule, the validation form (stored
compact, errors that name the document) and the admin (shown formatted)."""

from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AccountValidation
from accounts.tax_documents import rule_for, tax_document_clean, tax_document_display
from tests.factories import AccountValidationFactory, UserFactory

pytestmark = pytest.mark.django_db

# (country, as a person types it, as stored, as shown)
VALID = [
    ("BR", "390.533.447-05", "39053344705", "390.533.447-05"),  # CPF
    ("BR", "39053344705", "39053344705", "390.533.447-05"),
    ("BR", "11.222.333/0001-81", "11222333000181", "11.222.333/0001-81"),  # CNPJ
    ("MX", "GODE-561231-GR8", "GODE561231GR8", "GODE 561231 GR8"),  # RFC, person
    ("MX", "MAB 930714 8T4", "MAB9307148T4", "MAB 930714 8T4"),  # RFC, company
    ("CO", "213.123.432-1", "2131234321", "213.123.432-1"),  # NIT
    ("PT", "123 456 789", "123456789", "123456789"),  # NIF
    ("ES", "54362315-K", "54362315K", "54362315K"),  # NIF (DNI)
    ("ES", "B58378431", "B58378431", "B58378431"),  # NIF (company)
    ("AR", "20-26756539-3", "20267565393", "20-26756539-3"),  # CUIT, stdnum's VAT module
    ("US", "536-90-4399", "536904399", "536-90-4399"),  # SSN, stdnum's tax id module
]
# (country, a number with a wrong check digit or shape, the error)
INVALID = [
    ("BR", "390.533.447-04", "Enter a valid CPF or CNPJ."),
    ("BR", "11.222.333/0001-80", "Enter a valid CPF or CNPJ."),
    ("BR", "1234", "Enter a valid CPF or CNPJ."),
    ("MX", "GODE561331GR8", "Enter a valid RFC."),  # no 13th month
    ("CO", "213.123.432-2", "Enter a valid NIT."),
    ("PT", "123456780", "Enter a valid NIF."),
    ("ES", "54362315Z", "Enter a valid NIF."),
    ("AR", "20-26756539-4", "Enter a valid tax number for Argentina."),
]


@pytest.mark.parametrize(("country", "typed", "stored", "shown"), VALID)
def test_a_valid_number_is_stored_compact_and_shown_formatted(country, typed, stored, shown):
    assert tax_document_clean(country=country, number=typed) == stored
    assert tax_document_display(country=country, number=stored) == shown


@pytest.mark.parametrize(("country", "number", "message"), INVALID)
def test_a_wrong_number_names_the_document(country, number, message):
    with pytest.raises(ValidationError) as error:
        tax_document_clean(country=country, number=number)

    assert error.value.messages == [message]


def test_a_country_stdnum_does_not_know_accepts_any_text():
    assert rule_for("AO") is None
    assert tax_document_clean(country="AO", number=" 00-ABC-123 ") == "00-ABC-123"
    assert tax_document_display(country="AO", number="00-ABC-123") == "00-ABC-123"


def test_a_number_stored_before_the_check_is_shown_as_stored():
    assert tax_document_display(country="BR", number="390.533.447-04") == "390.533.447-04"


# The validation form


@pytest.fixture
def submit(client):
    user = UserFactory()
    client.force_login(user)

    def post(country: str, tax_document: str):
        data = {"legal_name": "Maria da Silva", "country": country, "tax_document": tax_document}
        return client.post(reverse("accounts:validation"), data)

    post.user = user
    return post


@pytest.mark.parametrize(("country", "typed", "stored", "shown"), VALID)
def test_the_form_stores_the_compact_number(submit, country, typed, stored, shown):
    response = submit(country, typed)

    assert response.status_code == 302
    validation = AccountValidation.objects.get(user=submit.user)
    assert (validation.country.code, validation.tax_document) == (country, stored)


@pytest.mark.parametrize(("country", "number", "message"), INVALID)
def test_the_form_refuses_a_wrong_number_with_a_clear_error(submit, country, number, message):
    response = submit(country, number)

    assert response.status_code == 200
    assert response.context["form"].errors["tax_document"] == [message]
    assert message in unescape(response.content.decode())
    assert not AccountValidation.objects.exists()


def test_the_user_sees_the_number_formatted_once_submitted(client):
    validation = AccountValidationFactory(country="BR", tax_document="39053344705")
    client.force_login(validation.user)

    response = client.get(reverse("accounts:validation"))

    assert "<dd>390.533.447-05</dd>" in response.content.decode()


def test_a_rejected_user_corrects_the_number_they_see_formatted(client):
    validation = AccountValidationFactory(rejected=True, country="BR", tax_document="39053344705")
    client.force_login(validation.user)

    form = client.get(reverse("accounts:validation")).context["form"]

    assert form["tax_document"].value() == "390.533.447-05"


# The admin


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_the_admin_list_shows_formatted_numbers(client, superuser):
    AccountValidationFactory(country="BR", tax_document="39053344705")
    AccountValidationFactory(country="MX", tax_document="GODE561231GR8")

    response = client.get(reverse("admin:accounts_accountvalidation_changelist"))

    content = response.content.decode()
    assert "390.533.447-05" in content
    assert "GODE 561231 GR8" in content
    assert "39053344705" not in content


@pytest.mark.parametrize("term", ["39053344705", "390.533.447-05"])
def test_the_admin_list_finds_a_number_as_stored_or_formatted(client, superuser, term):
    wanted = AccountValidationFactory(country="BR", tax_document="39053344705")
    AccountValidationFactory(country="BR", tax_document="11222333000181")
    AccountValidationFactory(country="BR", tax_document="39053344705", rejected=True)

    response = client.get(
        reverse("admin:accounts_accountvalidation_changelist"),
        {"q": term, "status__exact": "pending"},
    )

    assert list(response.context["cl"].result_list) == [wanted]


def change_data(validation, **changes) -> dict:
    return {
        "legal_name": validation.legal_name,
        "country": validation.country.code,
        "tax_document": tax_document_display(
            country=validation.country, number=validation.tax_document
        ),
        "review_note": validation.review_note,
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        **changes,
    }


def test_the_admin_change_page_shows_the_formatted_number(client, superuser):
    validation = AccountValidationFactory(country="BR", tax_document="11222333000181")

    response = client.get(reverse("admin:accounts_accountvalidation_change", args=[validation.pk]))

    assert 'value="11.222.333/0001-81"' in response.content.decode()


def test_saving_a_note_in_the_admin_keeps_the_stored_number(client, superuser):
    # Stored before numbers were checked: a note must still be savable.
    validation = AccountValidationFactory(country="BR", tax_document="390.533.447-04")
    url = reverse("admin:accounts_accountvalidation_change", args=[validation.pk])

    response = client.post(url, change_data(validation, review_note="Call the user"))

    assert response.status_code == 302
    validation.refresh_from_db()
    assert (validation.review_note, validation.tax_document) == ("Call the user", "390.533.447-04")


def test_a_number_changed_in_the_admin_is_checked_and_stored_compact(client, superuser):
    validation = AccountValidationFactory(country="BR", tax_document="39053344705")
    url = reverse("admin:accounts_accountvalidation_change", args=[validation.pk])

    refused = client.post(url, change_data(validation, tax_document="390.533.447-04"))
    accepted = client.post(url, change_data(validation, tax_document="11.222.333/0001-81"))

    assert refused.status_code == 200
    assert "Enter a valid CPF or CNPJ." in unescape(refused.content.decode())
    assert accepted.status_code == 302
    validation.refresh_from_db()
    assert validation.tax_document == "11222333000181"
