"""Email delivery runs in the worker so a slow mail server never holds a request."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives


@shared_task(
    name="accounts.send_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def send_email(*, to: str, subject: str, text: str, html: str = "") -> None:
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
