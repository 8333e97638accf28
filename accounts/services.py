"""Writes on accounts: language and time zone, submitting identity data and an admin's decision
on it."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import InvalidTransition
from accounts.locales import country_time_zone
from accounts.models import AccountValidation, AccountValidationEvent, Notification, User
from accounts.notifications import notify


def user_settings_update(*, user: User, language: str, time_zone: str | None = None) -> User:
    """The language (and, when given, the time zone) the user reads in from now on."""
    user.language = language
    fields = ["language"]
    if time_zone is not None:
        user.time_zone = time_zone
        fields.append("time_zone")
    user.save(update_fields=fields)
    return user


def validation_submit(
    *, user: User, legal_name: str, country: str, tax_document: str
) -> AccountValidation:
    """Create or resubmit the user's validation request; a validated account cannot resubmit.
    An account still on UTC takes its country's main time zone."""
    with transaction.atomic():
        validation = AccountValidation.objects.select_for_update().filter(user=user).first()
        if validation is None or validation.status == AccountValidation.Status.REJECTED:
            _default_time_zone(user=user, country=country)
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
                _("Your account is already validated.")
                if validation.status == AccountValidation.Status.VALIDATED
                else _("Your data is already waiting for review.")
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
        raise InvalidTransition(_("A decision validates or rejects an account."))
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
            _("A validation that is %(current)s cannot become %(to)s.")
            % {
                "current": str(current.label).lower(),
                "to": str(AccountValidation.Status(to).label).lower(),
            }
        )
    validation.status = to
    validation.save(update_fields=["status"])
    AccountValidationEvent.objects.create(
        validation=validation, from_status=current, to_status=to, actor=actor, reason=reason
    )
    return validation


def _default_time_zone(*, user: User, country: str) -> None:
    if user.time_zone == "UTC":
        user.time_zone = country_time_zone(str(country))
        if user.time_zone != "UTC":
            user.save(update_fields=["time_zone"])


def _email_decision(validation: AccountValidation) -> None:
    validated = validation.status == AccountValidation.Status.VALIDATED
    notify(
        validation.user,
        Notification.Kind.VALIDATION_DECIDED,
        key=f"validation:{validation.pk}:{validation.decided_at:%Y%m%d%H%M%S%f}",
        params={"validated": validated},
        path=reverse("accounts:validation"),
        email="accounts/email/validation_decision",
        email_context={"validation": validation},
    )
