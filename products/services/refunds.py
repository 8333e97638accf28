"""Refunds and chargebacks with outcomes: requested → sent → succeeded | failed.

A refund reserves its amount on the (locked) sale and commits; the gateway is then called
outside any transaction, once per charged card with its own idempotency key and its
proportional part; the reversing ledger entries are written when the gateway confirms. A failed
refund is retried by beat (refunds_retry) and listed for admins. A chargeback has already
happened at the issuer: its reversal is written at once."""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.models import Notification, User
from accounts.notifications import GENERIC_EMAIL, notify
from config.money_log import money_event
from coproduction.reversal import reverse_amounts
from products.models import PaymentAttempt, Refund, Sale
from products.money import format_money
from products.payments import keys
from products.payments.gateway import GatewayError, GatewayTimeout, get_gateway
from products.payments.states import transition
from products.webhooks import sale_reversed

logger = logging.getLogger("coprod.payments")

# A refund still "sent" after this long lost its answer: sent again with the same keys.
SENT_LEASE = timedelta(minutes=10)
RETRY_AFTER = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12))


def sale_refund(
    *, sale: Sale, actor: User, amount_minor: int | None = None, reason: str = ""
) -> Refund:
    """Refund all or part of what is left. The buyer may ask for the whole remainder within
    the product's guarantee period; the producer and platform admins may refund any amount at
    any time. Returns the refund, succeeded or (the gateway refused it for now) failed."""
    sale = Sale.objects.select_related("product", "buyer").get(pk=sale.pk)
    is_buyer = actor.pk == sale.buyer_id
    is_seller = actor.pk == sale.product.producer_id or actor.is_staff
    if not (is_buyer or is_seller):
        raise PermissionDenied(_("Only the buyer, the producer or an admin can refund this sale."))
    if is_buyer and not is_seller:
        if sale.paid_at is None or not sale.is_paid:
            raise InvalidTransition(_("Nothing is left to refund on this sale."))
        if not sale.in_guarantee:
            raise DomainError(
                ngettext(
                    "The %(days)s-day guarantee period of this purchase is over.",
                    "The %(days)s-day guarantee period of this purchase is over.",
                    sale.product.guarantee_days,
                )
                % {"days": sale.product.guarantee_days}
            )
        amount_minor = None  # the buyer's refund is always for everything left
    with transaction.atomic():
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=sale.pk)
        left = sale.refundable_minor
        if left <= 0:
            raise InvalidTransition(_("Nothing is left to refund on this sale."))
        amount = left if amount_minor is None else amount_minor
        if amount <= 0:
            raise DomainError(_("Enter an amount above zero."))
        if amount > left:
            raise DomainError(
                _("At most %(amount)s is left to refund on this sale.")
                % {"amount": format_money(left, sale.currency)}
            )
        refund = _refund_create(sale, amount=amount, reason=reason, actor=actor)
        money_event(
            "refund",
            refund=refund.pk,
            sale=sale.pk,
            amount_minor=amount,
            currency=sale.currency,
            status="requested",
        )
        sale.refunded_minor += amount
        sale.save(update_fields=["refunded_minor"])
    return refund_send(refund=refund)


def refund_request_late(*, sale: Sale) -> Refund:
    """Inside the recording transaction: money arrived for a sale that can no longer take it
    (never paid, so no split to reverse). Sent on commit; the buyer is told when it is back."""
    refund = _refund_create(
        sale, amount=None, reason="Paid after its date: refunded automatically", actor=None
    )
    from products.tasks import refund_send_task

    refund_send_task.delay_on_commit(refund.pk)
    money_event(
        "refund",
        refund=refund.pk,
        sale=sale.pk,
        amount_minor=refund.amount_minor,
        currency=sale.currency,
        status="requested",
        late=True,
    )
    return refund


def _refund_create(sale: Sale, *, amount: int | None, reason: str, actor) -> Refund:
    """The refund row with each charged card's proportional part (exact to the minor unit)."""
    cards = list(sale.attempts.filter(status=PaymentAttempt.Status.APPROVED).order_by("number"))
    if not cards:
        raise InvalidTransition("This sale has no charge to refund.")
    if amount is None:
        amount = sum(c.amount_minor for c in cards)
    given: dict[int, int] = defaultdict(int)
    for earlier in sale.refunds.filter(kind=Refund.Kind.REFUND):
        for part in earlier.card_parts:
            given[part["attempt"]] += part["amount_minor"]
    parts = reverse_amounts([c.amount_minor for c in cards], [given[c.pk] for c in cards], amount)
    return Refund.objects.create(
        sale=sale,
        amount_minor=amount,
        reason=reason[:300],
        requested_by=actor,
        card_parts=[
            {"attempt": c.pk, "amount_minor": part}
            for c, part in zip(cards, parts, strict=True)
            if part
        ],
    )


def refund_send(*, refund: Refund) -> Refund:
    """Send a requested (or failed, or stale sent) refund to the gateway, outside any
    transaction, and record the outcome. Idempotent per card: the same keys every time."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        stale_sent = (
            refund.status == Refund.Status.SENT
            and refund.next_try_at is not None
            and refund.next_try_at <= timezone.now()
        )
        if refund.status in (Refund.Status.REQUESTED, Refund.Status.FAILED):
            transition(
                refund,
                Refund.Status.SENT,
                reason="Sent to the gateway",
                tries=refund.tries + 1,
                next_try_at=timezone.now() + SENT_LEASE,
            )
        elif stale_sent:
            refund.tries += 1
            refund.next_try_at = timezone.now() + SENT_LEASE
            refund.save(update_fields=["tries", "next_try_at"])
        else:
            return refund
    money_event("refund", refund=refund.pk, sale=refund.sale_id, status="sent", tries=refund.tries)
    attempts = {
        a.pk: a
        for a in PaymentAttempt.objects.filter(pk__in=[p["attempt"] for p in refund.card_parts])
    }
    gateway = get_gateway()
    references, error = [], ""
    for part in refund.card_parts:
        attempt = attempts[part["attempt"]]
        try:
            references.append(
                gateway.refund(
                    idempotency_key=keys.refund_key(refund_id=refund.pk, attempt_id=attempt.pk),
                    reference=attempt.gateway_reference,
                    amount_minor=part["amount_minor"],
                )
            )
        except (GatewayError, GatewayTimeout) as exc:
            error = str(exc) or type(exc).__name__
            break
    if error:
        return _refund_failed(refund, error)
    return _refund_succeeded(refund, " ".join(references))


def _refund_failed(refund: Refund, error: str) -> Refund:
    logger.warning("refund %s failed: %s", refund.pk, error)
    money_event("refund", refund=refund.pk, sale=refund.sale_id, status="failed", error=error)
    delay = RETRY_AFTER[min(refund.tries, len(RETRY_AFTER)) - 1]
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.SENT:
            return refund
        return transition(
            refund,
            Refund.Status.FAILED,
            reason=error[:200],
            last_error=error[:300],
            next_try_at=timezone.now() + delay,
        )


def _refund_succeeded(refund: Refund, reference: str) -> Refund:
    with transaction.atomic():
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=refund.sale_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.SENT:
            return refund
        transition(
            refund,
            Refund.Status.SUCCEEDED,
            reason="Confirmed by the gateway",
            gateway_reference=reference[:200],
            finished_at=timezone.now(),
            next_try_at=None,
            last_error="",
        )
        _succeeded(sale, refund)
    return refund


def _succeeded(sale: Sale, refund: Refund) -> None:
    """A refund or chargeback succeeded on the locked sale: reverse the split, tell the people
    it concerns, log it."""
    was_paid = sale.is_paid
    _reverse(sale, refund)
    _tell(sale, refund, shared=was_paid)
    money_event(
        "refund",
        refund=refund.pk,
        sale=sale.pk,
        amount_minor=refund.amount_minor,
        currency=sale.currency,
        kind=refund.kind,
        status="succeeded",
    )


def _reverse(sale: Sale, refund: Refund) -> None:
    """On the locked sale: write the reversing entries and move the sale's status."""
    from coproduction.services.ledger import ledger_write_reversal

    if not sale.is_paid:  # money that came late for a dead sale: there is no split to reverse
        return
    ledger_write_reversal(sale=sale, refund=refund)
    returned = sum(r.amount_minor for r in sale.refunds.filter(status=Refund.Status.SUCCEEDED))
    if refund.kind == Refund.Kind.CHARGEBACK:
        to = Sale.Status.CHARGED_BACK
    elif returned >= sale.amount_minor:
        to = Sale.Status.REFUNDED
    else:
        to = Sale.Status.PARTIALLY_REFUNDED
    if sale.status != Sale.Status.CHARGED_BACK:
        transition(sale, to, reason=refund.reason or refund.get_kind_display())


def sale_chargeback(*, sale: Sale, actor: User | None, reason: str = "") -> Refund:
    """The card issuer took the money back: reverse everything that is left, at once."""
    with transaction.atomic():
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=sale.pk)
        left = sale.refundable_minor
        if left <= 0:
            raise InvalidTransition(_("Nothing is left to charge back on this sale."))
        refund = Refund.objects.create(
            sale=sale,
            kind=Refund.Kind.CHARGEBACK,
            amount_minor=left,
            # Stored in English on the refund; translated where it is shown.
            reason=reason[:300] or gettext_noop("Chargeback"),
            requested_by=actor,
        )
        sale.refunded_minor += left
        sale.save(update_fields=["refunded_minor"])
        transition(refund, Refund.Status.SUCCEEDED, actor=actor, finished_at=timezone.now())
        _succeeded(sale, refund)
    return refund


def refunds_retry(*, now: datetime | None = None) -> int:
    """Beat: send again the refunds that failed (after their back-off) or lost their answer.
    One bad refund never stops the others. Returns how many were sent."""
    now = now or timezone.now()
    due = list(
        Refund.objects.filter(
            status__in=[Refund.Status.REQUESTED, Refund.Status.SENT, Refund.Status.FAILED],
            kind=Refund.Kind.REFUND,
        )
        .exclude(next_try_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    sent = 0
    for pk in due:
        try:
            refund_send(refund=Refund(pk=pk))
            sent += 1
        except Exception:
            logger.exception("refund %s could not be sent", pk)
    return sent


def _tell(sale: Sale, refund: Refund, *, shared: bool) -> None:
    """The buyer is told the money went back (a refund; a chargeback is their bank's doing),
    and, when the sale had been split (`shared`), everyone whose share the reversal took from:
    the producer, cocreators, affiliates. Money that came late for a dead sale was nobody's."""
    from coproduction.models import LedgerEntry

    money = {"amount_minor": refund.amount_minor, "currency": sale.currency}
    product = {"product": sale.product.name}
    if refund.kind == Refund.Kind.REFUND:
        notify(
            sale.buyer,
            Notification.Kind.REFUND,
            key=f"refund:{refund.pk}",
            params={**product, **money},
            path=reverse("products:purchase", args=[sale.pk]),
            email="products/email/refund",
            email_context={"sale": sale, "refund": refund},
        )
    if not shared:
        return
    sale_reversed(sale, refund)  # the outgoing webhooks
    kind = (
        Notification.Kind.CHARGEBACK
        if refund.kind == Refund.Kind.CHARGEBACK
        else Notification.Kind.SALE_REFUNDED
    )
    parties = set(
        LedgerEntry.objects.filter(sale=sale, refund=refund, beneficiary__isnull=False)
        .values_list("beneficiary_id", flat=True)
        .distinct()
    ) | {sale.product.producer_id}
    for party in User.objects.filter(pk__in=parties).order_by("pk"):
        notify(
            party,
            kind,
            key=f"refund:{refund.pk}",
            params={**product, **money},
            path=reverse("products:sales") + f"?product={sale.product_id}",
            email=GENERIC_EMAIL,
            email_context={"sale": sale, "refund": refund},
        )
