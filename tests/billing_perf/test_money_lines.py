"""A billing batch writes its money lines per batch, not per charge: one `charge_attempt` for
the batch and one `charge` per outcome and currency, each listing its sales and attempts and
adding up its amount, so every charge of a sale can still be found in the logs."""

import logging
from datetime import date

import pytest
import time_machine

from products.models import PaymentAttempt
from subscriptions.models import Subscription
from subscriptions.services.billing import recurrences_collect, recurrences_create_due
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.factories import APPROVED, DECLINED, at

pytestmark = pytest.mark.django_db

DUE = date(2025, 2, 10)


def due(tokens: list[str]) -> list[Subscription]:
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
                payment_token=token,
                anchor_date=date(2025, 1, 10),
                last_number=1,
                paid_count=1,
                next_charge_date=DUE,
                checkout_key=f"lines-{i}",
            )
            for i, token in enumerate(tokens)
        ]
    )


def money(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "coprod.money"]


def test_a_billing_batch_writes_one_attempt_line_and_one_charge_line_per_outcome(caplog):
    due([APPROVED, APPROVED, APPROVED, DECLINED])
    with time_machine.travel(at(DUE), tick=False), caplog.at_level(logging.INFO, "coprod.money"):
        recurrences_create_due()
        recurrences_collect()

    attempts = {a.sale_id: a for a in PaymentAttempt.objects.all()}
    lines = money(caplog)
    [started] = [r for r in lines if r.event == "charge_attempt"]
    assert sorted(started.sales) == sorted(attempts)
    assert (started.attempts, started.amount_minor, started.methods) == (4, 4 * 4990, {"card": 4})
    charges = {r.outcome: r for r in lines if r.event == "charge"}
    assert set(charges) == {"approved", "declined"}
    by_outcome = {"approved": [], "declined": []}
    for sale_id, attempt in attempts.items():
        by_outcome[attempt.status].append(sale_id)
    for outcome, sales in by_outcome.items():
        line = charges[outcome]
        assert sorted(line.sales) == sorted(sales)
        assert sorted(line.attempts) == sorted(attempts[s].pk for s in sales)
        assert (line.amount_minor, line.currency) == (4990 * len(sales), "BRL")
    [ledger] = [r for r in lines if r.event == "ledger"]
    assert sorted(ledger.sales) == sorted(by_outcome["approved"])


def test_a_batch_of_one_keeps_the_single_charge_fields(caplog):
    due([APPROVED])
    with time_machine.travel(at(DUE), tick=False), caplog.at_level(logging.INFO, "coprod.money"):
        recurrences_create_due()
        recurrences_collect()

    [attempt] = PaymentAttempt.objects.all()
    lines = money(caplog)
    [started] = [r for r in lines if r.event == "charge_attempt"]
    assert (started.sale, started.amounts, started.method) == (attempt.sale_id, (4990,), "card")
    [charge] = [r for r in lines if r.event == "charge"]
    assert (charge.sale, charge.attempt) == (attempt.sale_id, attempt.pk)
    assert charge.outcome == "approved"
