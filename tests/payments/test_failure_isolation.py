"""One bad charge never blocks the others (issue 8, finding 3): a billing batch of 500 where
one sale's split is made to fail records 499 in that run, parks the one in needs attention
with its error, and calls the gateway once per recurrence. The admin records it again after
the fix. And a due recurrence that cannot be created never stops the others (finding 1)."""

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, Sum
from django.urls import reverse

from coproduction.models import LedgerEntry
from coproduction.services import ledger
from products.models import Sale, SimulatedGatewayCharge
from products.payments import keys
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.billing import recurrences_collect, recurrences_create_due
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.factories import APPROVED, at

pytestmark = pytest.mark.django_db

DUE = date(2025, 2, 10)


def due_subscriptions(n: int) -> list[Subscription]:
    plan = PlanFactory(price_minor=4990)
    buyer = UserFactory()
    return Subscription.objects.bulk_create(
        [
            Subscription(
                product=plan.product,
                plan=plan,
                buyer=buyer,
                status=Subscription.Status.ACTIVE,
                method="card",
                country="BR",
                payment_token=APPROVED,
                anchor_date=date(2025, 1, 10),
                last_number=1,
                paid_count=1,
                next_charge_date=DUE,
                checkout_key=f"iso-{i}",
            )
            for i in range(n)
        ]
    )


@pytest.fixture
def broken_split(monkeypatch):
    """The split of one chosen sale raises (a bug in a contract's data, say)."""
    original = ledger.split_entries
    broken: set[int] = set()

    def split_entries(sale, contracts):
        if sale.pk in broken:
            raise ValueError(f"bad split for sale {sale.pk}")
        return original(sale, contracts)

    monkeypatch.setattr(ledger, "split_entries", split_entries)
    return broken


def test_a_batch_of_500_with_one_bad_split_records_499_and_parks_one(broken_split):
    subscriptions = due_subscriptions(500)
    with time_machine.travel(at(DUE), tick=False):
        assert recurrences_create_due(today=DUE) == 500
        bad = Recurrence.objects.filter(subscription=subscriptions[137]).get()
        broken_split.add(bad.sale_id)
        assert recurrences_collect() == 500

    recurrences = Recurrence.objects.filter(number=2)
    assert recurrences.filter(status=Recurrence.Status.PAID).count() == 499
    bad.refresh_from_db()
    assert bad.status == Recurrence.Status.NEEDS_ATTENTION
    sale = Sale.objects.get(pk=bad.sale_id)
    assert sale.status == Sale.Status.NEEDS_ATTENTION
    assert "bad split for sale" in sale.attention_error
    assert sale.paid_at is not None  # recorded as charged
    assert sale.attempts.get().status == "approved"
    # Once per recurrence at the gateway, each key once.
    charges = SimulatedGatewayCharge.objects.filter(kind="charge")
    assert charges.count() == 500
    assert charges.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    # The 499 are split whole; the parked one has no entries yet.
    paid = Sale.objects.filter(recurrence__in=recurrences, status=Sale.Status.PAID)
    assert paid.count() == 499
    assert LedgerEntry.objects.filter(sale__in=paid).aggregate(t=Sum("amount_minor"))["t"] == (
        499 * 4990
    )
    assert not LedgerEntry.objects.filter(sale=sale).exists()
    # The next runs neither charge it again nor stop on it.
    with time_machine.travel(at(DUE) + timedelta(hours=1), tick=False):
        assert recurrences_collect() == 0
    assert SimulatedGatewayCharge.objects.filter(kind="charge").count() == 500


def test_the_admin_records_a_parked_sale_again_after_the_fix(broken_split, client):
    (subscription,) = due_subscriptions(1)
    with time_machine.travel(at(DUE), tick=False):
        recurrences_create_due(today=DUE)
        recurrence = Recurrence.objects.get(subscription=subscription)
        broken_split.add(recurrence.sale_id)
        recurrences_collect()
    sale = Sale.objects.get(pk=recurrence.sale_id)
    assert sale.needs_attention
    listed = client.get(
        reverse("admin:products_sale_changelist"), {"status__exact": "needs_attention"}
    )
    assert listed.status_code == 302  # admins only (login page)

    broken_split.clear()  # the fix
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    listed = client.get(
        reverse("admin:products_sale_changelist"), {"status__exact": "needs_attention"}
    )
    assert listed.context["cl"].result_count == 1
    client.post(
        reverse("admin:products_sale_changelist"),
        {"action": "record_again", ACTION_CHECKBOX_NAME: [sale.pk]},
    )
    sale.refresh_from_db()
    recurrence.refresh_from_db()
    subscription.refresh_from_db()
    assert (sale.status, sale.attention_error) == (Sale.Status.PAID, "")
    assert recurrence.status == Recurrence.Status.PAID
    assert subscription.paid_count == 2
    total = LedgerEntry.objects.filter(sale=sale).aggregate(t=Sum("amount_minor"))["t"]
    assert total == sale.amount_minor
    assert SimulatedGatewayCharge.objects.filter(kind="charge").count() == 1


def test_a_due_recurrence_that_cannot_be_created_never_stops_the_others():
    """A pending sale already holding a recurrence's key (as a forged checkout could make
    before keys were the server's) fails its own row only; the rest of the batch is created,
    run after run."""
    subscriptions = due_subscriptions(20)
    blocked = subscriptions[3]
    Sale.objects.create(
        product=blocked.product,
        buyer=UserFactory(),
        amount_minor=100,
        currency="BRL",
        method="card",
        country="BR",
        checkout_key=keys.recurrence_key(subscription_id=blocked.pk, number=2),
    )
    for _ in range(3):
        recurrences_create_due(today=DUE)
    assert Recurrence.objects.count() == 19
    assert not Recurrence.objects.filter(subscription=blocked).exists()


def test_nothing_a_buyer_submits_can_become_a_recurrence_key():
    """Finding 1: the public checkout accepted any string as its key; a declined checkout with
    the next recurrence's key stopped all billing. Now a checkout key is made on the server
    from a token it issued to that buyer, in its own namespace."""
    buyer = UserFactory()
    for forged in ("sub-1-2", "rec-1-2", "sale-1-attempt-1", "", "x" * 500):
        with pytest.raises(Exception, match="not valid any more"):
            keys.checkout_key(buyer_id=buyer.pk, token=forged)
    token = keys.checkout_token_new(buyer_id=buyer.pk)
    key = keys.checkout_key(buyer_id=buyer.pk, token=token)
    assert key.startswith(f"co-{buyer.pk}-")
    assert not key.startswith(("rec-", "sale-", "sub-"))
    with pytest.raises(Exception, match="not valid any more"):
        keys.checkout_key(buyer_id=buyer.pk + 1, token=token)
