"""The inbox's screens: only the recipient sees, opens or marks a notification."""

import pytest
from django.urls import reverse

from accounts.models import Notification
from accounts.notifications import notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def note(user, key="1", kind=Kind.SUBSCRIPTION_OVERDUE, path="/subscriptions/7/"):
    notify(user, kind, key=key, params={"product": "Course", "name": "Ana"}, path=path)
    return Notification.objects.get(recipient=user, kind=kind, key=key)


@pytest.fixture
def user(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    "name,args,method",
    [
        ("accounts:inbox", [], "get"),
        ("accounts:bell", [], "get"),
        ("accounts:inbox_preferences", [], "get"),
        ("accounts:inbox_read", [], "post"),
        ("accounts:inbox_open", [1], "post"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, name, args, method):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_bell_counts_unread(client, user):
    assert b"bell-count" not in client.get(reverse("accounts:bell")).content
    note(user, "1")
    note(user, "2")
    note(UserFactory(), "3")
    response = client.get(reverse("accounts:bell"))
    assert b'data-count="2"' in response.content


def test_the_inbox_lists_only_mine_with_filters(client, user):
    note(user, "1")
    note(user, "2", kind=Kind.NEW_SUBSCRIBER)
    note(UserFactory(), "3", kind=Kind.INVITATION)
    response = client.get(reverse("accounts:inbox"))
    items = list(response.context["page"].object_list)
    assert {n.kind for n in items} == {Kind.SUBSCRIPTION_OVERDUE, Kind.NEW_SUBSCRIBER}
    assert b"Your subscription to Course is overdue" in response.content

    response = client.get(reverse("accounts:inbox"), {"group": "sales"})
    assert [n.kind for n in response.context["page"].object_list] == [Kind.NEW_SUBSCRIBER]

    Notification.objects.filter(kind=Kind.NEW_SUBSCRIBER).update(read_at="2026-01-01T00:00Z")
    response = client.get(reverse("accounts:inbox"), {"unread": "on"})
    assert [n.kind for n in response.context["page"].object_list] == [Kind.SUBSCRIPTION_OVERDUE]


def test_a_bad_filter_is_ignored_not_a_500(client, user):
    note(user)
    response = client.get(reverse("accounts:inbox"), {"group": "<script>", "page": "x"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1


def test_opening_marks_read_and_goes_where_it_is_answered(client, user):
    notification = note(user)
    response = client.post(reverse("accounts:inbox_open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/subscriptions/7/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_link_off_the_site_is_never_followed(client, user):
    notification = note(user, path="https://evil.example/")
    response = client.post(reverse("accounts:inbox_open", args=[notification.pk]))
    assert response["Location"] == reverse("accounts:inbox")


def test_someone_elses_notification_is_not_found(client, user):
    theirs = note(UserFactory())
    assert client.post(reverse("accounts:inbox_open", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("accounts:inbox_read"), {"notification": theirs.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_one_and_mark_all(client, user):
    first, second = note(user, "1"), note(user, "2")
    theirs = note(UserFactory(), "3")
    client.post(reverse("accounts:inbox_read"), {"notification": first.pk})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None

    response = client.post(
        reverse("accounts:inbox_read"), {"notification": second.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="notification-{second.pk}"'.encode() in response.content

    client.post(reverse("accounts:inbox_read"))
    assert Notification.objects.filter(recipient=user, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_refuses_garbage(client, user):
    response = client.post(reverse("accounts:inbox_read"), {"notification": "abc\x00"})
    assert response.status_code == 302
    response = client.post(
        reverse("accounts:inbox_read"), {"next": "https://evil.example/"}, follow=False
    )
    assert response["Location"] == reverse("accounts:inbox")


def test_email_preferences(client, user):
    response = client.get(reverse("accounts:inbox_preferences"))
    assert response.status_code == 200
    everything = set(Kind.values)
    keep = everything - {Kind.RECEIPT, Kind.NEW_SUBSCRIBER}
    response = client.post(reverse("accounts:inbox_preferences"), {"by_email": sorted(keep)})
    assert response.status_code == 302
    user.refresh_from_db()
    assert sorted(user.email_off) == sorted([Kind.NEW_SUBSCRIBER, Kind.RECEIPT])

    response = client.post(reverse("accounts:inbox_preferences"), {"by_email": ["nonsense"]})
    assert response.status_code == 200
    assert response.context["form"].errors
    user.refresh_from_db()
    assert sorted(user.email_off) == sorted([Kind.NEW_SUBSCRIBER, Kind.RECEIPT])


def test_admins_read_what_each_person_was_told(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    notification = note(UserFactory(email="told@example.com"))
    client.force_login(admin_user)
    response = client.get(reverse("admin:accounts_notification_changelist"))
    assert response.status_code == 200
    assert b"Your subscription to Course is overdue" in response.content
    response = client.get(reverse("admin:accounts_notification_change", args=[notification.pk]))
    assert response.status_code == 200
    assert notification.recipient.get_full_name().encode() in response.content
    assert client.get(reverse("admin:accounts_notification_add")).status_code == 403
