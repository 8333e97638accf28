"""Sign-up offers a language and time zone from the browser and saves the person's choice;
allauth's emails are written in the recipient's language (allauth ships pt-BR and es)."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP_URL = reverse("account_signup")
PASSWORD = "a-long-new-pass-2026"
SIGNUP = {
    "full_name": "Maria da Silva",
    "email": "maria@example.com",
    "password1": PASSWORD,
    "password2": PASSWORD,
}


@pytest.mark.parametrize(
    ("header", "language", "zone"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt-br", "America/Sao_Paulo"),
        ("es-MX,es;q=0.9", "es", "America/Mexico_City"),
        ("es-CO", "es", "America/Bogota"),
        ("pt-PT", "pt-br", "Europe/Lisbon"),
        ("en", "en", "UTC"),
        ("", "en", "UTC"),
    ],
)
def test_the_form_offers_the_browsers_language_and_zone(client, header, language, zone):
    response = client.get(SIGNUP_URL, headers={"accept-language": header})

    form = response.context["form"]
    assert (form["language"].value(), form["time_zone"].value()) == (language, zone)


def test_the_browser_may_pick_its_own_zone(client):
    content = client.get(SIGNUP_URL).content.decode()

    assert "js/time_zone.js" in content
    assert 'name="time_zone"' in content
    assert "data-browser-time-zone" in content


def test_a_form_sent_back_with_errors_keeps_the_persons_zone(client):
    response = client.post(SIGNUP_URL, {**SIGNUP, "full_name": "", "time_zone": "Asia/Tokyo"})

    assert response.status_code == 200
    assert "data-browser-time-zone" not in response.content.decode()
    assert response.context["form"]["time_zone"].value() == "Asia/Tokyo"


def test_signing_up_from_a_brazilian_browser_saves_its_defaults(client):
    response = client.post(
        SIGNUP_URL,
        {**SIGNUP, "language": "pt-br", "time_zone": "America/Sao_Paulo"},
        headers={"accept-language": "pt-BR"},
    )

    assert response.status_code == 302
    user = User.objects.get()
    assert (user.language, user.time_zone) == ("pt-br", "America/Sao_Paulo")


def test_a_client_that_sends_no_choice_gets_the_browsers_defaults(client):
    client.post(SIGNUP_URL, SIGNUP, headers={"accept-language": "pt-BR"})

    user = User.objects.get()
    assert (user.language, user.time_zone) == ("pt-br", "America/Sao_Paulo")


def test_the_persons_choice_wins_over_the_browser(client):
    client.post(
        SIGNUP_URL,
        {**SIGNUP, "language": "es", "time_zone": "Europe/Madrid"},
        headers={"accept-language": "pt-BR"},
    )

    user = User.objects.get()
    assert (user.language, user.time_zone) == ("es", "Europe/Madrid")


@pytest.mark.parametrize(
    ("change", "field"),
    [({"time_zone": "Nowhere/City"}, "time_zone"), ({"language": "de"}, "language")],
)
def test_a_choice_not_offered_is_refused(client, change, field):
    response = client.post(SIGNUP_URL, {**SIGNUP, **change})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not User.objects.exists()


def test_the_confirmation_email_is_in_the_chosen_language(client):
    client.post(
        SIGNUP_URL,
        {**SIGNUP, "language": "pt-br", "time_zone": "America/Sao_Paulo"},
        headers={"accept-language": "en"},
    )

    [message] = mail.outbox
    assert message.subject == "[Coprod] Por favor, confirme seu endereço de e-mail."


def test_a_password_reset_is_in_the_owners_language_not_the_browsers(client):
    user = UserFactory(language="es")

    client.post(
        reverse("account_reset_password"), {"email": user.email}, headers={"accept-language": "en"}
    )

    [message] = mail.outbox
    assert message.subject == "[Coprod] Correo electrónico para restablecer contraseña"
