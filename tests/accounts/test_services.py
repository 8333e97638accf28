"""Account validation services: submitting identity data and an admin's decision on it."""

import itertools

import pytest
from django.core import mail

from accounts import services
from accounts.exceptions import InvalidTransition
from accounts.models import AccountValidation, AccountValidationEvent
from tests.factories import AccountValidationFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = AccountValidation.Status
IDENTITY = {"legal_name": "Maria da Silva", "country": "BR", "tax_document": "123.456.789-09"}


# Submitting


def test_validation_submit_creates_a_pending_validation_and_an_event():
    user = UserFactory()

    validation = services.validation_submit(user=user, **IDENTITY)

    validation.refresh_from_db()
    assert validation.user == user
    assert validation.status == Status.PENDING
    assert (validation.legal_name, validation.country.code, validation.tax_document) == (
        "Maria da Silva",
        "BR",
        "123.456.789-09",
    )
    event = AccountValidationEvent.objects.get(validation=validation)
    assert (event.from_status, event.to_status, event.actor) == ("", Status.PENDING, user)
    assert not user.is_validated


def test_a_rejected_user_may_resubmit_corrected_data():
    rejected = AccountValidationFactory(rejected=True, legal_name="Wrong Name")

    validation = services.validation_submit(
        user=rejected.user, legal_name="Right Name", country="PT", tax_document="123456789"
    )

    validation.refresh_from_db()
    assert validation.pk == rejected.pk
    assert validation.status == Status.PENDING
    assert (validation.legal_name, validation.country.code) == ("Right Name", "PT")
    assert validation.submitted_at > rejected.submitted_at
    event = validation.events.get()
    assert (event.from_status, event.to_status, event.reason) == (
        Status.REJECTED,
        Status.PENDING,
        "Resubmitted",
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [(Status.PENDING, "already waiting for review"), (Status.VALIDATED, "already validated")],
)
def test_resubmitting_is_refused_unless_rejected(status, message):
    existing = AccountValidationFactory(status=status, legal_name="Original Name")

    with pytest.raises(InvalidTransition, match=message):
        services.validation_submit(user=existing.user, **IDENTITY)

    existing.refresh_from_db()
    assert existing.status == status
    assert existing.legal_name == "Original Name"
    assert not existing.events.exists()


# Deciding

DECISIONS = list(itertools.product(Status, [Status.VALIDATED, Status.REJECTED]))
LEGAL = [(a, b) for a, b in DECISIONS if b in AccountValidation.TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in DECISIONS if b not in AccountValidation.TRANSITIONS[a]]
SUBJECTS = {
    Status.VALIDATED: "[Coprod] Your account has been validated",
    Status.REJECTED: "[Coprod] Your account validation was rejected",
}


def test_the_transition_table_covers_every_status():
    assert set(AccountValidation.TRANSITIONS) == set(Status)
    table = {(a, b) for a, targets in AccountValidation.TRANSITIONS.items() for b in targets}
    # Decisions and the resubmission together make every move of the table.
    assert table == {*LEGAL, (Status.REJECTED, Status.PENDING)}


@pytest.mark.parametrize(("current", "to"), LEGAL)
def test_validation_decide_makes_every_legal_move_and_emails_the_user(
    current, to, django_capture_on_commit_callbacks
):
    validation = AccountValidationFactory(status=current)
    admin = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        services.validation_decide(validation=validation, to=to, actor=admin, reason="Checked")

    validation.refresh_from_db()
    assert validation.status == to
    assert validation.decided_by == admin
    assert validation.decided_at is not None
    assert validation.user.is_validated is (to == Status.VALIDATED)
    event = validation.events.get()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        current,
        to,
        admin,
        "Checked",
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [validation.user.email]
    assert mail.outbox[0].subject == SUBJECTS[to]


@pytest.mark.parametrize(("current", "to"), ILLEGAL)
def test_validation_decide_refuses_every_illegal_move(
    current, to, django_capture_on_commit_callbacks
):
    validation = AccountValidationFactory(status=current)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        services.validation_decide(validation=validation, to=to, actor=UserFactory(is_staff=True))

    validation.refresh_from_db()
    assert validation.status == current
    assert validation.decided_by is None
    assert not validation.events.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("current", list(Status))
def test_validation_decide_never_moves_back_to_pending(current, django_capture_on_commit_callbacks):
    validation = AccountValidationFactory(status=current)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        services.validation_decide(
            validation=validation, to=Status.PENDING, actor=UserFactory(is_staff=True)
        )

    validation.refresh_from_db()
    assert validation.status == current
    assert mail.outbox == []


def test_a_rejection_keeps_the_reason_and_tells_the_user(django_capture_on_commit_callbacks):
    validation = AccountValidationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.validation_decide(
            validation=validation,
            to=Status.REJECTED,
            actor=UserFactory(is_staff=True),
            reason="The document is unreadable.",
        )

    validation.refresh_from_db()
    assert validation.review_note == "The document is unreadable."
    assert "Reason: The document is unreadable." in mail.outbox[0].body
    assert "/account/validation/" in mail.outbox[0].body
    html, mimetype = mail.outbox[0].alternatives[0]
    assert mimetype == "text/html"
    assert "The document is unreadable." in html


def test_a_validation_email_says_the_account_is_validated(django_capture_on_commit_callbacks):
    validation = AccountValidationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.validation_decide(
            validation=validation, to=Status.VALIDATED, actor=UserFactory(is_staff=True)
        )

    assert "Your account has been validated." in mail.outbox[0].body
    assert "could not validate" not in mail.outbox[0].body


def test_no_email_leaves_before_the_decision_commits(django_capture_on_commit_callbacks):
    validation = AccountValidationFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.validation_decide(
            validation=validation, to=Status.VALIDATED, actor=UserFactory(is_staff=True)
        )

    assert mail.outbox == []
    assert len(callbacks) == 1
