"""Telling the parties of a contract: an inbox notification (accounts.notifications) and an
email (text + HTML) with a signed link that answers from the email."""

from django.urls import reverse

from accounts import notifications
from coproduction.models import ChangeRequest, Contract, EmailLink
from coproduction.services.links import email_link_create


def notify(
    *,
    to,
    kind: str,
    key: str,
    template: str | None,
    contract: Contract,
    params: dict | None = None,
    purpose: str = EmailLink.Purpose.ANSWER,
    change_request: ChangeRequest | None = None,
    with_link: bool = True,
) -> bool:
    """Tell `to` once about the event `key` (of `kind`) of `contract`: in their inbox, linking
    to the screen where it is answered, and by email in their language and time zone, with a
    signed link when `with_link` (created only when the email is sent). Without a `template`
    the email is the inbox's own (its title, a sentence, the screen's link). Returns False when
    `to` was already told."""

    def email_context() -> dict:
        url = (
            email_link_create(
                user=to, contract=contract, purpose=purpose, change_request=change_request
            )
            if with_link
            else None
        )
        return {"contract": contract, "change": change_request, "url": url}

    return notifications.notify(
        to,
        kind,
        key=f"contract:{contract.pk}:{key}",
        params={"product": contract.product.name, **(params or {})},
        path=screen(contract, to, change_request),
        email=f"coproduction/email/{template}" if template else notifications.GENERIC_EMAIL,
        email_context=email_context,
    )


def screen(contract: Contract, user, change: ChangeRequest | None = None) -> str:
    """Where `user` answers (or reads about) this contract's event."""
    if change is not None:  # answered in the Change History, the request's row
        return reverse("coproduction:history", args=[contract.pk])
    if user.pk == contract.cocreator_id:
        return reverse("coproduction:information", args=[contract.pk])
    return reverse("coproduction:product", args=[contract.product_id])
