"""Emails (text + HTML) for invitations, changes and terminations, each with a signed link."""

from django.template.loader import render_to_string

from accounts.tasks import send_email
from coproduction.models import ChangeRequest, Contract, EmailLink
from coproduction.services.links import email_link_create


def notify(
    *,
    to,
    template: str,
    subject: str,
    contract: Contract,
    purpose: str = EmailLink.Purpose.ANSWER,
    change_request: ChangeRequest | None = None,
    with_link: bool = True,
) -> None:
    """Queue an email to user `to` once the surrounding transaction commits."""
    url = (
        email_link_create(
            user=to, contract=contract, purpose=purpose, change_request=change_request
        )
        if with_link
        else None
    )
    context = {"user": to, "contract": contract, "change": change_request, "url": url}
    send_email.delay_on_commit(
        to=to.email,
        subject=subject,
        text=render_to_string(f"coproduction/email/{template}.txt", context),
        html=render_to_string(f"coproduction/email/{template}.html", context),
    )
