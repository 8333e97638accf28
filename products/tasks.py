"""Beat and on-commit tasks of the payment path: refunds sent and retried, lost checkout
answers asked again."""

from celery import shared_task

from products.models import Refund
from products.payments.services import attempts_reconcile
from products.services.refunds import refund_send, refunds_retry


@shared_task(name="products.refund_send")
def refund_send_task(refund_id: int) -> str:
    return refund_send(refund=Refund.objects.get(pk=refund_id)).status


@shared_task(name="products.retry_refunds")
def retry_refunds() -> int:
    return refunds_retry()


@shared_task(name="products.reconcile_attempts")
def reconcile_attempts() -> int:
    return attempts_reconcile()


@shared_task(name="products.send_receipt")
def send_receipt(sale_id: int) -> None:
    from products.models import Sale
    from products.services.sales import receipt_send

    receipt_send(sale=Sale(pk=sale_id))


@shared_task(name="products.remind_slips")
def remind_slips() -> int:
    """Hourly: a one-time sale's slip expiring within a day is told to its buyer, once."""
    from products.services.sales import slips_remind

    return slips_remind()
