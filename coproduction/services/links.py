"""Signed, expiring, single-use links sent by email to the screen where a request is answered."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError
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
    return settings.SITE_URL + reverse("coproduction:email_link", args=[token])


def email_link_use(*, token: str, user) -> EmailLink:
    """Check and spend a link. Raises DomainError with a message fit to show the person."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
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
            raise DomainError(_("This link was already used. The request is on this screen."))
        if link.expires_at <= timezone.now():
            raise DomainError(_("This link has expired. Open the request from your screens."))
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    return link
