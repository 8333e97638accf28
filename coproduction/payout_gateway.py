"""The payout gateway: how a withdrawal's money reaches a payout account (Pix, SEPA, SPEI,
ACH Colombia). `send` is idempotent by key and answers at once with the gateway's reference;
the outcome comes later by a signed webhook (`payout.paid` or `payout.failed`, carrying our
idempotency key as `external_id` and the reference), handled by
coproduction.services.withdrawals.payout_webhook_handle.

The shipped simulator remembers each key (a repeated call gets the first reference) and
delivers its webhook through a Celery task, signed with PAYOUT_WEBHOOK_SECRET as a real one
would be: the payout fails when the cents of the amount it is asked to send (what the party
receives, the withdrawal less its fee) are 13, to try the failure path by hand; it is paid
otherwise."""

import json
import secrets
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from products.payments.signatures import hmac_signature

SIGNATURE_HEADER = "X-Payout-Signature"
# The simulator's failure: an amount whose cents are these.
SIMULATED_FAILURE_CENTS = 13


class PayoutRefused(Exception):
    """The gateway refused the payout outright (nothing was sent)."""


class PayoutTimeout(Exception):
    """No answer: the payout may or may not have been accepted; retry with the same key."""


class PayoutGateway(Protocol):
    def send(self, *, idempotency_key: str, amount_minor: int, currency: str, account: dict) -> str:
        """Start a payout; returns the gateway's reference. Same key, same payout."""
        ...


def sign(body: bytes) -> str:
    return hmac_signature(body, settings.PAYOUT_WEBHOOK_SECRET)


def webhook_body(*, event_id: str, kind: str, external_id: str, reference: str, failure=""):
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "external_id": external_id,
            "reference": reference,
            "failure": failure,
        },
        separators=(",", ":"),
    ).encode()


class SimulatedPayoutGateway:
    def send(self, *, idempotency_key: str, amount_minor: int, currency: str, account: dict) -> str:
        from django.db import transaction

        from coproduction.tasks import simulate_payout_webhook
        from products.payments.models import SimulatedGatewayCharge

        failed = amount_minor % 100 == SIMULATED_FAILURE_CENTS
        record, created = SimulatedGatewayCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "kind": "payout",
                "outcome": "failed" if failed else "paid",
                "reference": "po_" + secrets.token_hex(12),
                "amount_minor": amount_minor,
                "currency": currency,
            },
        )
        if created:
            # After this call returned, as a real gateway's notification would come.
            transaction.on_commit(
                lambda: simulate_payout_webhook.apply_async(
                    kwargs={"idempotency_key": idempotency_key},
                    countdown=settings.PAYOUT_SIMULATOR_DELAY_SECONDS,
                )
            )
        return record.reference


def simulated_webhook_for(idempotency_key: str) -> tuple[bytes, str] | None:
    """The body and signature the simulator sends for a payout it accepted."""
    from products.payments.models import SimulatedGatewayCharge

    record = SimulatedGatewayCharge.objects.filter(
        idempotency_key=idempotency_key, kind="payout"
    ).first()
    if record is None:
        return None
    failed = record.outcome == "failed"
    body = webhook_body(
        event_id=f"evt_{record.reference}",
        kind="payout.failed" if failed else "payout.paid",
        external_id=idempotency_key,
        reference=record.reference,
        failure="The bank refused the transfer: the account is closed." if failed else "",
    )
    return body, sign(body)


def get_payout_gateway() -> PayoutGateway:
    name = settings.PAYOUT_GATEWAY
    if name == "simulator":
        return SimulatedPayoutGateway()
    return import_string(name)()
