"""Account validation services: submitting identity data and an admin's decision on it."""

import itertools

import pytest
from django.core import mail
from django.urls import reverse

from accounts import emails, services
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


# Time zone from the country


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("BR", "America/Sao_Paulo"),
        ("MX", "America/Mexico_City"),
        ("CO", "America/Bogota"),
        ("PT", "Europe/Lisbon"),
        ("AO", "UTC"),
    ],
)
def test_an_account_still_on_utc_takes_its_countrys_zone(country, zone):
    user = UserFactory(time_zone="UTC")

    services.validation_submit(user=user, **{**IDENTITY, "country": country})

    user.refresh_from_db()
    assert user.time_zone == zone


def test_a_zone_the_user_chose_is_kept():
    user = UserFactory(time_zone="Europe/Madrid")

    services.validation_submit(user=user, **IDENTITY)

    user.refresh_from_db()
    assert user.time_zone == "Europe/Madrid"


def test_a_resubmission_sets_the_zone_too():
    rejected = AccountValidationFactory(rejected=True, user__time_zone="UTC")

    services.validation_submit(user=rejected.user, **{**IDENTITY, "country": "MX"})

    rejected.user.refresh_from_db()
    assert rejected.user.time_zone == "America/Mexico_City"


def test_a_refused_submission_leaves_the_zone_alone():
    pending = AccountValidationFactory(user__time_zone="UTC")

    with pytest.raises(InvalidTransition):
        services.validation_submit(user=pending.user, **IDENTITY)

    pending.user.refresh_from_db()
    assert pending.user.time_zone == "UTC"


def test_the_validation_form_sets_the_zone(client):
    user = UserFactory(time_zone="UTC")
    client.force_login(user)

    client.post(
        reverse("accounts:validation"), {**IDENTITY, "country": "PT", "tax_document": "123456789"}
    )

    user.refresh_from_db()
    assert user.time_zone == "Europe/Lisbon"


# The decision email speaks the recipient's language


def test_the_decision_email_is_rendered_in_the_users_language_and_zone(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.utils import timezone, translation

    seen = []

    def render(template_name, context):
        seen.append(
            (template_name, translation.get_language(), timezone.get_current_timezone_name())
        )
        return "body"

    monkeypatch.setattr(emails, "render_to_string", render)
    validation = AccountValidationFactory(user__language="pt-br", user__time_zone="America/Bogota")

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.validation_decide(
            validation=validation, to=Status.VALIDATED, actor=UserFactory(is_staff=True)
        )
        assert translation.get_language() == "en"

    assert [language for _, language, _ in seen] == ["pt-br", "pt-br"]
    assert {zone for _, _, zone in seen} == {"America/Bogota"}
    assert len(mail.outbox) == 1


def test_the_default_rejection_reason_is_written_in_the_users_language(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.utils import translation

    from accounts import admin as accounts_admin

    # Whatever the catalogs say today: record the language the reason was written in.
    monkeypatch.setattr(accounts_admin, "_", lambda s: f"{translation.get_language()}: {s}")
    validation = AccountValidationFactory(user__language="pt-br")
    client.force_login(UserFactory(is_staff=True, is_superuser=True, language="en"))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:accounts_accountvalidation_changelist"),
            {"action": "reject_accounts", ACTION_CHECKBOX_NAME: [validation.pk]},
        )

    validation.refresh_from_db()
    assert validation.review_note == "pt-br: The identity data could not be verified."
