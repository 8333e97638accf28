"""The payment gateway interface and the shipped simulator.

Callers record an attempt first, then call `charge` with an idempotency key derived from that
attempt, outside any transaction, then record the outcome. A retried call with the same key gets
the same answer and charges nothing twice.
"""

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop

from products.payments.methods import Family, family_of


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ERROR = "error"
    TIMEOUT = "timeout"
    PENDING = "pending"  # cash slips and direct debits: confirmed or expired later by webhook
    EXPIRED = "expired"  # a slip or debit that was not paid in time (webhook or its date)


# Stored in English on the attempt (PaymentAttempt.message) and translated where a buyer reads
# it: gettext_noop only marks them for the catalog.
MESSAGES = {
    Outcome.APPROVED: gettext_noop("Payment approved."),
    Outcome.DECLINED: gettext_noop("The card was declined. Try another card or payment method."),
    Outcome.INSUFFICIENT_FUNDS: gettext_noop(
        "Insufficient funds. Try another card or payment method."
    ),
    Outcome.ERROR: gettext_noop(
        "The payment service had a problem. Nothing was charged; try again."
    ),
    Outcome.TIMEOUT: gettext_noop("The payment service did not answer in time."),
    Outcome.PENDING: gettext_noop("Waiting for payment."),
    Outcome.EXPIRED: gettext_noop("The payment was not made in time."),
}

# Test cards (the numbers card networks publish for testing) and wallet tokens.
TEST_TOKENS = {
    "4242424242424242": Outcome.APPROVED,
    "4000000000000002": Outcome.DECLINED,
    "4000000000009995": Outcome.INSUFFICIENT_FUNDS,
    "4000000000000119": Outcome.ERROR,
    "4000000000000259": Outcome.TIMEOUT,
    "tok_approved": Outcome.APPROVED,
    "tok_declined": Outcome.DECLINED,
    "tok_insufficient_funds": Outcome.INSUFFICIENT_FUNDS,
    "tok_error": Outcome.ERROR,
    "tok_timeout": Outcome.TIMEOUT,
}


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount_minor: int
    currency: str
    method: str
    token: str


@dataclass(frozen=True)
class GatewayResult:
    outcome: Outcome
    reference: str
    message: str

    @property
    def paid(self) -> bool:
        return self.outcome == Outcome.APPROVED


class GatewayTimeout(Exception):
    """The gateway did not answer: the charge may or may not have happened."""


class GatewayError(Exception):
    """The gateway refused or failed a refund or void; it may be retried with the same key."""


class PaymentGateway(Protocol):
    def charge(
        self, *, idempotency_key: str, amount_minor: int, currency: str, method: str, token: str
    ) -> GatewayResult: ...

    def refund(self, *, idempotency_key: str, reference: str, amount_minor: int) -> str:
        """The refund's reference; raises GatewayError when the gateway refuses it."""
        ...

    def void(self, *, idempotency_key: str, reference: str) -> None:
        """Give back an authorized or pending charge (a slip or debit not yet paid)."""
        ...

    def charge_many(self, requests: list[ChargeRequest]) -> list[GatewayResult | Exception]:
        """One answer per request, in order; a lost answer is returned as its exception."""
        ...


class SimulatedGateway:
    """Outcome from the token; cash and direct debit are pending (confirmed later by webhook).

    Like a real gateway it remembers each idempotency key: a repeated call gets the first answer.
    The timeout token charges and then loses the answer, as a crash between the call and the
    recording of its result would; retrying with the same key then reports the charge."""

    def charge(
        self, *, idempotency_key: str, amount_minor: int, currency: str, method: str, token: str
    ) -> GatewayResult:
        from products.payments.models import SimulatedGatewayCharge

        if family_of(method) != Family.CARD:
            outcome = Outcome.PENDING
        else:
            outcome = TEST_TOKENS.get(normalize_token(token), Outcome.DECLINED)
        lost_answer = outcome == Outcome.TIMEOUT
        if lost_answer:
            outcome = Outcome.APPROVED
        record, created = SimulatedGatewayCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "outcome": outcome,
                "reference": _reference(idempotency_key),
                "amount_minor": amount_minor,
                "currency": currency,
            },
        )
        if created and lost_answer:
            raise GatewayTimeout(MESSAGES[Outcome.TIMEOUT])
        return GatewayResult(Outcome(record.outcome), record.reference, MESSAGES[record.outcome])

    def charge_many(self, requests: list[ChargeRequest]) -> list[GatewayResult | Exception]:
        """The batch form a billing run uses: two queries however many requests."""
        from products.payments.models import SimulatedGatewayCharge

        if type(self).charge is not SimulatedGateway.charge:
            # A simulator variant (tests: slow, crashing) answers one request at a time.
            return [self._charge_one(request) for request in requests]

        decided = {}
        for request in requests:
            if family_of(request.method) != Family.CARD:
                outcome = Outcome.PENDING
            else:
                outcome = TEST_TOKENS.get(normalize_token(request.token), Outcome.DECLINED)
            decided[request.idempotency_key] = outcome
        known = set(
            SimulatedGatewayCharge.objects.filter(idempotency_key__in=list(decided)).values_list(
                "idempotency_key", flat=True
            )
        )
        SimulatedGatewayCharge.objects.bulk_create(
            [
                SimulatedGatewayCharge(
                    idempotency_key=request.idempotency_key,
                    outcome=(
                        Outcome.APPROVED
                        if decided[request.idempotency_key] == Outcome.TIMEOUT
                        else decided[request.idempotency_key]
                    ),
                    reference=_reference(request.idempotency_key),
                    amount_minor=request.amount_minor,
                    currency=request.currency,
                )
                for request in requests
                if request.idempotency_key not in known
            ],
            ignore_conflicts=True,
        )
        stored = {
            record.idempotency_key: record
            for record in SimulatedGatewayCharge.objects.filter(idempotency_key__in=list(decided))
        }
        answers: list[GatewayResult | Exception] = []
        for request in requests:
            lost = (
                request.idempotency_key not in known
                and decided[request.idempotency_key] == Outcome.TIMEOUT
            )
            if lost:
                answers.append(GatewayTimeout(MESSAGES[Outcome.TIMEOUT]))
                continue
            record = stored[request.idempotency_key]
            outcome = Outcome(record.outcome)
            answers.append(GatewayResult(outcome, record.reference, MESSAGES[outcome]))
        return answers

    # Tests make refunds fail by putting a reference here (a real gateway can refuse refunds).
    failing_refunds: set[str] = set()

    def _charge_one(self, request: ChargeRequest) -> GatewayResult | Exception:
        try:
            return self.charge(
                idempotency_key=request.idempotency_key,
                amount_minor=request.amount_minor,
                currency=request.currency,
                method=request.method,
                token=request.token,
            )
        except GatewayTimeout as exc:
            return exc

    def refund(self, *, idempotency_key: str, reference: str, amount_minor: int) -> str:
        from products.payments.models import SimulatedGatewayCharge

        if reference in self.failing_refunds or not reference:
            raise GatewayError("The gateway refused the refund.")
        record, _ = SimulatedGatewayCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "kind": "refund",
                "outcome": Outcome.APPROVED,
                "reference": _reference(idempotency_key),
                "amount_minor": amount_minor,
                "currency": "",
            },
        )
        return record.reference

    def void(self, *, idempotency_key: str, reference: str) -> None:
        from products.payments.models import SimulatedGatewayCharge

        SimulatedGatewayCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "kind": "void",
                "outcome": "voided",
                "reference": reference,
                "amount_minor": 0,
                "currency": "",
            },
        )


def _reference(idempotency_key: str) -> str:
    """Random and remembered with the key: nobody can compute another payment's reference."""
    return "sim_" + secrets.token_hex(12)


def normalize_token(token: str) -> str:
    token = (token or "").strip()
    digits = token.replace(" ", "").replace("-", "")
    return digits if digits.isdigit() else token.lower()


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()
