"""accounts.notifications.notify: one inbox row and one email per person and event, whoever
calls it how often; titles in the reader's language; kinds turned off stay in the inbox."""

import threading

import pytest
from django.db import connection, transaction

from accounts.models import Notification
from accounts.notifications import GENERIC_EMAIL, KINDS, notify, title
from tests.factories import UserFactory

Kind = Notification.Kind


def tell(user, key="event-1", **extra):
    return notify(
        user,
        Kind.SUBSCRIPTION_OVERDUE,
        key=key,
        params={"product": "Course"},
        path="/subscriptions/1/",
        email=GENERIC_EMAIL,
        **extra,
    )


@pytest.mark.django_db
def test_the_same_event_is_told_once(mailoutbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(user) is True
        assert tell(user) is False
        assert tell(user, key="event-2") is True
    assert Notification.objects.filter(recipient=user).count() == 2
    assert len(mailoutbox) == 2
    assert mailoutbox[0].subject.endswith("Your subscription to Course is overdue")
    assert "/subscriptions/1/" in mailoutbox[0].body


@pytest.mark.django_db
def test_another_person_is_told_of_the_same_event(mailoutbox, django_capture_on_commit_callbacks):
    first, second = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(first) and tell(second)
    assert [m.to for m in mailoutbox] == [[first.email], [second.email]]


@pytest.mark.django_db
def test_a_kind_turned_off_stays_in_the_inbox_without_email(
    mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(email_off=[Kind.SUBSCRIPTION_OVERDUE])
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(user)
    notification = Notification.objects.get(recipient=user)
    assert notification.emailed is False
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_rolled_back_event_tells_nothing(mailoutbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        tell(user)
        raise RuntimeError
    assert not Notification.objects.exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_titles_are_written_in_the_readers_language(django_capture_on_commit_callbacks):
    from django.utils import translation

    user = UserFactory(language="pt-br")
    tell(user)
    notification = Notification.objects.get()
    with translation.override("pt-br"):
        pt = notification.title
    with translation.override("es"):
        es = notification.title
    assert pt != es
    assert "Course" in pt and "Course" in es
    assert notification.title == "Your subscription to Course is overdue"


@pytest.mark.django_db
def test_the_email_is_written_in_the_recipients_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(language="es")
    with django_capture_on_commit_callbacks(execute=True):
        tell(user)
    (message,) = mailoutbox
    assert "overdue" not in message.subject
    assert "Course" in message.subject


def test_every_kind_has_a_title():
    samples = {
        "product": "Course",
        "name": "Ana",
        "date": "2027-01-31",
        "amount_minor": 4990,
        "currency": "BRL",
        "type": "termination",
        "fields": [],
        "status": "accepted",
        "validated": True,
        "accepted": True,
    }
    assert set(KINDS) == set(Kind.values)
    for kind in Kind.values:
        params = dict(samples)
        if kind == Kind.AFFILIATION_DECIDED:
            params["status"] = "approved"
        text = title(kind, params)
        assert text and "%(" not in text, kind


def test_a_row_from_another_version_still_has_a_title():
    assert title(Kind.RECEIPT, {}) == "Payment received"


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_tell_once(mailoutbox):
    """Two workers running the same task at the same moment: one row, one email."""
    user = UserFactory()
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                results.append(tell(user))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert Notification.objects.filter(recipient=user).count() == 1
    assert len(mailoutbox) == 1
