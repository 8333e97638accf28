"""Emails (text + HTML) for invitations, changes and terminations, each with a signed link."""

from collections.abc import Callable

from accounts.emails import email_person
from coproduction.models import ChangeRequest, Contract, EmailLink
from coproduction.services.links import email_link_create


def notify(
    *,
    to,
    template: str,
    subject: Callable[[], str],
    contract: Contract,
    purpose: str = EmailLink.Purpose.ANSWER,
    change_request: ChangeRequest | None = None,
    with_link: bool = True,
) -> None:
    """Queue an email to user `to` once the surrounding transaction commits, written in their
    language and time zone whoever sends it: `subject` is called then, so it is theirs too."""
    url = (
        email_link_create(
            user=to, contract=contract, purpose=purpose, change_request=change_request
        )
        if with_link
        else None
    )
    email_person(
        to,
        subject=subject,
        template=f"coproduction/email/{template}",
        context={"contract": contract, "change": change_request, "url": url},
    )
