"""Races on PostgreSQL: two real threads, each on its own connection, run the billing steps
at the same moment over the same rows. SKIP LOCKED claims, the lease and the unique
(subscription, number) constraint must make every recurrence created once, charged once and
split once, whatever the interleaving."""

import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, Sale, SimulatedGatewayCharge
from products.payments import gateway as gateway_module
from subscriptions import tasks
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import due_date
from subscriptions.services.billing import (
    recurrence_build,
    recurrences_collect,
    recurrences_create_due,
)
from tests import concurrency
from tests.concurrency import errors
from tests.coproduction.factories import ContractFactory, terms_of_use
from tests.factories import PlanFactory, ProductFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

S = Subscription.Status
R = Recurrence.Status
SUBSCRIBERS = 50
MISSED = 3  # periods each subscription is behind: a catch-up makes three recurrences each


@pytest.fixture(autouse=True)
def published_terms():
    # A transactional test's flush removes the migration's rows; put the terms back.
    return terms_of_use()


@pytest.fixture(autouse=True)
def slow_gateway(monkeypatch):
    """Hold each worker inside the gateway call so the other one runs meanwhile."""
    original = gateway_module.SimulatedGateway.charge_many

    def charge_many(self, requests):
        time.sleep(0.02)
        return original(self, requests)

    monkeypatch.setattr(gateway_module.SimulatedGateway, "charge_many", charge_many)


def run_together(*calls) -> list:
    """Each call in its own thread, all released at once; none of them may fail."""
    results = concurrency.run_together(*calls)
    assert not errors(results), errors(results)
    return results


def behind_subscriptions() -> list[Subscription]:
    """SUBSCRIBERS active monthly subscriptions, each MISSED installments behind, on one
    product with an affiliate-free 10 % cocreator contract (so each split has 4 lines)."""
    product = ProductFactory(subscription=True)
    ContractFactory(product=product, active=True)
    plan = PlanFactory(product=product, price_minor=4990)
    today = timezone.now().date()
    anchor = today - timedelta(days=31 * MISSED + 1)
    return [
        SubscriptionFactory(
            plan=plan,
            status=S.ACTIVE,
            anchor_date=anchor,
            last_number=1,
            paid_count=1,
            next_charge_date=due_date(anchor, "monthly", 2),
        )
        for _ in range(SUBSCRIBERS)
    ]


def scheduled_recurrences() -> list[Recurrence]:
    """One recurrence due now for each of SUBSCRIBERS active subscriptions."""
    subscriptions = behind_subscriptions()
    now = timezone.now() - timedelta(minutes=1)
    created = []
    for subscription in subscriptions:
        sale, recurrence = recurrence_build(
            subscription=subscription,
            number=2,
            due=now.date(),
            amount_minor=4990,
            now=now,
        )
        sale.save()
        recurrence.sale = sale
        recurrence.save()
        created.append(recurrence)
    Subscription.objects.update(next_charge_date=None)  # only these recurrences are due
    return created


def assert_created_once(expected_per_subscription: int) -> None:
    per_number = (
        Recurrence.objects.values("subscription_id", "number")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not per_number.exists()
    per_subscription = set(
        Recurrence.objects.values("subscription_id")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    )
    assert per_subscription == {expected_per_subscription}
    assert set(Subscription.objects.values_list("last_number", flat=True)) == {
        1 + expected_per_subscription
    }


def assert_charged_and_split_once(recurrence_count: int, *, paid_count: int) -> None:
    recurrences = Recurrence.objects.select_related("sale")
    assert recurrences.count() == recurrence_count
    assert set(recurrences.values_list("status", flat=True)) == {R.PAID}
    keys = list(PaymentAttempt.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == recurrence_count  # one attempt per recurrence
    assert SimulatedGatewayCharge.objects.filter(idempotency_key__in=keys).count() == (
        recurrence_count
    )
    assert SimulatedGatewayCharge.objects.count() == recurrence_count
    lines = set(
        LedgerEntry.objects.values("sale_id").annotate(n=Count("pk")).values_list("n", flat=True)
    )
    assert lines == {3}  # platform, cocreator, producer: written once per sale
    assert LedgerEntry.objects.values("sale_id").distinct().count() == recurrence_count
    for recurrence in recurrences:
        total = sum(
            LedgerEntry.objects.filter(sale=recurrence.sale).values_list("amount_minor", flat=True)
        )
        assert total == recurrence.amount_minor
    assert set(Sale.objects.values_list("status", flat=True)) == {Sale.Status.PAID}
    # Each payment counted once on its subscription (a double settle would add 2).
    assert set(Subscription.objects.values_list("paid_count", flat=True)) == {paid_count}


def test_two_workers_create_each_due_recurrence_once():
    behind_subscriptions()
    today = timezone.now().date()

    results = run_together(
        lambda: recurrences_create_due(today=today, batch_size=7),
        lambda: recurrences_create_due(today=today, batch_size=7),
    )

    assert sum(results) == SUBSCRIBERS * MISSED
    assert_created_once(MISSED)


def test_two_workers_collect_each_recurrence_once():
    scheduled_recurrences()

    results = run_together(
        lambda: recurrences_collect(batch_size=5),
        lambda: recurrences_collect(batch_size=5),
    )

    assert sum(results) == SUBSCRIBERS
    assert all(results), "both workers should have had work: the race did not happen"
    assert_charged_and_split_once(SUBSCRIBERS, paid_count=2)


def test_catch_up_created_and_collected_by_two_workers_at_once():
    """Both workers create then collect: several recurrences of one subscription may be in
    different workers' batches at the same time."""
    behind_subscriptions()
    today = timezone.now().date()

    def beat():
        created = recurrences_create_due(today=today, batch_size=7)
        return created, recurrences_collect(batch_size=4)

    results = run_together(beat, beat)

    assert sum(created for created, _ in results) == SUBSCRIBERS * MISSED
    assert_created_once(MISSED)
    assert_charged_and_split_once(SUBSCRIBERS * MISSED, paid_count=1 + MISSED)


def test_a_task_delivered_twice_at_once_creates_and_charges_once():
    behind_subscriptions()

    run_together(tasks.create_due_recurrences, tasks.create_due_recurrences)
    assert_created_once(MISSED)
    run_together(tasks.collect_recurrences, tasks.collect_recurrences)
    run_together(tasks.expire_payments, tasks.expire_payments)

    assert_charged_and_split_once(SUBSCRIBERS * MISSED, paid_count=1 + MISSED)
