"""Rows the dashboard tests build in bulk: paid sales split by the real ledger service,
recurrences in any state, cash slips, and the number of queries a dashboard costs."""

import uuid
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coproduction.services.ledger import ledger_write_splits
from products.models import PaymentAttempt, Sale
from subscriptions.models import Recurrence, Subscription
from tests.factories import UserFactory
from tests.subscriptions.factories import SubscriptionFactory

DASHBOARD = reverse("dashboard")


def paid(product, count: int = 1, *, amount_minor: int | None = None, buyer=None, at=None):
    """`count` paid sales of `product` (at `at`, default now), split by the ledger service."""
    buyer = buyer or UserFactory()
    moment = at or timezone.now()
    sales = Sale.objects.bulk_create(
        Sale(
            product=product,
            buyer=buyer,
            amount_minor=amount_minor or product.price_minor or 10000,
            currency=product.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            created_at=moment,
            paid_at=moment,
        )
        for _ in range(count)
    )
    # The ledger's lines carry the sale's paid_at: the month they count in.
    assert ledger_write_splits(sale_ids=[s.pk for s in sales]) == count
    return sales


def recurrence(
    subscription: Subscription,
    *,
    number: int = 2,
    status: str = Recurrence.Status.SCHEDULED,
    window_closes_at=None,
    amount_minor: int | None = None,
    slip_code: str = "",
    slip_expires_at=None,
    next_attempt_at=None,
) -> Recurrence:
    """Installment `number` of `subscription` (its sale waiting for payment), in any state."""
    amount = amount_minor or subscription.plan.price_minor
    sale = Sale.objects.create(
        product=subscription.product,
        buyer=subscription.buyer,
        subscription=subscription,
        amount_minor=amount,
        currency=subscription.product.currency,
        method=subscription.method,
        country=subscription.country,
        checkout_key=uuid.uuid4().hex,
    )
    return Recurrence.objects.create(
        subscription=subscription,
        number=number,
        due_date=timezone.localdate(),
        amount_minor=amount,
        status=status,
        sale=sale,
        attempts_made=1,
        window_closes_at=window_closes_at or timezone.now() + timedelta(days=5),
        slip_code=slip_code,
        slip_expires_at=slip_expires_at,
        next_attempt_at=next_attempt_at,
    )


def first_paid(subscription: Subscription, when) -> Subscription:
    """Its first installment was paid at `when` (the start churn counts from)."""
    recurrence(subscription, number=1, status=Recurrence.Status.PAID)
    Recurrence.objects.filter(subscription=subscription, number=1).update(paid_at=when)
    return subscription


def one_time_slip(product, buyer, *, started_at=None) -> Sale:
    """A one-time purchase by Boleto whose slip was issued (its attempt waits for payment)."""
    sale = Sale.objects.create(
        product=product,
        buyer=buyer,
        amount_minor=product.price_minor,
        currency=product.currency,
        method="boleto",
        country="BR",
        checkout_key=uuid.uuid4().hex,
    )
    PaymentAttempt.objects.create(
        sale=sale,
        number=1,
        idempotency_key=uuid.uuid4().hex,
        amount_minor=sale.amount_minor,
        method="boleto",
        status=PaymentAttempt.Status.PENDING,
        gateway_reference=f"slip-{uuid.uuid4().hex[:12]}",
        started_at=started_at or timezone.now(),
    )
    return sale


def recurrence_slip(buyer, plan, **extra) -> Recurrence:
    """An Active boleto subscription whose next installment's slip waits to be paid."""
    subscription = SubscriptionFactory(
        plan=plan, buyer=buyer, status=Subscription.Status.ACTIVE, method="boleto", **extra
    )
    return recurrence(
        subscription,
        status=Recurrence.Status.PENDING,
        slip_code=f"34191.{uuid.uuid4().hex[:10]}",
        slip_expires_at=timezone.now() + timedelta(days=2),
    )


def dashboard_queries(client, user) -> tuple[int, str]:
    """How many queries the dashboard costs this user, and its HTML."""
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    return len(queries), response.content.decode()
