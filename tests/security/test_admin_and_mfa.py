"""The admin is behind the site's login (its throttle and second factor); staff need an
authenticator app before anything else; everyone else may add one."""

from urllib.parse import parse_qs, urlparse

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, TOTP_SECRET, UserFactory

pytestmark = pytest.mark.django_db


def totp_now(secret: str = TOTP_SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_login_sends_to_the_site_login_and_back(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")

    assert response.status_code == 302
    target = urlparse(response.url)
    assert target.path == reverse("account_login")
    assert parse_qs(target.query)["next"] == ["/admin/accounts/user/"]


def test_the_admin_login_never_takes_a_password(client):
    staff = UserFactory(is_staff=True, is_superuser=True)

    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert urlparse(response.url).path == reverse("account_login")
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302


def test_an_outside_next_is_not_followed(client):
    response = client.get("/admin/login/?next=https://evil.example.com/")

    assert urlparse(parse_qs(urlparse(response.url).query)["next"][0]).netloc == ""
    # After logging in, the admin login itself refuses to send anyone out of the site.
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/login/?next=https://evil.example.com/").url == "/admin/"


def test_the_admin_login_is_throttled_like_the_site(client, rate_limits):
    staff = UserFactory(is_staff=True, is_superuser=True)
    login_url = client.get("/admin/login/?next=/admin/").url
    for _ in range(5):
        client.post(login_url, {"login": staff.email, "password": "guess"})

    page = client.post(login_url, {"login": staff.email, "password": PASSWORD})

    assert "Too many failed login attempts" in page.content.decode()
    assert not logged_in(client)


def test_staff_need_their_second_factor_to_reach_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    login_url = client.get("/admin/login/?next=/admin/").url

    after_password = client.post(login_url, {"login": staff.email, "password": PASSWORD})

    # The password alone logs nobody in: allauth asks for the code.
    assert after_password.status_code == 302
    assert after_password.url == reverse("mfa_authenticate")
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not logged_in(client)

    done = client.post(reverse("mfa_authenticate"), {"code": totp_now()})
    assert done.status_code == 302
    assert done.url == "/admin/"
    assert logged_in(client)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("path", ["/admin/", "/dashboard/", "/account/settings/"])
def test_staff_without_a_second_factor_are_sent_to_set_it_up(client, path):
    client.force_login(UserFactory(is_staff=True, authenticator_app=False))

    response = client.get(path)

    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_an_htmx_fragment_for_staff_without_a_second_factor_is_empty(client):
    # The setup pages load the bell too: no redirect (it would loop), no content.
    client.force_login(UserFactory(is_staff=True, authenticator_app=False))

    response = client.get(reverse("accounts:bell"), headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert not response.content


def test_staff_set_up_an_authenticator_app_then_reach_the_admin(client):
    staff = UserFactory(is_staff=True, authenticator_app=False)
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert logged_in(client)
    # allauth asks for the password again before adding a factor (a stolen session cannot).
    asked = client.get(reverse("mfa_activate_totp"))
    assert urlparse(asked.url).path == reverse("account_reauthenticate")
    client.post(asked.url, {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_now(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    # Recovery codes come with it.
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_person_who_is_not_staff_is_refused_the_admin(client):
    client.force_login(UserFactory())

    response = client.get("/admin/", follow=True)

    assert response.status_code == 403


def test_everyone_is_offered_two_factor_authentication(client):
    person = UserFactory()
    client.force_login(person)

    settings_page = client.get(reverse("accounts:settings")).content.decode()
    assert f'href="{reverse("mfa_index")}"' in settings_page
    # Not required for them: the rest of the site stays open.
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200
