"""The cash slip a buyer still has to pay (Boleto, Oxxo, Multibanco): what the slip page and
the links to it read. A read only; slips are issued and expired by the payment path."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from products.models import PaymentAttempt, Sale
from products.payments.methods import Family, Method, family_of


@dataclass(frozen=True)
class Slip:
    sale: Sale
    method: Method
    # What the buyer types or scans at the bank or the shop: the gateway's slip code.
    line: str
    due_at: datetime


# How many days a cash slip can be paid, one-time or recurrence (billing uses it too).
SLIP_DAYS = 3


def slip_days() -> int:
    return SLIP_DAYS


def is_cash(method: str) -> bool:
    return method in Method.values and family_of(method) == Family.CASH


def slip_pending(sale: Sale) -> Slip | None:
    """The sale's slip while it can still be paid; None once paid, past its date (even before
    the beat task marks it expired), voided, and for a sale paid any other way. A recurrence
    keeps its slip's code and date on its own row; a one-time sale's slip is its pending
    attempt, payable for the same days from its issue."""
    if not is_cash(sale.method) or sale.status != Sale.Status.PENDING:
        return None
    attempt = (
        PaymentAttempt.objects.filter(sale=sale, status=PaymentAttempt.Status.PENDING)
        .order_by("-number")
        .first()
    )
    if attempt is None:
        return None
    recurrence = getattr(sale, "recurrence", None) if sale.subscription_id else None
    if recurrence is not None and recurrence.slip_code and recurrence.slip_expires_at:
        if not recurrence.is_awaiting_slip:
            return None
        line, due_at = recurrence.slip_code, recurrence.slip_expires_at
    else:
        line = attempt.gateway_reference
        due_at = attempt.started_at + timedelta(days=slip_days())
    if not line or due_at <= timezone.now():
        return None
    return Slip(sale=sale, method=Method(sale.method), line=line, due_at=due_at)
