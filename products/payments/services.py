"""The one payment path. Every caller (checkout, first installment, billing run, webhook)
uses the same two services:

- `attempts_start`: inside the caller's transaction, with the owning row locked, record the
  attempts (`started`, keyed by products.payments.keys) that the gateway will be called with;
  an attempt whose answer was lost is asked again with its own key.
- `payments_record`: record what the gateway answered, settle paid sales (sale paid → the
  subscription side → ledger split) and hand every other outcome to the sale's handler.

`payments_collect` is the gateway call between the two (outside any transaction). A charge
that was approved but cannot be recorded whole is parked in *needs attention* with its error,
and never blocks the other charges of its batch."""

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.exceptions import DomainError, InvalidTransition
from config.money_log import money_event
from products.models import Sale
from products.payments import keys
from products.payments.gateway import (
    MESSAGES,
    ChargeRequest,
    GatewayError,
    GatewayResult,
    Outcome,
    get_gateway,
)
from products.payments.models import PaymentAttempt
from products.payments.states import (
    pk_any,
    transition,
    transition_many,
    transition_rows,
    values_insert,
)
from products.webhooks import sales_paid

logger = logging.getLogger("coprod.payments")

# An attempt still "started" after this long is taken to have crashed; it is asked again with
# the same idempotency key, so the gateway answers for the first call instead of charging again.
STALE_ATTEMPT = timedelta(minutes=2)

# The outcome map, once: what each gateway answer makes of the attempt.
ATTEMPT_STATUS = {
    Outcome.APPROVED: PaymentAttempt.Status.APPROVED,
    Outcome.DECLINED: PaymentAttempt.Status.DECLINED,
    Outcome.INSUFFICIENT_FUNDS: PaymentAttempt.Status.INSUFFICIENT_FUNDS,
    Outcome.ERROR: PaymentAttempt.Status.ERROR,
    Outcome.TIMEOUT: PaymentAttempt.Status.TIMEOUT,
    Outcome.PENDING: PaymentAttempt.Status.PENDING,
    Outcome.EXPIRED: PaymentAttempt.Status.EXPIRED,
}
# Stored on the attempt in English; translated where it is shown.
LOST = gettext_noop("No answer from the gateway")


class PaymentInFlight(DomainError):
    pass


class AwaitingPayment(DomainError):
    pass


class AlreadyCharged(InvalidTransition):
    pass


# --------------------------------------------------------------------------- handlers


class SaleHandler(Protocol):
    """What a kind of sale does around the shared path (the subscription side registers one;
    `products` never imports `subscriptions`). Called inside payments_record's transaction."""

    def accepts(self, sales: list[Sale]) -> set[int]:
        """Which of these (locked) sales may still take a payment; others are refunded."""
        ...

    def paid(self, sales: list[Sale], now: datetime) -> None: ...

    def attention(self, sales: list[Sale], now: datetime) -> None: ...

    def awaiting(self, sale: Sale, result: GatewayResult, now: datetime) -> None: ...

    def refused(self, sale: Sale, result: GatewayResult, now: datetime) -> None: ...

    def lost(self, sale: Sale, now: datetime) -> None: ...

    def expired(self, sale: Sale, now: datetime) -> None: ...


class OneTimeSales:
    """One-time purchases: the buyer pays at checkout and may retry there."""

    def accepts(self, sales):
        return {s.pk for s in sales if s.status == Sale.Status.PENDING}

    def paid(self, sales, now):
        from products.services.sales import receipt_send_later

        for sale in sales:
            receipt_send_later(sale=sale)

    def attention(self, sales, now):
        pass

    def awaiting(self, sale, result, now):
        from products.services.sales import slip_told

        slip_told(sale=sale)

    def refused(self, sale, result, now):
        pass

    def lost(self, sale, now):
        pass

    def expired(self, sale, now):
        if sale.status == Sale.Status.PENDING:
            transition(sale, Sale.Status.EXPIRED, reason="Payment expired")


_HANDLERS: dict[str, SaleHandler] = {"one_time": OneTimeSales()}


def handler_register(kind: str, handler: SaleHandler) -> None:
    _HANDLERS[kind] = handler


def _handler(sale: Sale) -> SaleHandler:
    return _HANDLERS["subscription" if sale.subscription_id else "one_time"]


def _by_handler(sales: Iterable[Sale]) -> dict[str, list[Sale]]:
    groups: dict[str, list[Sale]] = defaultdict(list)
    for sale in sales:
        groups["subscription" if sale.subscription_id else "one_time"].append(sale)
    return groups


# --------------------------------------------------------------------------- starting


@dataclass(slots=True)
class StartedAttempt:
    """An attempt attempts_start just recorded, as the gateway call and the recording read it
    (a PaymentAttempt row's columns; `pk` and `id` the same), without a model instance. The
    row is the record: reload it as a PaymentAttempt to change it."""

    pk: int | None
    sale_id: int
    number: int
    idempotency_key: str
    amount_minor: int
    method: str
    started_at: datetime
    status: str = PaymentAttempt.Status.STARTED
    id: int | None = None


@dataclass(frozen=True)
class AttemptPlan:
    sale_id: int
    amounts: tuple[int, ...]
    method: str


def attempts_start(
    *,
    plans: Sequence[AttemptPlan],
    now: datetime | None = None,
    fresh_after: datetime | None = None,
    skip_conflicts: bool = False,
) -> list[list[PaymentAttempt | StartedAttempt] | None]:
    """The one place that creates PaymentAttempt rows. Call inside a transaction holding the
    owning rows' locks; commit before calling the gateway. Per plan, returns the attempts to
    send: new ones (StartedAttempt: their rows' values), or the ones whose answer was lost
    (PaymentAttempt, asked again with the same keys).

    A sale already charged, waiting for a slip, or (before `fresh_after`) in flight raises a
    DomainError — or, with `skip_conflicts` (a billing batch), gives None for that plan."""
    now = now or timezone.now()
    existing: dict[int, list[PaymentAttempt]] = defaultdict(list)
    for attempt in PaymentAttempt.objects.filter(
        pk_any([p.sale_id for p in plans], "sale_id")
    ).order_by("sale_id", "number"):
        existing[attempt.sale_id].append(attempt)
    result: list[list[PaymentAttempt | StartedAttempt] | None] = []
    new: list[StartedAttempt] = []
    logged: list[AttemptPlan] = []
    timed_out: list[int] = []
    restarted: list[int] = []
    for plan in plans:
        attempts = existing[plan.sale_id]
        statuses = {a.status for a in attempts}
        unknown = [a for a in attempts if a.status in PaymentAttempt.UNKNOWN]
        conflict = None
        if PaymentAttempt.Status.APPROVED in statuses:
            conflict = AlreadyCharged(_("This payment was already made."))
        elif PaymentAttempt.Status.PENDING in statuses:
            conflict = AwaitingPayment(
                _("This purchase is waiting for your payment slip or debit.")
            )
        elif fresh_after and any(
            a.status == PaymentAttempt.Status.STARTED and a.started_at > fresh_after
            for a in unknown
        ):
            conflict = PaymentInFlight(_("Your payment is already being processed. Please wait."))
        if conflict is not None:
            if skip_conflicts:
                result.append(None)
                continue
            raise conflict
        if unknown:
            timed_out += [a.pk for a in unknown if a.status == PaymentAttempt.Status.TIMEOUT]
            restarted += [a.pk for a in unknown]
            for a in unknown:
                a.status, a.started_at = PaymentAttempt.Status.STARTED, now
            result.append(unknown)
            continue
        number = attempts[-1].number if attempts else 0
        batch = [
            StartedAttempt(
                pk=None,
                sale_id=plan.sale_id,
                number=number + i,
                idempotency_key=keys.attempt_key(sale_id=plan.sale_id, number=number + i),
                amount_minor=amount,
                method=plan.method,
                started_at=now,
            )
            for i, amount in enumerate(plan.amounts, start=1)
        ]
        new += batch
        result.append(batch)
        logged.append(plan)
    _log_attempts(logged)
    # COPY, no model instances: a billing batch starts hundreds.
    ids = values_insert(
        PaymentAttempt,
        [
            {
                "sale_id": a.sale_id,
                "number": a.number,
                "idempotency_key": a.idempotency_key,
                "amount_minor": a.amount_minor,
                "method": a.method,
                "status": a.status,
                "started_at": a.started_at,
            }
            for a in new
        ],
    )
    for attempt, pk in zip(new, ids, strict=True):
        attempt.pk = attempt.id = pk
    transition_many(
        PaymentAttempt,
        timed_out,
        from_=PaymentAttempt.Status.TIMEOUT,
        to=PaymentAttempt.Status.STARTED,
        reason="Asked again with the same key",
        started_at=now,
    )
    if restarted:
        PaymentAttempt.objects.filter(pk_any(restarted)).update(started_at=now)
    return result


def _log_attempts(plans: list[AttemptPlan]) -> None:
    """The `charge_attempt` money line: one per plan when there is one (a checkout), one for
    the batch otherwise (a billing run: its sales listed, what it asks for added up)."""
    if len(plans) == 1:
        [plan] = plans
        money_event("charge_attempt", sale=plan.sale_id, amounts=plan.amounts, method=plan.method)
    elif plans:
        money_event(
            "charge_attempt",
            sales=[plan.sale_id for plan in plans],
            attempts=sum(len(plan.amounts) for plan in plans),
            amount_minor=sum(sum(plan.amounts) for plan in plans),
            methods=dict(Counter(plan.method for plan in plans)),
        )


# --------------------------------------------------------------------------- the gateway call


@dataclass(frozen=True)
class Charge:
    attempt: PaymentAttempt | StartedAttempt
    currency: str
    token: str


def payments_collect(charges: Sequence[Charge]) -> dict[int, str]:
    """Outside any transaction: call the gateway for each started attempt, give back what one
    card took when another card of the same payment failed, then record every answer."""
    gateway = get_gateway()
    answers = gateway.charge_many(
        [
            ChargeRequest(
                idempotency_key=c.attempt.idempotency_key,
                amount_minor=c.attempt.amount_minor,
                currency=c.currency,
                method=c.attempt.method,
                token=c.token,
            )
            for c in charges
        ]
    )
    by_sale: dict[int, list[tuple[PaymentAttempt, object]]] = defaultdict(list)
    for charge, answer in zip(charges, answers, strict=True):
        by_sale[charge.attempt.sale_id].append((charge.attempt, answer))
    _log_charges(charges, answers)
    voided: set[int] = set()
    for items in by_sale.values():
        approved = [(a, r) for a, r in items if isinstance(r, GatewayResult) and r.paid]
        if not approved or len(approved) == len(items):
            continue
        for attempt, answer in approved:
            try:
                gateway.refund(
                    idempotency_key=keys.void_key(attempt_key=attempt.idempotency_key),
                    reference=answer.reference,
                    amount_minor=attempt.amount_minor,
                )
            except GatewayError as exc:  # parked below: money taken, not given back
                logger.error("void failed for attempt %s: %s", attempt.pk, exc)
                continue
            voided.add(attempt.pk)
    return payments_record(
        outcomes=[(c.attempt, a) for c, a in zip(charges, answers, strict=True)], voided=voided
    )


def _log_charges(charges: Sequence[Charge], answers: Sequence[object]) -> None:
    """The `charge` money lines: one for a single charge (a checkout); for a batch, one per
    outcome and currency, with its sales and attempts listed and its amount added up."""
    if len(charges) == 1:
        [charge], [answer] = charges, answers
        money_event(
            "charge",
            sale=charge.attempt.sale_id,
            attempt=charge.attempt.pk,
            amount_minor=charge.attempt.amount_minor,
            currency=charge.currency,
            outcome=getattr(answer, "outcome", "lost"),
        )
        return
    groups: dict[tuple, list[Charge]] = defaultdict(list)
    for charge, answer in zip(charges, answers, strict=True):
        groups[(getattr(answer, "outcome", "lost"), charge.currency)].append(charge)
    for (outcome, currency), group in groups.items():
        money_event(
            "charge",
            outcome=outcome,
            currency=currency,
            sales=[c.attempt.sale_id for c in group],
            attempts=[c.attempt.pk for c in group],
            amount_minor=sum(c.attempt.amount_minor for c in group),
        )


# --------------------------------------------------------------------------- recording


def payments_record(
    *,
    outcomes: Sequence[tuple[PaymentAttempt, object]],
    voided: Iterable[int] = (),
    now: datetime | None = None,
) -> dict[int, str]:
    """Record gateway answers (a GatewayResult, or an exception for a lost answer) and settle
    what they mean. Idempotent: an attempt already recorded is left alone. Returns, per sale,
    what happened: paid, attention, awaiting, refused, lost, expired, refunding, or settled
    (nothing to do any more)."""
    now = now or timezone.now()
    voided = set(voided)
    report: dict[int, str] = {}
    with transaction.atomic():
        live = {
            row[0]: _LiveAttempt(*row)
            for row in PaymentAttempt.objects.select_for_update(of=("self",))
            .filter(
                pk_any([a.pk for a, _ in outcomes]),
                status__in=[
                    PaymentAttempt.Status.STARTED,
                    PaymentAttempt.Status.PENDING,
                    PaymentAttempt.Status.EXPIRED,
                ],
            )
            .order_by("pk")  # not Meta.ordering: it joins the sale to sort
            .values_list("pk", "sale_id", "status", "gateway_reference")
        }
        todo = [(live[a.pk], answer) for a, answer in outcomes if a.pk in live]
        for attempt, _ in outcomes:
            report.setdefault(attempt.sale_id, "settled")
        if not todo:
            return report
        _record_attempts(todo, voided, now)
        sale_ids = {a.sale_id for a, _ in todo}
        # Only the sale rows are locked (never its product or buyer: a concurrent checkout's
        # foreign-key checks take those, and would deadlock with us).
        sales = {
            s.pk: s
            for s in Sale.objects.select_for_update(of=("self",))
            .filter(pk_any(sale_ids))
            .order_by("pk")  # one lock order everywhere (the ledger's too)
        }
        approved = dict(
            PaymentAttempt.objects.filter(
                pk_any(sale_ids, "sale_id"), status=PaymentAttempt.Status.APPROVED
            )
            .order_by()  # Meta.ordering would join the sale
            .values("sale_id")
            .annotate(total=Sum("amount_minor"))
            .values_list("sale_id", "total")
        )
        answers: dict[int, list] = defaultdict(list)
        for attempt, answer in todo:
            answers[attempt.sale_id].append(answer)
        paying, refunding = [], []
        accepted: set[int] = set()
        for kind, group in _by_handler(
            s for s in sales.values() if approved.get(s.pk, 0) == s.amount_minor
        ).items():
            accepted |= _HANDLERS[kind].accepts(group)
        for sale in sales.values():
            total = approved.get(sale.pk, 0)
            if total and total == sale.amount_minor and sale.status in Sale.UNPAID:
                (paying if sale.pk in accepted else refunding).append(sale)
            elif total and sale.status in Sale.UNPAID:
                report[sale.pk] = "attention"
                payment_park(
                    sale=sale,
                    error="Part of a payment was charged and could not be given back.",
                    now=now,
                )
            elif total:  # attempts_start never lets this happen; if it does, say it loudly
                logger.error("sale %s (already %s) reported charged again", sale.pk, sale.status)
            elif sale.status in Sale.UNPAID:
                report[sale.pk] = _other_outcome(sale, answers[sale.pk], now)
        for sale in refunding:
            report[sale.pk] = "refunding"
            _refund_late(sale)
        paid = set(settle(paying, now))
        for sale in paying:
            report[sale.pk] = "paid" if sale.pk in paid else "attention"
    return report


@dataclass(slots=True)
class _LiveAttempt:
    """What recording reads of a locked attempt that still awaits its answer."""

    pk: int
    sale_id: int
    status: str
    gateway_reference: str


def _record_attempts(
    todo: list[tuple[_LiveAttempt, object]], voided: set[int], now: datetime
) -> None:
    moves: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for attempt, answer in todo:
        if isinstance(answer, GatewayResult):
            to = ATTEMPT_STATUS[answer.outcome]
            reference = answer.reference or attempt.gateway_reference
            message, finished = answer.message, now
        else:
            to, reference, message, finished = PaymentAttempt.Status.TIMEOUT, "", LOST, None
        if to == attempt.status:
            continue
        moves[(attempt.status, to)].append((attempt.pk, reference, message[:200], finished))
        attempt.status = to
    for (from_, to), rows in moves.items():
        transition_rows(
            PaymentAttempt,
            ["gateway_reference", "message", "finished_at"],
            rows,
            from_=from_,
            to=to,
        )
    transition_many(
        PaymentAttempt,
        [a.pk for a, _ in todo if a.pk in voided],
        from_=PaymentAttempt.Status.APPROVED,
        to=PaymentAttempt.Status.VOIDED,
        reason="The other card of this payment failed",
    )


def _other_outcome(sale: Sale, answers: list, now: datetime) -> str:
    """A sale this call did not pay: waiting for a slip, refused, lost or expired."""
    handler = _handler(sale)
    results = [a for a in answers if isinstance(a, GatewayResult)]
    try:
        with transaction.atomic():
            if len(results) < len(answers):
                handler.lost(sale, now)
                return "lost"
            pending = [r for r in results if r.outcome == Outcome.PENDING]
            if pending:
                handler.awaiting(sale, pending[0], now)
                return "awaiting"
            if any(r.outcome == Outcome.EXPIRED for r in results):
                handler.expired(sale, now)
                return "expired"
            refused = next((r for r in results if not r.paid), results[0])
            handler.refused(sale, refused, now)
            return "refused"
    except Exception:  # one row's trouble never stops the batch; the next run sees it again
        logger.exception("could not record the outcome of sale %s", sale.pk)
        return "error"


def settle(sales: list[Sale], now: datetime) -> list[int]:
    """Mark charged sales paid, let their handler follow (recurrence, subscription), write
    their splits. Set-based; if the batch fails, each sale is tried alone and the ones that
    still fail are parked in needs attention with their error. Returns the sales paid."""
    if not sales:
        return []
    before = {s.pk: (s.status, s.paid_at) for s in sales}

    def rolled_back(group: list[Sale]) -> None:  # the savepoint undid the rows, not the objects
        for sale in group:
            sale.status, sale.paid_at = before[sale.pk]

    try:
        with transaction.atomic():
            _settle(sales, now)
        return [s.pk for s in sales]
    except Exception:
        rolled_back(sales)
        logger.warning("settling %s sales together failed; trying each alone", len(sales))
    done = []
    for sale in sales:
        try:
            with transaction.atomic():
                _settle([sale], now)
            done.append(sale.pk)
        except Exception as exc:
            rolled_back([sale])
            logger.exception("sale %s was charged but could not be recorded", sale.pk)
            payment_park(sale=sale, error=f"{type(exc).__name__}: {exc}", now=now)
    return done


def _settle(sales: list[Sale], now: datetime) -> None:
    from coproduction.services.ledger import ledger_write_splits

    by_status: dict[str, list[int]] = defaultdict(list)
    for sale in sales:
        by_status[sale.status].append(sale.pk)
    for from_, pks in by_status.items():
        values = {"attention_error": ""} if from_ == Sale.Status.NEEDS_ATTENTION else {}
        if from_ != Sale.Status.NEEDS_ATTENTION:
            values["paid_at"] = now
        transition_many(Sale, pks, from_=from_, to=Sale.Status.PAID, **values)
    for sale in sales:
        if sale.status != Sale.Status.NEEDS_ATTENTION:
            sale.paid_at = now
        sale.status = Sale.Status.PAID
    for kind, group in _by_handler(sales).items():
        _HANDLERS[kind].paid(group, now)
    ledger_write_splits(locked=sales)  # locked by our caller, just marked paid
    sales_paid(sales)  # the outgoing webhooks (never blocks the payment)


def payment_park(*, sale: Sale, error: str, now: datetime) -> None:
    """Charged but not recordable: keep the money's trace, show the error to admins."""
    try:
        with transaction.atomic():
            fresh = Sale.objects.select_for_update(of=("self",)).get(pk=sale.pk)
            if fresh.status == Sale.Status.NEEDS_ATTENTION:
                Sale.objects.filter(pk=sale.pk).update(attention_error=error[:2000])
            else:
                transition(
                    fresh,
                    Sale.Status.NEEDS_ATTENTION,
                    reason="Charged; could not be recorded",
                    paid_at=fresh.paid_at or now,
                    attention_error=error[:2000],
                )
            _handler(fresh).attention([fresh], now)
            money_event(
                "quarantine",
                sale=sale.pk,
                amount_minor=fresh.amount_minor,
                currency=fresh.currency,
                error=error[:200],
            )
    except Exception:
        logger.exception("sale %s could not even be parked", sale.pk)


def payment_retry(*, sale: Sale) -> Sale:
    """Admin action after a fix: record a parked sale again (paid, its handler, its split)."""
    with transaction.atomic():
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=sale.pk)
        if sale.status != Sale.Status.NEEDS_ATTENTION:
            raise DomainError(_("Only a sale that needs attention can be recorded again."))
        _settle([sale], timezone.now())
    return sale


def _refund_late(sale: Sale) -> None:
    """Money for a sale that can no longer take it (an expired one-time sale, a canceled
    subscription): refunded automatically, the buyer told."""
    from products.services.refunds import refund_request_late

    refund_request_late(sale=sale)


def attempts_reconcile(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Beat: one-time checkouts whose gateway answer was lost (the request died, or the
    gateway timed out) and that the buyer never retried are asked again with the same key,
    and the answer recorded: money the gateway took is never left unrecorded. (Recurrences are
    asked again by the billing run.) Returns how many attempts were asked."""
    now = now or timezone.now()
    with transaction.atomic():
        attempts = list(
            PaymentAttempt.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status__in=PaymentAttempt.UNKNOWN,
                started_at__lt=now - STALE_ATTEMPT,
                sale__subscription__isnull=True,
                sale__status=Sale.Status.PENDING,
            )
            .select_related("sale")
            .order_by("pk")[:batch_size]
        )
        transition_many(
            PaymentAttempt,
            [a.pk for a in attempts if a.status == PaymentAttempt.Status.TIMEOUT],
            from_=PaymentAttempt.Status.TIMEOUT,
            to=PaymentAttempt.Status.STARTED,
            reason="Asked again by the reconciler",
            started_at=now,
        )
        PaymentAttempt.objects.filter(pk__in=[a.pk for a in attempts]).update(started_at=now)
    if attempts:
        # The same key: the gateway answers for the first call (no token needed, none stored).
        payments_collect([Charge(attempt=a, currency=a.sale.currency, token="") for a in attempts])
    return len(attempts)


def expired_result() -> GatewayResult:
    return GatewayResult(Outcome.EXPIRED, "", MESSAGES[Outcome.EXPIRED])
