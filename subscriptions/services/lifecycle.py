"""The subscription status machine: one transition service over Subscription.TRANSITIONS, and
the cancellations each side may make."""

from django.db import transaction
from django.utils import timezone

from accounts.exceptions import InvalidTransition, PermissionDenied
from accounts.models import User
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent

UNPAID_LIMIT = 5
UNPAID_LIMIT_REASON = f"{UNPAID_LIMIT} consecutive unpaid recurrences"


def subscription_transition(
    *, subscription: Subscription, to: str, actor: User | None, reason: str = ""
) -> Subscription:
    """Move a locked subscription through the table, recording who, when and why."""
    current = Subscription.Status(subscription.status)
    if to not in Subscription.TRANSITIONS[current]:
        raise InvalidTransition(
            f"A subscription that is {current.label.lower()} cannot become "
            f"{Subscription.Status(to).label.lower()}."
        )
    subscription.status = to
    fields = ["status"]
    if not Subscription.TRANSITIONS[Subscription.Status(to)]:  # a final status
        subscription.ended_at = timezone.now()
        subscription.end_reason = reason[:200]
        subscription.next_charge_date = None
        fields += ["ended_at", "end_reason", "next_charge_date"]
        # Nothing more is charged: recurrences not yet collected are dropped.
        subscription.recurrences.filter(status=Recurrence.Status.SCHEDULED).update(
            status=Recurrence.Status.CANCELED, next_attempt_at=None
        )
    subscription.save(update_fields=fields)
    SubscriptionEvent.objects.create(
        subscription=subscription,
        from_status=current,
        to_status=to,
        actor=actor,
        reason=reason[:200],
    )
    return subscription


def subscription_cancel(*, subscription: Subscription, actor: User, as_admin: bool = False):
    """The buyer (Canceled by the customer), the product's producer (Canceled by the seller) or
    a platform admin (Canceled by admin) cancels. Cancelling twice is refused with a message."""
    if as_admin:
        if not actor.is_staff:
            raise PermissionDenied("Only platform admins cancel as admin.")
        to, reason = Subscription.Status.CANCELED_BY_ADMIN, "Canceled by a platform admin"
    elif actor.pk == subscription.buyer_id:
        to, reason = Subscription.Status.CANCELED_BY_CUSTOMER, "Canceled by the customer"
    elif actor.pk == subscription.product.producer_id:
        to, reason = Subscription.Status.CANCELED_BY_SELLER, "Canceled by the seller"
    else:
        raise PermissionDenied("Only the buyer, the producer or an admin can cancel this.")
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status in Subscription.CANCELED or locked.status == Subscription.Status.EXPIRED:
            raise InvalidTransition(f"This subscription is already {locked.get_status_display()}.")
        return subscription_transition(subscription=locked, to=to, actor=actor, reason=reason)
