"""The one way the app emails a person: rendered in the recipient's language and time zone
(whoever triggers it: a producer, a beat task, an admin), queued once the transaction commits."""

from collections.abc import Callable

from django.template.loader import render_to_string

from accounts.locales import recipient
from accounts.tasks import send_email
from config.site import absolute_url


def email_person(
    user, *, subject: Callable[[], str], template: str, context: dict, path: str | None = None
) -> None:
    """Email `user` the templates `<template>.txt` and `.html`. `subject` is called inside the
    recipient's language, so a translated subject comes out in theirs; `path` (a URL path)
    becomes `url` in the context, absolute."""
    context = {"user": user, **context}
    if path is not None:
        context["url"] = absolute_url(path)
    with recipient(user):
        send_email.delay_on_commit(
            to=user.email,
            subject=str(subject()),
            text=render_to_string(f"{template}.txt", context),
            html=render_to_string(f"{template}.html", context),
        )
