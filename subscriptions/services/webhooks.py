"""Gateway notifications: cash slips and direct debits confirmed or expired, through the one
payment path. Signed with HMAC-SHA256 (`X-Gateway-Signature: sha256=<hex>`, nothing else),
every signed event stored whole, deduplicated by its full id: a replay changes nothing."""

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.exceptions import DomainError
from config.money_log import money_event
from products.models import PaymentAttempt, WebhookEvent
from products.payments.gateway import GatewayResult, Outcome
from products.payments.services import expired_result, payments_record
from products.payments.signatures import SIGNATURE_PREFIX, hmac_signature, hmac_signature_valid

KINDS = ("payment.confirmed", "payment.expired")
__all__ = ["SIGNATURE_PREFIX", "sign", "signature_valid", "webhook_handle"]


def sign(body: bytes) -> str:
    """The header value the gateway sends for this body."""
    return hmac_signature(body, settings.GATEWAY_WEBHOOK_SECRET)


def signature_valid(body: bytes, signature: str) -> bool:
    """Only the documented format: `sha256=` and 64 lowercase hex digits."""
    return hmac_signature_valid(body, signature, settings.GATEWAY_WEBHOOK_SECRET)


def webhook_handle(*, event_id: str, kind: str, reference: str, payload: dict) -> str:
    """Store and apply one notification; returns what happened ("processed", "duplicate",
    "ignored" for a reference no payment has yet, "paid_late", "refunded")."""
    if kind not in KINDS or not event_id or not reference:
        raise DomainError(
            f"Unknown event: expected an id, a type in {', '.join(KINDS)} and a payment reference."
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    event_id=event_id, kind=kind, reference=reference[:80], payload=payload
                )
        except IntegrityError:
            event = WebhookEvent.objects.select_for_update().get(event_id=event_id)
            if event.result != WebhookEvent.Result.UNMATCHED:
                return "duplicate"
        attempt = (
            PaymentAttempt.objects.filter(gateway_reference=reference)
            .select_related("sale")
            .order_by("-pk")
            .first()
        )
        result = _apply(attempt, kind)
        event.result = result
        event.save(update_fields=["result"])
        money_event(
            "webhook",
            webhook=event_id,
            kind=kind,
            reference=reference[:80],
            sale=attempt.sale_id if attempt else None,
            result=result,
        )
    return {
        WebhookEvent.Result.UNMATCHED: "ignored",
        WebhookEvent.Result.ALREADY_SETTLED: "ignored",
        WebhookEvent.Result.PAID_LATE: "paid_late",
        WebhookEvent.Result.REFUNDED: "refunded",
    }.get(result, "processed")


def _apply(attempt: PaymentAttempt | None, kind: str) -> str:
    if attempt is None:
        # Not stored as handled: if it came before the attempt was recorded, the gateway's
        # retry of the same event still applies.
        return WebhookEvent.Result.UNMATCHED
    if kind == "payment.expired":
        if attempt.status != PaymentAttempt.Status.PENDING:
            return WebhookEvent.Result.ALREADY_SETTLED
        payments_record(outcomes=[(attempt, expired_result())])
        return WebhookEvent.Result.PROCESSED
    if attempt.status not in (PaymentAttempt.Status.PENDING, PaymentAttempt.Status.EXPIRED):
        return WebhookEvent.Result.ALREADY_SETTLED
    late = attempt.status == PaymentAttempt.Status.EXPIRED
    confirmed = GatewayResult(Outcome.APPROVED, attempt.gateway_reference, "Payment confirmed")
    report = payments_record(outcomes=[(attempt, confirmed)])[attempt.sale_id]
    if report == "refunding":
        return WebhookEvent.Result.REFUNDED
    return WebhookEvent.Result.PAID_LATE if late else WebhookEvent.Result.PROCESSED
