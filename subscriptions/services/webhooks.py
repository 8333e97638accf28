"""Gateway notifications: cash slips and direct debits confirmed or expired. Signed with HMAC
and deduplicated by event id, so a replayed notification changes nothing."""

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.exceptions import DomainError
from coproduction.services.ledger import ledger_write_splits
from products.services.sales import payment_record_outcome
from subscriptions.gateway import MESSAGES, GatewayResult, Outcome
from subscriptions.models import PaymentAttempt, Recurrence, WebhookEvent
from subscriptions.services.billing import mark_unpaid, settle_paid

KINDS = ("payment.confirmed", "payment.expired")


def sign(body: bytes) -> str:
    return hmac.new(settings.GATEWAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(body), (signature or "").removeprefix("sha256="))


def webhook_handle(*, event_id: str, kind: str, reference: str, payload: dict) -> str:
    """Apply one notification; returns what happened ("processed", "duplicate", "ignored")."""
    if kind not in KINDS or not event_id or not reference:
        raise DomainError(
            f"Unknown event: expected an id, a type in {', '.join(KINDS)} and a payment reference."
        )
    with transaction.atomic():
        attempt = (
            PaymentAttempt.objects.select_for_update()
            .filter(gateway_reference=reference, status=PaymentAttempt.Status.PENDING)
            .select_related("sale")
            .first()
        )
        if attempt is None:
            # Unknown or already settled. Not stored: if the notification came before the
            # attempt was recorded, the gateway's retry of the same event must still apply.
            if WebhookEvent.objects.filter(event_id=event_id[:80]).exists():
                return "duplicate"
            return "ignored"
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(event_id=event_id[:80], kind=kind, payload=payload)
        except IntegrityError:
            return "duplicate"
        sale = attempt.sale
        if sale.subscription_id is None:
            outcome = Outcome.APPROVED if kind == "payment.confirmed" else Outcome.DECLINED
            if outcome == Outcome.APPROVED:
                payment_record_outcome(
                    attempt=attempt, result=GatewayResult(outcome, reference, MESSAGES[outcome])
                )
            else:
                PaymentAttempt.objects.filter(pk=attempt.pk).update(
                    status=PaymentAttempt.Status.DECLINED,
                    message="Payment expired",
                    finished_at=timezone.now(),
                )
            return "processed"
        recurrence = (
            Recurrence.objects.select_for_update(of=("self",))
            .select_related("sale", "subscription__plan__product", "subscription__buyer")
            .get(sale=sale)
        )
        now = timezone.now()
        if kind == "payment.confirmed":
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                status=PaymentAttempt.Status.APPROVED, message="Payment confirmed", finished_at=now
            )
            if recurrence.status == Recurrence.Status.PENDING:
                settle_paid(recurrence, now)
                ledger_write_splits(sale_ids=[sale.pk])
        else:
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                status=PaymentAttempt.Status.DECLINED, message="Payment expired", finished_at=now
            )
            if recurrence.status == Recurrence.Status.PENDING:
                mark_unpaid(recurrence, reason="Payment expired")
    return "processed"
