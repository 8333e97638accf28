"""API tokens: made with a secret shown once and kept as its SHA-256, checked (revoked or
inactive → nothing), last use written at most once a minute; the settings screens list,
create and revoke only the person's own tokens."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.urls import reverse

from accounts import api_tokens
from accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("tokens:list")


def test_create_keeps_only_the_digest_and_a_prefix():
    user = UserFactory()
    token, plaintext = api_tokens.create(user=user, name="CRM", scope="read")
    assert plaintext.startswith("cpd_") and len(plaintext) > 40
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:12]
    stored = ApiToken.objects.get(pk=token.pk)
    assert plaintext not in {stored.name, stored.prefix, stored.digest}
    other = api_tokens.create(user=user, name="CRM", scope="read")[1]
    assert other != plaintext


def test_unknown_scope_is_refused():
    with pytest.raises(ValueError):
        api_tokens.create(user=UserFactory(), name="x", scope="admin")


def test_authenticate_finds_the_live_token_only():
    user = UserFactory()
    token, plaintext = api_tokens.create(user=user, name="a", scope="write")
    assert api_tokens.authenticate(plaintext) == token
    assert api_tokens.authenticate(plaintext + "x") is None
    assert api_tokens.authenticate("cpd_" + "a" * 43) is None
    assert api_tokens.authenticate("") is None
    assert api_tokens.authenticate(None) is None
    assert api_tokens.authenticate(plaintext[4:]) is None  # without its prefix
    api_tokens.revoke(token)
    assert api_tokens.authenticate(plaintext) is None


def test_an_inactive_users_token_does_not_work():
    user = UserFactory()
    plaintext = api_tokens.create(user=user, name="a", scope="read")[1]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api_tokens.authenticate(plaintext) is None


def test_revoking_twice_keeps_the_first_time():
    token = api_tokens.create(user=UserFactory(), name="a", scope="read")[0]
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC), tick=False):
        api_tokens.revoke(token)
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC), tick=False):
        api_tokens.revoke(token)
    token.refresh_from_db()
    assert token.revoked_at == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def test_last_used_is_written_at_most_once_a_minute(django_assert_num_queries):
    token, plaintext = api_tokens.create(user=UserFactory(), name="a", scope="read")
    start = dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False), django_assert_num_queries(2):
        api_tokens.authenticate(plaintext)  # the lookup and the one update
    later = start + dt.timedelta(seconds=59)
    with time_machine.travel(later, tick=False), django_assert_num_queries(1):
        api_tokens.authenticate(plaintext)  # the lookup only
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        api_tokens.authenticate(plaintext)
    token.refresh_from_db()
    assert token.last_used_at == start + dt.timedelta(seconds=61)


# ------------------------------------------------------------------------------ the screens


def test_anonymous_is_sent_to_login(client):
    for url in (LIST, reverse("tokens:revoke", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response["Location"]


def test_the_list_shows_own_tokens_only(client):
    me, other = UserFactory(), UserFactory()
    mine = api_tokens.create(user=me, name="Spreadsheet sync", scope="read")[0]
    api_tokens.create(user=other, name="Someone else's", scope="write")
    revoked = api_tokens.create(user=me, name="Old one", scope="write")[0]
    api_tokens.revoke(revoked)
    client.force_login(me)
    html = client.get(LIST).content.decode()
    assert "Spreadsheet sync" in html and mine.prefix in html
    assert "Old one" in html and "Revoked" in html
    assert "Someone else" not in html
    assert "Read only" in html and "Read and write" in html
    assert mine.digest not in html


def test_creating_shows_the_token_once(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(LIST, {"name": "CRM", "scope": "write"})
    assert response.status_code == 200
    html = response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert token.scope == "write" and token.name == "CRM"
    plaintext = html.split('id="token-value" type="text" value="')[1].split('"')[0]
    assert api_tokens.authenticate(plaintext) == token
    assert "shown only this once" in html
    assert "no-store" in response["Cache-Control"]  # no copy kept by a browser or proxy
    # Never again: the list shows the prefix, not the token.
    again = client.get(LIST).content.decode()
    assert plaintext not in again and token.prefix in again


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "scope": "read"}, "name", "This field is required."),
        ({"name": "   ", "scope": "read"}, "name", "This field is required."),
        ({"name": "x" * 101, "scope": "read"}, "name", "at most 100 characters"),
        ({"name": "ok", "scope": "admin"}, "scope", "Select a valid choice."),
        ({"name": "ok"}, "scope", "This field is required."),
    ],
)
def test_bad_input_is_a_form_error(client, data, field, message):
    user = UserFactory()
    client.force_login(user)
    response = client.post(LIST, data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not ApiToken.objects.exists()


def test_revoke_asks_then_revokes(client):
    user = UserFactory()
    token, plaintext = api_tokens.create(user=user, name="CRM", scope="read")
    client.force_login(user)
    url = reverse("tokens:revoke", args=[token.pk])
    page = client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    assert api_tokens.authenticate(plaintext) is not None
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == LIST
    assert api_tokens.authenticate(plaintext) is None
    # Revoking again says so, and changes nothing.
    token.refresh_from_db()
    first = token.revoked_at
    response = client.post(url, follow=True)
    assert "already revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at == first


def test_someone_elses_token_is_not_found(client):
    token = api_tokens.create(user=UserFactory(), name="theirs", scope="read")[0]
    client.force_login(UserFactory())
    url = reverse("tokens:revoke", args=[token.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_other_methods_are_refused(client):
    client.force_login(UserFactory())
    assert client.put(LIST).status_code == 405
    assert client.delete(LIST).status_code == 405


def test_settings_links_to_the_tokens_page(client):
    client.force_login(UserFactory())
    html = client.get(reverse("accounts:settings")).content.decode()
    assert f'href="{LIST}"' in html
