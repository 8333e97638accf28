"""Sign-up, email confirmation, log-in and password reset through allauth, with the test client."""

import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-pass-2026"
SIGNUP = {
    "full_name": "  Maria da Silva ",
    "email": "Maria@Example.com",
    "password1": NEW_PASSWORD,
    "password2": NEW_PASSWORD,
}


def link_in(message) -> str:
    """The path of the first link to this site in an email's body."""
    url = re.search(r"https?://testserver(/\S+)", message.body)
    assert url, message.body
    return urlparse(url.group(0)).path


def test_sign_up_confirm_and_log_in(client):
    response = client.post(reverse("account_signup"), SIGNUP)

    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "maria@example.com"
    assert user.full_name == "Maria da Silva"
    assert not EmailAddress.objects.get(user=user).verified

    # Mandatory verification: one email with a confirmation link.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["maria@example.com"]
    assert mail.outbox[0].subject.startswith("[Coprod] ")
    confirm_path = link_in(mail.outbox[0])
    assert confirm_path.startswith("/accounts/confirm-email/")

    client.logout()
    page = client.get(confirm_path)
    assert page.status_code == 200
    # Confirming on GET is off: the address is verified only by the POST.
    assert not EmailAddress.objects.get(user=user).verified
    confirmed = client.post(confirm_path)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    client.logout()
    login = client.post(
        reverse("account_login"), {"login": "maria@example.com", "password": NEW_PASSWORD}
    )

    assert login.status_code == 302
    assert login.url == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)
    dashboard = client.get(reverse("dashboard"))
    assert "Hello, Maria" in dashboard.content.decode()


def test_an_unconfirmed_address_cannot_log_in(client):
    client.post(reverse("account_signup"), SIGNUP)
    client.logout()
    mail.outbox.clear()

    response = client.post(
        reverse("account_login"), {"login": "maria@example.com", "password": NEW_PASSWORD}
    )

    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1


def test_sign_up_needs_a_full_name(client):
    response = client.post(reverse("account_signup"), {**SIGNUP, "full_name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not User.objects.exists()
    assert mail.outbox == []


def test_an_email_is_taken_whatever_its_case(client):
    UserFactory(email="maria@example.com")

    response = client.post(reverse("account_signup"), SIGNUP)

    # Enumeration prevention: the page looks like success; the owner gets a warning instead.
    assert response.status_code == 302
    assert User.objects.count() == 1
    assert mail.outbox[0].to == ["maria@example.com"]
    assert "/accounts/confirm-email/" not in mail.outbox[0].body
    assert mail.outbox[0].subject == "[Coprod] Account Already Exists"


def test_log_in_with_a_wrong_password_fails(client):
    user = UserFactory()

    response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_log_in_is_case_insensitive(client):
    user = UserFactory(email="paula@example.com")

    response = client.post(
        reverse("account_login"), {"login": "Paula@Example.COM", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_password_reset_sends_a_working_link(client):
    user = UserFactory()

    response = client.post(reverse("account_reset_password"), {"email": user.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert mail.outbox[0].subject == "[Coprod] Password Reset Email"
    reset_path = link_in(mail.outbox[0])
    assert reset_path.startswith("/accounts/password/reset/key/")

    # allauth moves the key into the session and redirects to a keyless URL.
    form_page = client.get(reset_path, follow=True)
    [(set_password_path, _)] = form_page.redirect_chain
    assert set_password_path.endswith("-set-password/")
    done = client.post(set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_for_an_unknown_address_sends_no_reset_link(client):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert all("/password/reset/key/" not in m.body for m in mail.outbox)
