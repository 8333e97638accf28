"""Beat-driven billing tasks. Each is idempotent: a duplicated or retried delivery, or two
workers at once, create and charge every recurrence exactly once."""

from celery import shared_task

from subscriptions.services.billing import (
    payments_expire,
    recurrences_collect,
    recurrences_create_due,
)


@shared_task(name="subscriptions.create_due_recurrences")
def create_due_recurrences() -> int:
    return recurrences_create_due()


@shared_task(name="subscriptions.collect_recurrences")
def collect_recurrences() -> int:
    return recurrences_collect()


@shared_task(name="subscriptions.expire_payments")
def expire_payments() -> int:
    return payments_expire()


@shared_task(name="subscriptions.send_receipts", acks_late=True)
def send_receipts(recurrence_pks: list[int]) -> int:
    from subscriptions.services.notices import receipts_send

    return receipts_send(recurrence_pks)


@shared_task(name="subscriptions.send_reminders")
def send_reminders() -> int:
    """Beat: slips expiring tomorrow and renewals a week away; each told once."""
    from subscriptions.services.notices import renewals_remind, slips_remind

    return slips_remind() + renewals_remind()
