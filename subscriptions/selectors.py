"""Reads for subscription screens."""

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from products.models import PaymentAttempt
from subscriptions.models import Recurrence, Subscription


def subscriptions_for_buyer(*, buyer: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(buyer=buyer).select_related("product", "plan")


def subscription_for_buyer(*, buyer: User, pk: int) -> Subscription:
    return get_object_or_404(
        Subscription.objects.select_related("product__producer", "plan").prefetch_related(
            Prefetch(
                "recurrences",
                queryset=Recurrence.objects.select_related("sale").prefetch_related(
                    Prefetch("sale__attempts", queryset=PaymentAttempt.objects.order_by("number"))
                ),
            ),
            "events__actor",
        ),
        pk=pk,
        buyer=buyer,
    )


def subscribers_for_product(*, product, status: str = "") -> QuerySet[Subscription]:
    queryset = product.subscriptions.select_related("buyer", "plan").prefetch_related(
        Prefetch("recurrences", queryset=Recurrence.objects.order_by("number"))
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-pk")
