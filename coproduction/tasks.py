"""Beat tasks for co-production."""

from celery import shared_task

from coproduction.services.contracts import contracts_expire


@shared_task(name="coproduction.expire_contracts")
def expire_contracts() -> int:
    """Daily: active contracts whose end date is over in the producer's time zone become
    Expired. Idempotent. Only the status waits for it: the ledger decides by the dates."""
    return contracts_expire()


@shared_task(name="coproduction.remind_expiring_contracts")
def remind_expiring_contracts() -> int:
    """Hourly: both parties hear once, in the 7 days before its end date, that a contract ends."""
    from coproduction.services.contracts import contracts_remind_expiring

    return contracts_remind_expiring()


@shared_task(name="coproduction.dispatch_withdrawal", acks_late=True)
def dispatch_withdrawal(withdrawal_id: int) -> str:
    """Send one withdrawal to the payout gateway (idempotent: same key on every retry)."""
    from coproduction.services.withdrawals import withdrawal_dispatch

    return withdrawal_dispatch(withdrawal_id)


@shared_task(name="coproduction.dispatch_stale_withdrawals")
def dispatch_stale_withdrawals() -> int:
    """Every few minutes: withdrawals whose sending was lost are sent again."""
    from coproduction.services.withdrawals import withdrawals_dispatch_stale

    return withdrawals_dispatch_stale()


@shared_task(name="coproduction.simulate_payout_webhook")
def simulate_payout_webhook(idempotency_key: str) -> str:
    """The payout simulator's notification, signed and handled as a real gateway's POST to
    the webhook would be."""
    import json

    from coproduction.payout_gateway import simulated_webhook_for
    from coproduction.services.withdrawals import payout_webhook_handle
    from products.payments.signatures import hmac_signature_valid

    signed = simulated_webhook_for(idempotency_key)
    if signed is None:
        return "unknown"
    body, signature = signed
    from django.conf import settings

    assert hmac_signature_valid(body, signature, settings.PAYOUT_WEBHOOK_SECRET)
    payload = json.loads(body)
    return payout_webhook_handle(
        event_id=payload["id"],
        kind=payload["type"],
        external_id=payload["external_id"],
        payload=payload,
    )
