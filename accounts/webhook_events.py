"""How the domain tells outgoing webhooks what happened (accounts.outgoing_webhooks.emit does
the recording and the delivery).

Called from inside the transaction that made the change (the message and its deliveries are
committed with it or not at all: an event is never told for a change that rolled back, nor
lost for one that committed), in a savepoint of its own: a webhook's trouble never undoes or
blocks the money. When no endpoint anywhere listens to the event type, one query and nothing
else (billing calls this once per batch)."""

import importlib
import logging
from collections.abc import Callable, Iterable

from django.db import transaction

from accounts.models import WebhookEndpoint

logger = logging.getLogger(__name__)

# One event: its key (the same key is told once per owner), who may hear it, and what each
# of them receives (the resource as the API shows it to that person).
Item = tuple[str, Iterable[int], Callable[[int], dict]]


def anyone_listens(event_type: str) -> bool:
    return WebhookEndpoint.objects.filter(
        is_enabled=True, event_types__contains=[event_type]
    ).exists()


def publish(
    event_type: str,
    *,
    key: str | int,
    user_ids: Iterable[int] | Callable[[], Iterable[int]],
    data: Callable[[int], dict],
) -> int:
    """Tell `event_type` (`key`) to `user_ids` (or what it returns, called only when someone
    listens). Returns the number of deliveries queued."""
    return publish_many(
        event_type, lambda: [(str(key), user_ids() if callable(user_ids) else user_ids, data)]
    )


def publish_many(event_type: str, items: Callable[[], Iterable[Item]]) -> int:
    """Tell a batch of events of one type; `items` is called only when someone listens. Each
    (event, listener) is recorded in a savepoint of its own: one that cannot be built (its
    payload raised) is logged and skipped, the others are recorded."""
    try:
        if not anyone_listens(event_type):  # no savepoint either: one query
            return 0
        from accounts.outgoing_webhooks import emit

        batch = [(key, set(ids), data) for key, ids, data in items()]
        listening = _listening(event_type, set().union(*(ids for _, ids, _ in batch)))
    except Exception:
        logger.exception("webhook event %s could not be recorded", event_type)
        return 0
    queued = 0
    for key, ids, data in batch:
        for user_id in sorted(ids & listening):
            try:
                with transaction.atomic():
                    queued += emit(event_type, key=key, user_ids=[user_id], data=data)
            except Exception:
                logger.exception(
                    "webhook event %s %s for user %s could not be recorded",
                    event_type,
                    key,
                    user_id,
                )
    return queued


def _listening(event_type: str, user_ids: set[int]) -> set[int]:
    """Of `user_ids`, who has an enabled endpoint for `event_type` (one query)."""
    if not user_ids:
        return set()
    return set(
        WebhookEndpoint.objects.filter(
            is_enabled=True, event_types__contains=[event_type], user_id__in=user_ids
        ).values_list("user_id", flat=True)
    )


def object_data(resource: str, obj, **previous) -> Callable[[int], dict]:
    """The payload's `data`: the resource as the API shows it to each receiver (`object`: what
    the function `resource`, "module:name", returns for `obj` and that person), and what
    changed (`previous_attributes`, as Stripe's events say it). Imported when called, inside
    publish's guard."""

    def data(user_id: int) -> dict:
        module, name = resource.split(":")
        build = getattr(importlib.import_module(module), name)
        payload = {"object": build(obj, user_id)}
        if previous:
            payload["previous_attributes"] = previous
        return payload

    return data
