"""The REST API's subscriptions part: as producer, the subscribers of my plans (as the
Subscribers screen lists them); as buyer, my own subscriptions; each with its recurrences.

`subscription_resource` and `recurrence_resource` build one row as the API returns it;
webhook payloads use them too."""

from __future__ import annotations

from typing import Literal

from django.db.models import Q
from django.http import Http404
from ninja import Field, Path, Query, Router

from accounts.api import (
    AFTER,
    BEFORE,
    ID_MAX,
    READ,
    Money,
    Out,
    PageParams,
    Ref,
    When,
    api_user,
    date_range,
    iso,
    keyset_page,
    money,
    page_of,
    ref,
    responses,
)
from subscriptions import selectors
from subscriptions.models import Recurrence, Subscription

router = Router(tags=["subscriptions"])

SubscriptionStatus = Literal[
    "initiated",
    "active",
    "inactive",
    "overdue",
    "canceled_by_customer",
    "canceled_by_seller",
    "canceled_by_admin",
    "expired",
]


class NotVisible(LookupError):
    """The viewer is neither the subscription's producer nor its buyer."""


class PlanRef(Out):
    id: int
    name: str
    periodicity: str
    price: Money


class SubscriptionOut(Out):
    id: int
    your_role: Literal["producer", "buyer"]
    product: Ref
    plan: PlanRef
    buyer_email: str
    status: SubscriptionStatus
    method: str
    created_at: str
    ended_at: str | None
    end_reason: str
    next_charge_date: str | None = Field(..., description="A date in the buyer's time zone.")
    paid_count: int = Field(..., description="Recurrences paid so far.")


SubscriptionPage = page_of(SubscriptionOut, "SubscriptionPage")


def _subscription(subscription: Subscription, viewer_id: int) -> dict:
    product = subscription.product
    plan = subscription.plan
    return {
        "id": subscription.pk,
        "your_role": "producer" if product.producer_id == viewer_id else "buyer",
        "product": ref(product),
        "plan": {
            "id": plan.pk,
            "name": plan.name,
            "periodicity": plan.periodicity,
            "price": money(plan.price_minor, product.currency),
        },
        "buyer_email": subscription.buyer.email,
        "status": subscription.status,
        "method": subscription.method,
        "created_at": iso(subscription.created_at),
        "ended_at": iso(subscription.ended_at),
        "end_reason": subscription.end_reason,
        "next_charge_date": (
            subscription.next_charge_date.isoformat() if subscription.next_charge_date else None
        ),
        "paid_count": subscription.paid_count,
    }


def _subscriptions_of(user_id: int, role: str | None = None):
    scope = {
        "producer": Q(product__producer_id=user_id),
        "buyer": Q(buyer_id=user_id),
        None: Q(product__producer_id=user_id) | Q(buyer_id=user_id),
    }[role]
    return Subscription.objects.filter(scope).select_related("product", "plan", "buyer")


def subscription_resource(subscription: Subscription, viewer_id: int) -> dict:
    """The subscription as GET /subscriptions/{id} returns it to `viewer_id` (the product's
    producer or the buyer); NotVisible (a LookupError) for anyone else."""
    found = _subscriptions_of(viewer_id).filter(pk=subscription.pk).first()
    if found is None:
        raise NotVisible
    return _subscription(found, viewer_id)


class SubscriptionFilters(PageParams):
    role: Literal["producer", "buyer"] = Field(
        "producer",
        description="producer: the subscribers of my plans; buyer: my own subscriptions.",
    )
    status: SubscriptionStatus | None = None
    product_id: int | None = Field(None, ge=1, le=ID_MAX)
    created_after: When | None = Field(None, description=AFTER)
    created_before: When | None = Field(None, description=BEFORE)


@router.get(
    "/subscriptions",
    response=responses(SubscriptionPage),
    summary="Subscribers of my plans (as producer) or my subscriptions (as buyer)",
    **READ,
)
def subscriptions_list(request, filters: Query[SubscriptionFilters]):
    user = api_user(request, SubscriptionFilters)
    if filters.role == "buyer":
        queryset = selectors.subscriptions_for_buyer(buyer=user).select_related("buyer")
    else:
        queryset = _subscriptions_of(user.pk, "producer")
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.product_id:
        queryset = queryset.filter(product_id=filters.product_id)
    queryset = date_range(
        queryset,
        "created_at",
        filters.created_after,
        filters.created_before,
        ("created_after", "created_before"),
    )
    rows, cursor = keyset_page(queryset, filters, field="created_at")
    return {"results": [_subscription(s, user.pk) for s in rows], "next_cursor": cursor}


def _visible(request, subscription_id: int, *params) -> Subscription:
    found = _subscriptions_of(api_user(request, *params).pk).filter(pk=subscription_id).first()
    if found is None:
        raise Http404
    return found


@router.get(
    "/subscriptions/{subscription_id}",
    response=responses(SubscriptionOut),
    summary="One subscription (of my plans, or my own)",
    **READ,
)
def subscriptions_detail(request, subscription_id: int = Path(..., ge=1, le=ID_MAX)):
    return _subscription(_visible(request, subscription_id), api_user(request).pk)


RecurrenceStatus = Literal[
    "scheduled", "collecting", "pending", "paid", "needs_attention", "unpaid", "canceled"
]


class RecurrenceOut(Out):
    id: int
    subscription_id: int
    number: int = Field(..., description="1 is the first installment.")
    due_date: str
    amount: Money
    status: RecurrenceStatus
    attempts_made: int
    next_attempt_at: str | None
    paid_at: str | None
    sale_id: int | None = Field(..., description="The sale that records its payment.")
    created_at: str


RecurrencePage = page_of(RecurrenceOut, "RecurrencePage")


def _recurrence(recurrence: Recurrence, currency: str) -> dict:
    return {
        "id": recurrence.pk,
        "subscription_id": recurrence.subscription_id,
        "number": recurrence.number,
        "due_date": recurrence.due_date.isoformat(),
        "amount": money(recurrence.amount_minor, currency),
        "status": recurrence.status,
        "attempts_made": recurrence.attempts_made,
        "next_attempt_at": iso(recurrence.next_attempt_at),
        "paid_at": iso(recurrence.paid_at),
        "sale_id": recurrence.sale_id,
        "created_at": iso(recurrence.created_at),
    }


def recurrence_resource(recurrence: Recurrence, viewer_id: int) -> dict:
    """The recurrence as GET /subscriptions/{id}/recurrences lists it, for the producer or the
    buyer of its subscription; NotVisible for anyone else."""
    subscription = _subscriptions_of(viewer_id).filter(pk=recurrence.subscription_id).first()
    if subscription is None:
        raise NotVisible
    return _recurrence(recurrence, subscription.product.currency)


@router.get(
    "/subscriptions/{subscription_id}/recurrences",
    response=responses(RecurrencePage),
    summary="A subscription's recurrences (charges), the latest first",
    **READ,
)
def subscriptions_recurrences(
    request, filters: Query[PageParams], subscription_id: int = Path(..., ge=1, le=ID_MAX)
):
    subscription = _visible(request, subscription_id, PageParams)
    queryset = subscription.recurrences.all()
    rows, cursor = keyset_page(queryset, filters, field="number")
    currency = subscription.product.currency
    return {"results": [_recurrence(r, currency) for r in rows], "next_cursor": cursor}
