"""The subscription status machine: one transition service over Subscription.TRANSITIONS, and
the cancellations each side may make."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.exceptions import InvalidTransition, PermissionDenied
from accounts.models import User
from products.models import PaymentAttempt, Sale
from products.payments import keys
from products.payments.gateway import get_gateway
from products.payments.states import transition, transition_many
from subscriptions import webhooks
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent
from subscriptions.services import notices

logger = logging.getLogger("coprod.billing")

UNPAID_LIMIT = 5
UNPAID_LIMIT_REASON = f"{UNPAID_LIMIT} consecutive unpaid recurrences"


def subscription_transition(
    *,
    subscription: Subscription,
    to: str,
    actor: User | None,
    reason: str = "",
    tell: bool = True,
) -> Subscription:
    """Move a locked subscription through the table, recording who, when and why, and telling
    the buyer (or the producer, of a new subscriber) unless `tell` is False (the caller tells
    it its own way: a declined card)."""
    current = Subscription.Status(subscription.status)
    if to not in Subscription.TRANSITIONS[current]:
        raise InvalidTransition(
            _("A subscription that is %(current)s cannot become %(to)s.")
            % {
                "current": current.label.lower(),
                "to": Subscription.Status(to).label.lower(),
            }
        )
    subscription.status = to
    fields = ["status"]
    if not Subscription.TRANSITIONS[Subscription.Status(to)]:  # a final status
        subscription.ended_at = timezone.now()
        subscription.end_reason = reason[:200]
        subscription.next_charge_date = None
        fields += ["ended_at", "end_reason", "next_charge_date"]
        _close_outstanding(subscription, reason)
    subscription.save(update_fields=fields)
    event = SubscriptionEvent.objects.create(
        subscription=subscription,
        from_status=current,
        to_status=to,
        actor=actor,
        reason=reason[:200],
    )
    if tell:
        notices.transition_told(subscription, event, actor)
    webhooks.status_changed(subscription, event)
    return subscription


def _close_outstanding(subscription: Subscription, reason: str) -> None:
    """Nothing more is charged: recurrences not yet collected are dropped, and outstanding
    slips and debits are voided at the gateway once this commits (a payment that still comes
    is refunded automatically)."""
    # A recurrence whose charge answer was lost stays scheduled: the collector asks again with
    # the same key, and money the gateway did take is then refunded (not dropped).
    scheduled = list(
        subscription.recurrences.filter(status=Recurrence.Status.SCHEDULED)
        .exclude(sale__attempts__status__in=PaymentAttempt.UNKNOWN)
        .values_list("pk", flat=True)
    )
    transition_many(
        Recurrence,
        scheduled,
        from_=Recurrence.Status.SCHEDULED,
        to=Recurrence.Status.CANCELED,
        reason=reason,
        next_attempt_at=None,
    )
    outstanding = list(
        subscription.recurrences.select_for_update(of=("self",)).filter(
            status=Recurrence.Status.PENDING
        )
    )
    to_void = []
    for recurrence in outstanding:
        transition(recurrence, Recurrence.Status.CANCELED, reason=reason, next_attempt_at=None)
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=recurrence.sale_id)
        if sale.status == Sale.Status.PENDING:
            transition(sale, Sale.Status.EXPIRED, reason=reason)
        for attempt in sale.attempts.filter(status=PaymentAttempt.Status.PENDING):
            transition(attempt, PaymentAttempt.Status.EXPIRED, reason="Voided: " + reason)
            to_void.append((attempt.idempotency_key, attempt.gateway_reference))
    if to_void:
        transaction.on_commit(lambda: _void(to_void))


def _void(attempts: list[tuple[str, str]]) -> None:
    gateway = get_gateway()
    for key, reference in attempts:
        try:
            gateway.void(idempotency_key=keys.void_key(attempt_key=key), reference=reference)
        except Exception:  # a payment that still comes is refunded when it is reported
            logger.exception("could not void %s", reference)


def subscription_cancel(*, subscription: Subscription, actor: User, as_admin: bool = False):
    """The buyer (Canceled by the customer), the product's producer (Canceled by the seller) or
    a platform admin (Canceled by admin) cancels. Cancelling twice is refused with a message."""
    # The reasons are stored in English (end_reason, events) and translated where shown.
    if as_admin:
        if not actor.is_staff:
            raise PermissionDenied(_("Only platform admins cancel as admin."))
        to = Subscription.Status.CANCELED_BY_ADMIN
        reason = gettext_noop("Canceled by a platform admin")
    elif actor.pk == subscription.buyer_id:
        to = Subscription.Status.CANCELED_BY_CUSTOMER
        reason = gettext_noop("Canceled by the customer")
    elif actor.pk == subscription.product.producer_id:
        to = Subscription.Status.CANCELED_BY_SELLER
        reason = gettext_noop("Canceled by the seller")
    else:
        raise PermissionDenied(_("Only the buyer, the producer or an admin can cancel this."))
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status in Subscription.CANCELED or locked.status == Subscription.Status.EXPIRED:
            raise InvalidTransition(
                _("This subscription is already %(status)s.")
                % {"status": locked.get_status_display()}
            )
        return subscription_transition(subscription=locked, to=to, actor=actor, reason=reason)
