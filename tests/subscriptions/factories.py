"""Subscription builders and the billing-day simulator the subscription tests share.

`subscribe()` goes through the real checkout service; `SubscriptionFactory` writes a row in any
status directly, for tests that need a state the services would take days to reach."""

import uuid
from datetime import UTC, date, datetime, time, timedelta

import factory
import time_machine
from django.utils import timezone

from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, SimulatedGatewayCharge
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.billing import (
    payments_expire,
    recurrences_collect,
    recurrences_create_due,
)
from subscriptions.services.subscribe import subscription_start
from tests.factories import PlanFactory, UserFactory, checkout_token

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT = "4000000000009995"
ERROR = "4000000000000119"
TIMEOUT = "4000000000000259"

NOON = time(12, 0)


def at(day: date, clock: time = NOON) -> datetime:
    return datetime.combine(day, clock, tzinfo=UTC)


def subscribe(plan=None, buyer=None, *, method="card", country="BR", token=APPROVED, **extra):
    """Subscribe through the checkout service with a fresh checkout form (`checkout_key` names
    a form: the same name for the same buyer is the same form submitted again)."""
    plan = plan or PlanFactory()
    buyer = buyer or UserFactory()
    return subscription_start(
        plan=plan,
        buyer=buyer,
        method=method,
        country=country,
        token=token,
        affiliate_code=extra.pop("affiliate_code", None),
        checkout_token=extra.pop("checkout_token", None)
        or checkout_token(buyer, extra.pop("checkout_key", uuid.uuid4().hex)),
        **extra,
    )


def subscribe_on(day: date, plan=None, buyer=None, **kwargs) -> Subscription:
    """Subscribe at noon UTC on `day`."""
    with time_machine.travel(at(day), tick=False):
        return subscribe(plan, buyer, **kwargs)


def run_billing_day(day: date, clock: time = NOON) -> None:
    """What celery-beat does in a day, in order: create due recurrences, collect, expire."""
    with time_machine.travel(at(day, clock), tick=False):
        recurrences_create_due(today=day)
        recurrences_collect()
        payments_expire()


def run_billing(start: date, end: date, *, before_each_day=None) -> None:
    """Every day from `start` to `end` inclusive; `before_each_day(day)` may change things."""
    day = start
    while day <= end:
        if before_each_day is not None:
            before_each_day(day)
        run_billing_day(day)
        day += timedelta(days=1)


def counts() -> dict[str, int]:
    """Everything billing writes, to compare before and after re-running the tasks."""
    return {
        "recurrences": Recurrence.objects.count(),
        "attempts": PaymentAttempt.objects.count(),
        "gateway": SimulatedGatewayCharge.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "paid": Recurrence.objects.filter(status=Recurrence.Status.PAID).count(),
    }


def rerun_all_tasks(day: date) -> None:
    """Each beat task again, twice, as a duplicated delivery would."""
    from subscriptions import tasks

    with time_machine.travel(at(day, time(23, 0)), tick=False):
        for _ in range(2):
            tasks.create_due_recurrences()
            tasks.collect_recurrences()
            tasks.expire_payments()


def charges_for(recurrence: Recurrence, kind: str = "charge"):
    keys = recurrence.sale.attempts.values_list("idempotency_key", flat=True)
    if kind == "refund":
        keys = [f"void-{key}" for key in keys]
    return SimulatedGatewayCharge.objects.filter(idempotency_key__in=list(keys), kind=kind)


def assert_ledger_balances() -> None:
    """Every paid recurrence's ledger split sums to exactly what was paid."""
    from django.db.models import Sum

    for recurrence in Recurrence.objects.filter(status=Recurrence.Status.PAID).select_related(
        "sale"
    ):
        total = LedgerEntry.objects.filter(
            sale=recurrence.sale, entry_type=LedgerEntry.EntryType.SPLIT
        ).aggregate(total=Sum("amount_minor"))["total"]
        assert total == recurrence.amount_minor == recurrence.sale.amount_minor, recurrence


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscription row in any status (Initiated by default), with no recurrences."""

    class Meta:
        model = Subscription

    plan = factory.SubFactory(PlanFactory)
    product = factory.LazyAttribute(lambda o: o.plan.product)
    buyer = factory.SubFactory(UserFactory)
    status = Subscription.Status.INITIATED
    method = "card"
    country = "BR"
    payment_token = APPROVED
    payment_label = "Card •••• 4242"
    anchor_date = factory.LazyFunction(lambda: timezone.now().date())
    last_number = 1
    checkout_key = factory.LazyFunction(lambda: uuid.uuid4().hex)
