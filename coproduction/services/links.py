"""Signed, expiring, single-use links sent by email to the screen where a request is answered."""

from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError
from config.site import absolute_url
from coproduction.models import ChangeRequest, Contract, EmailLink

LINK_SALT = "coproduction.email-link"
LINK_LIFETIME = timedelta(days=7)


def email_link_create(
    *, user, contract: Contract, purpose: str, change_request: ChangeRequest | None = None
) -> str:
    """Record a link for `user` and return its absolute, signed URL."""
    link = EmailLink.objects.create(
        user=user,
        contract=contract,
        change_request=change_request,
        purpose=purpose,
        expires_at=timezone.now() + LINK_LIFETIME,
    )
    token = signing.dumps({"l": link.pk}, salt=LINK_SALT, compress=True)
    return absolute_url(reverse("coproduction:email_link", args=[token]))


class LinkSpent(DomainError):
    """A link of this person's that can no longer be used (used already, or expired): the
    request it pointed to still exists, so the view takes them to its screen."""

    def __init__(self, message: str, *, link: EmailLink):
        super().__init__(message)
        self.link = link


def email_link_use(*, token: str, user) -> EmailLink:
    """Check and spend a link. Raises DomainError with a message fit to show the person, or
    LinkSpent (a DomainError) when it is theirs but already used or expired."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        _raise_spent(token, user, _("This link has expired. The request is on this screen."))
        raise DomainError(_("This link has expired. Open the request from your screens.")) from None
    except signing.BadSignature:
        raise DomainError(_("This link is not valid.")) from None
    with transaction.atomic():
        link = (
            EmailLink.objects.select_for_update()
            .select_related("contract")
            .filter(pk=payload.get("l"), user=user)
            .first()
        )
        if link is None:
            raise DomainError(_("This link is not valid for your account."))
        if link.used_at is not None:
            raise LinkSpent(
                _("This link was already used. The request is on this screen."), link=link
            )
        if link.expires_at <= timezone.now():
            raise LinkSpent(_("This link has expired. The request is on this screen."), link=link)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    return link


def _raise_spent(token: str, user, message: str) -> None:
    """An expired signature is still ours (it was checked): find the person's link behind it."""
    payload = signing.loads(token, salt=LINK_SALT)
    link = (
        EmailLink.objects.select_related("contract").filter(pk=payload.get("l"), user=user).first()
    )
    if link is not None:
        raise LinkSpent(message, link=link)
