"""Emails (text + HTML) for invitations, changes and terminations, each with a signed link."""

from collections.abc import Callable

from django.template.loader import render_to_string

from accounts.locales import recipient
from accounts.tasks import send_email
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
    context = {"user": to, "contract": contract, "change": change_request, "url": url}
    with recipient(to):
        send_email.delay_on_commit(
            to=to.email,
            subject=str(subject()),
            text=render_to_string(f"coproduction/email/{template}.txt", context),
            html=render_to_string(f"coproduction/email/{template}.html", context),
        )
