"""Subscriptions' outgoing webhooks (accounts.webhook_events), told to the producer of the
subscribed product: subscription.status_changed (with the status it had), recurrence.paid
and recurrence.declined. (Each recurrence's sale is also told as sale.approved, to every party
with a share in it, by products.webhooks.)"""

from accounts.webhook_events import object_data, publish, publish_many
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent


def _subscription_data(subscription: Subscription, **previous):
    return object_data("subscriptions.api:subscription_resource", subscription, **previous)


def _recurrence_data(recurrence: Recurrence):
    return object_data("subscriptions.api:recurrence_resource", recurrence)


def _producer(subscription_id: int) -> list[int]:
    return list(
        Subscription.objects.filter(pk=subscription_id).values_list(
            "product__producer_id", flat=True
        )
    )


def status_changed(subscription: Subscription, event: SubscriptionEvent) -> int:
    return publish(
        "subscription.status_changed",
        key=f"subscription-event:{event.pk}",
        user_ids=lambda: _producer(subscription.pk),
        data=_subscription_data(subscription, status=event.from_status),
    )


def recurrences_paid(recurrence_pks: list[int]) -> int:
    """From inside a billing batch (one query when nobody listens, whatever its size)."""

    def items():
        recurrences = Recurrence.objects.filter(pk__in=recurrence_pks).select_related(
            "subscription__product"
        )
        return [
            (
                f"recurrence:{r.pk}",
                [r.subscription.product.producer_id],
                _recurrence_data(r),
            )
            for r in recurrences.order_by("pk")
        ]

    return publish_many("recurrence.paid", items) if recurrence_pks else 0


def recurrence_declined(recurrence: Recurrence, *, attempt: int) -> int:
    return publish(
        "recurrence.declined",
        key=f"recurrence:{recurrence.pk}:{attempt}",
        user_ids=lambda: _producer(recurrence.subscription_id),
        data=_recurrence_data(recurrence),
    )
