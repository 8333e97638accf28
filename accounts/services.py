"""Writes on accounts: submitting identity data and an admin's decision on it."""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import InvalidTransition
from accounts.models import AccountValidation, AccountValidationEvent, User
from accounts.tasks import send_email


def validation_submit(
    *, user: User, legal_name: str, country: str, tax_document: str
) -> AccountValidation:
    """Create or resubmit the user's validation request; a validated account cannot resubmit."""
    with transaction.atomic():
        validation = AccountValidation.objects.select_for_update().filter(user=user).first()
        if validation is None:
            validation = AccountValidation.objects.create(
                user=user, legal_name=legal_name, country=country, tax_document=tax_document
            )
            AccountValidationEvent.objects.create(
                validation=validation, to_status=validation.status, actor=user, reason="Submitted"
            )
            return validation
        if validation.status != AccountValidation.Status.REJECTED:
            raise InvalidTransition(
                "Your account is already validated."
                if validation.status == AccountValidation.Status.VALIDATED
                else "Your data is already waiting for review."
            )
        validation.legal_name = legal_name
        validation.country = country
        validation.tax_document = tax_document
        validation.submitted_at = timezone.now()
        validation.save(update_fields=["legal_name", "country", "tax_document", "submitted_at"])
        return _transition(
            validation=validation,
            to=AccountValidation.Status.PENDING,
            actor=user,
            reason="Resubmitted",
        )


def validation_decide(
    *, validation: AccountValidation, to: str, actor: User, reason: str = ""
) -> AccountValidation:
    """An admin validates or rejects; the user gets an email about the decision."""
    # Back to pending is the user's resubmission (validation_submit), not an admin's decision.
    if to == AccountValidation.Status.PENDING:
        raise InvalidTransition("A decision validates or rejects an account.")
    with transaction.atomic():
        validation = AccountValidation.objects.select_for_update().get(pk=validation.pk)
        validation = _transition(validation=validation, to=to, actor=actor, reason=reason)
        validation.decided_at = timezone.now()
        validation.decided_by = actor
        if to == AccountValidation.Status.REJECTED:
            validation.review_note = reason
        validation.save(update_fields=["decided_at", "decided_by", "review_note"])
        _email_decision(validation)
    return validation


def _transition(
    *, validation: AccountValidation, to: str, actor: User, reason: str
) -> AccountValidation:
    """Apply one move of AccountValidation.TRANSITIONS to a row the caller has locked."""
    current = AccountValidation.Status(validation.status)
    if to not in AccountValidation.TRANSITIONS.get(current, set()):
        raise InvalidTransition(
            f"A validation that is {current.label.lower()} cannot become "
            f"{AccountValidation.Status(to).label.lower()}."
        )
    validation.status = to
    validation.save(update_fields=["status"])
    AccountValidationEvent.objects.create(
        validation=validation, from_status=current, to_status=to, actor=actor, reason=reason
    )
    return validation


def _email_decision(validation: AccountValidation) -> None:
    context = {
        "user": validation.user,
        "validation": validation,
        "url": settings.SITE_URL + reverse("accounts:validation"),
    }
    subject = (
        "Your account has been validated"
        if validation.status == AccountValidation.Status.VALIDATED
        else "Your account validation was rejected"
    )
    send_email.delay_on_commit(
        to=validation.user.email,
        subject=subject,
        text=render_to_string("accounts/email/validation_decision.txt", context),
        html=render_to_string("accounts/email/validation_decision.html", context),
    )
