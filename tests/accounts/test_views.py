"""Home, dashboard and account validation screens: access and bad input."""

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import AccountValidation
from tests.factories import AccountValidationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_ONLY = [
    "dashboard",
    "accounts:validation",
    "accounts:settings",
    "accounts:inbox",
    "accounts:bell",
    "accounts:inbox_preferences",
    "accounts:payout_account",
]
# POST only (and one per notification): tests/notifications/test_inbox_views.py.
INBOX_ACTIONS = ["accounts:inbox_read", "accounts:inbox_open"]
# The language switcher works for anyone (tests/accounts/test_language.py).
PUBLIC = ["accounts:language"]
IDENTITY = {"legal_name": "Maria da Silva", "country": "BR", "tax_document": "123.456.789-09"}


def text(response) -> str:
    return unescape(response.content.decode())


def test_the_tables_list_every_accounts_url():
    from accounts.urls import urlpatterns as accounts_urls

    names = {f"accounts:{p.name}" for p in accounts_urls}
    assert names | {"dashboard"} == set(LOGIN_ONLY) | set(PUBLIC) | set(INBOX_ACTIONS)


@pytest.mark.parametrize("name", LOGIN_ONLY)
def test_anonymous_is_sent_to_login(client, name):
    url = reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("name", LOGIN_ONLY)
@pytest.mark.parametrize("validated", [False, True], ids=["unvalidated", "validated"])
def test_a_logged_in_user_opens_login_only_pages(client, name, validated):
    client.force_login(UserFactory(validated=validated))

    response = client.get(reverse(name))

    assert response.status_code == 200


def test_home_shows_the_landing_page_to_anonymous(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert b"Create an account" in response.content


def test_home_sends_a_logged_in_user_to_the_dashboard(client):
    client.force_login(UserFactory())

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_the_dashboard_shows_my_products_and_my_validation_status(client):
    user = UserFactory(validated=True)
    ProductFactory(producer=user, name="My course")
    ProductFactory(name="Not mine")
    client.force_login(user)

    response = client.get(reverse("dashboard"))

    content = text(response)
    assert "My course" in content
    assert "Not mine" not in content
    assert "Your account is validated" in content


def test_the_dashboard_invites_an_unvalidated_user_to_validate(client):
    client.force_login(UserFactory())

    response = client.get(reverse("dashboard"))

    assert "Not submitted" in text(response)
    assert reverse("accounts:validation") in text(response)


# Validation form


def test_submitting_identity_data_creates_a_pending_validation(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("accounts:validation"), IDENTITY, follow=True)

    assert response.redirect_chain == [(reverse("accounts:validation"), 302)]
    assert "Thanks! Your data was sent for review." in text(response)
    validation = AccountValidation.objects.get(user=user)
    assert validation.status == AccountValidation.Status.PENDING
    # Stored compact; shown formatted (accounts.tax_documents).
    assert validation.tax_document == "12345678909"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tax_document": ""}, "This field is required."),
        ({"tax_document": "   "}, "This field is required."),
        ({"tax_document": "!!!!"}, "Enter a valid tax document number."),
        ({"tax_document": "12"}, "Enter a valid tax document number."),
        ({"tax_document": "123<script>"}, "Use only letters, digits, dots, dashes and slashes."),
        ({"tax_document": "1" * 41}, "Ensure this value has at most 40 characters (it has 41)."),
        ({"country": "XX"}, "Select a valid choice. XX is not one of the available choices."),
        ({"country": ""}, "This field is required."),
        ({"legal_name": "  A  "}, "Enter your full legal name."),
        ({"legal_name": ""}, "This field is required."),
    ],
    ids=[
        "tax-empty",
        "tax-blank",
        "tax-garbage",
        "tax-short",
        "tax-markup",
        "tax-long",
        "country-unknown",
        "country-empty",
        "name-short",
        "name-empty",
    ],
)
def test_bad_identity_data_is_refused_with_a_message(client, change, message):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("accounts:validation"), {**IDENTITY, **change})

    assert response.status_code == 200
    assert message in text(response)
    assert not AccountValidation.objects.filter(user=user).exists()


@pytest.mark.parametrize("status", ["pending", "validated"])
def test_a_pending_or_validated_user_cannot_resubmit(client, status):
    validation = AccountValidationFactory(status=status, legal_name="Original Name")
    client.force_login(validation.user)

    response = client.post(
        reverse("accounts:validation"), {**IDENTITY, "legal_name": "Other Name"}, follow=True
    )

    assert "Your data is already under review or validated." in text(response)
    assert "Submit for validation" not in text(response)
    validation.refresh_from_db()
    assert (validation.status, validation.legal_name) == (status, "Original Name")


def test_a_rejected_user_sees_the_reason_and_resubmits(client):
    validation = AccountValidationFactory(rejected=True, review_note="Blurry document")
    client.force_login(validation.user)

    page = client.get(reverse("accounts:validation"))
    response = client.post(reverse("accounts:validation"), IDENTITY)

    assert "Blurry document" in text(page)
    assert page.context["form"].initial["legal_name"] == validation.legal_name
    assert response.status_code == 302
    validation.refresh_from_db()
    assert validation.status == AccountValidation.Status.PENDING
    assert validation.legal_name == "Maria da Silva"


def test_the_validation_required_page_links_to_the_validation_form(client):
    client.force_login(UserFactory())

    response = client.get(reverse("products:create"))

    assert response.status_code == 403
    assert reverse("accounts:validation") in text(response)
