"""Work that runs in the worker so a slow server never holds a request: email delivery and
outgoing webhook deliveries (accounts.outgoing_webhooks)."""

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


@shared_task(name="accounts.deliver_webhook")
def deliver_webhook(delivery_id: int, manual: bool = False) -> None:
    """One POST of a webhook delivery (accounts.outgoing_webhooks.deliver): a duplicate of this
    task sends nothing."""
    from accounts import outgoing_webhooks

    outgoing_webhooks.deliver(delivery_id, manual=manual)


@shared_task(name="accounts.deliver_due_webhooks")
def deliver_due_webhooks() -> int:
    """Beat, every minute: hand out the webhook deliveries whose retry is due."""
    from accounts import outgoing_webhooks

    return outgoing_webhooks.deliver_due()
