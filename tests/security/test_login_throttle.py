"""Failed logins are limited per address, per account and address, and per account: someone
guessing from one address never locks the owner out from another (accounts.adapters)."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts"


def refused_as_too_many(response) -> bool:
    """The form's error, or (past 30 logins a minute from one address) the 429 page."""
    if response.status_code == 429:
        return "Too many attempts" in response.content.decode()
    return TOO_MANY in response.content.decode()


def log_in(client, email, password, ip, **headers):
    return client.post(
        reverse("account_login"),
        {"login": email, "password": password},
        REMOTE_ADDR=ip,
        headers=headers,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_from_one_address_do_not_lock_the_owner_out(client, rate_limits):
    owner = UserFactory()
    for _ in range(30):
        response = log_in(client, owner.email, "wrong-guess", "203.0.113.7")
        assert response.status_code in (200, 429)
        assert not logged_in(client)
    # The guesser's own address is throttled, even with the right password...
    refused = log_in(client, owner.email, PASSWORD, "203.0.113.7")
    assert not logged_in(client)
    assert refused_as_too_many(refused)

    # ...the owner, elsewhere, is not.
    response = log_in(client, owner.email, PASSWORD, "198.51.100.20")
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert logged_in(client)


def test_one_address_is_throttled_after_five_failures_for_an_account(client, rate_limits):
    owner = UserFactory()
    for _ in range(5):
        assert TOO_MANY not in log_in(client, owner.email, "x", "203.0.113.7").content.decode()
    assert TOO_MANY in log_in(client, owner.email, "x", "203.0.113.7").content.decode()


def test_guessing_one_account_from_many_addresses_is_capped(client, rate_limits):
    owner = UserFactory()
    # 100 failures an hour for one account, whatever the addresses (5 each from 20 here).
    for n in range(100):
        page = log_in(client, owner.email, f"guess-{n}", f"10.0.{n // 5}.1").content.decode()
        assert TOO_MANY not in page
    page = log_in(client, owner.email, PASSWORD, "10.0.99.1").content.decode()
    assert TOO_MANY in page
    assert not logged_in(client)
    # Other accounts are not affected.
    other = UserFactory()
    assert log_in(client, other.email, PASSWORD, "10.0.99.1").status_code == 302


def test_a_successful_login_does_not_count_as_a_failure(client, rate_limits):
    owner = UserFactory()
    for _ in range(4):
        log_in(client, owner.email, "x", "203.0.113.7")
    for _ in range(3):
        assert log_in(client, owner.email, PASSWORD, "203.0.113.7").status_code == 302
        client.logout()
    # Still one failure left for this address (4 of 5 used).
    assert TOO_MANY not in log_in(client, owner.email, "x", "203.0.113.7").content.decode()
    assert TOO_MANY in log_in(client, owner.email, "x", "203.0.113.7").content.decode()


def test_forwarded_for_is_ignored_without_trusted_proxies(client, rate_limits, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    owner = UserFactory()
    # A client writing a new X-Forwarded-For each time is still one address.
    for n in range(5):
        log_in(client, owner.email, "x", "203.0.113.7", x_forwarded_for=f"192.0.2.{n}")
    page = log_in(client, owner.email, "x", "203.0.113.7", x_forwarded_for="192.0.2.99")
    assert TOO_MANY in page.content.decode()


def test_behind_one_proxy_the_address_it_saw_is_the_client(client, rate_limits, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    owner = UserFactory()
    proxy = "10.0.0.2"
    # What the client wrote (left) is not trusted; what our proxy appended (right) is.
    for n in range(5):
        forwarded = f"192.0.2.{n}, 203.0.113.7"
        log_in(client, owner.email, "x", proxy, x_forwarded_for=forwarded)
    page = log_in(client, owner.email, "x", proxy, x_forwarded_for="192.0.2.50, 203.0.113.7")
    assert TOO_MANY in page.content.decode()
    # Every user shares the proxy's REMOTE_ADDR, but not its bucket.
    response = log_in(client, owner.email, PASSWORD, proxy, x_forwarded_for="198.51.100.20")
    assert response.status_code == 302
