"""The header's language switcher (anyone) and the Account settings screen (logged in)."""

from html import unescape

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LANGUAGE = reverse("accounts:language")
SETTINGS = reverse("accounts:settings")
COOKIE = settings.LANGUAGE_COOKIE_NAME


def text(response) -> str:
    return unescape(response.content.decode())


# The page speaks its language


@pytest.mark.parametrize(("header", "lang"), [("pt-BR,pt;q=0.9", "pt-br"), ("es-MX", "es")])
def test_an_anonymous_page_follows_the_browser(client, header, lang):
    response = client.get(reverse("home"), headers={"accept-language": header})

    assert f'<html lang="{lang}">' in text(response)


def test_a_logged_in_page_follows_the_account_not_the_browser(client):
    client.force_login(UserFactory(language="es"))

    response = client.get(reverse("dashboard"), headers={"accept-language": "pt-BR"})

    assert '<html lang="es">' in text(response)


@pytest.mark.parametrize(
    ("logged_in", "url"),
    [(False, "/accounts/login/?next=/dashboard/"), (True, "/account/validation/?from=menu")],
    ids=["anonymous", "logged-in"],
)
def test_the_header_offers_every_language_and_comes_back_to_this_page(client, logged_in, url):
    if logged_in:
        client.force_login(UserFactory())

    content = text(client.get(url))

    assert f'action="{LANGUAGE}"' in content
    assert f'<input type="hidden" name="next" value="{url}">' in content
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}" lang="{code}"' in content
        assert name in content
    assert 'name="csrfmiddlewaretoken"' in content


# The switcher


def test_an_anonymous_visitor_switches_with_a_cookie(client):
    response = client.post(LANGUAGE, {"language": "pt-br", "next": "/accounts/login/"})

    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    assert response.cookies[COOKIE].value == "pt-br"
    page = client.get("/accounts/login/", headers={"accept-language": "es"})
    assert '<html lang="pt-br">' in text(page)


def test_a_logged_in_user_switches_and_the_account_keeps_it(client):
    user = UserFactory(language="en")
    client.force_login(user)

    response = client.post(LANGUAGE, {"language": "es", "next": "/dashboard/"})

    assert (response.status_code, response.url) == (302, "/dashboard/")
    user.refresh_from_db()
    assert user.language == "es"
    assert response.cookies[COOKIE].value == "es"
    # Another browser, without the cookie, still gets the account's language.
    client.cookies.pop(COOKIE)
    assert '<html lang="es">' in text(client.get("/dashboard/"))


@pytest.mark.parametrize(
    "next_url", ["https://evil.example.com/", "//evil.example.com/", "", "javascript:alert(1)"]
)
def test_the_switcher_never_sends_anyone_off_site(client, next_url):
    response = client.post(LANGUAGE, {"language": "es", "next": next_url})

    assert (response.status_code, response.url) == (302, "/")
    assert response.cookies[COOKIE].value == "es"


@pytest.mark.parametrize("language", ["fr", "pt", "", "en-us"])
def test_a_language_not_offered_changes_nothing(client, language):
    user = UserFactory(language="en")
    client.force_login(user)

    response = client.post(LANGUAGE, {"language": language, "next": "/dashboard/"}, follow=True)

    assert response.redirect_chain == [("/dashboard/", 302)]
    assert "Choose one of the offered languages." in text(response)
    assert COOKIE not in response.cookies
    user.refresh_from_db()
    assert user.language == "en"


def test_the_switcher_only_takes_posts(client):
    assert client.get(LANGUAGE, {"language": "es"}).status_code == 405


def test_the_switcher_needs_the_csrf_token(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert strict.post(LANGUAGE, {"language": "es", "next": "/"}).status_code == 403


# Account settings


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login_from_the_settings(client, method):
    response = getattr(client, method)(SETTINGS)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={SETTINGS}"


def test_the_header_links_to_the_settings(client):
    client.force_login(UserFactory())

    assert f'href="{SETTINGS}"' in text(client.get(reverse("dashboard")))


def test_the_settings_show_the_current_choice(client):
    client.force_login(UserFactory(language="es", time_zone="America/Bogota"))

    form = client.get(SETTINGS).context["form"]

    assert form.initial == {"language": "es", "time_zone": "America/Bogota"}
    assert ("America/Sao_Paulo", "America/Sao Paulo") in form.fields["time_zone"].choices


def test_saving_the_settings_changes_the_account_and_says_so(client):
    user = UserFactory(language="en", time_zone="UTC")
    client.force_login(user)

    response = client.post(
        SETTINGS, {"language": "en", "time_zone": "America/Mexico_City"}, follow=True
    )

    assert response.redirect_chain == [(SETTINGS, 302)]
    assert "Settings saved." in text(response)
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("en", "America/Mexico_City")


def test_a_new_language_applies_from_the_next_page(client):
    user = UserFactory(language="en")
    client.force_login(user)

    response = client.post(SETTINGS, {"language": "pt-br", "time_zone": "UTC"}, follow=True)

    assert '<html lang="pt-br">' in text(response)
    assert client.cookies[COOKIE].value == "pt-br"
    user.refresh_from_db()
    assert user.language == "pt-br"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Choose a time zone from the list."),
        ({"time_zone": "EST5EDT"}, "time_zone", "Choose a time zone from the list."),
        ({"time_zone": ""}, "time_zone", "This field is required."),
        ({"language": "fr"}, "language", "Select a valid choice."),
    ],
    ids=["unknown-zone", "legacy-alias", "empty-zone", "unknown-language"],
)
def test_bad_settings_are_refused_with_a_message(client, data, field, message):
    user = UserFactory(language="en", time_zone="Europe/Lisbon")
    client.force_login(user)

    response = client.post(SETTINGS, {"language": "es", "time_zone": "UTC", **data})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in text(response)
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("en", "Europe/Lisbon")
