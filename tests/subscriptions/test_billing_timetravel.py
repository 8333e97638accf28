"""Billing over months of simulated days: each day the beat tasks run in order (create due
recurrences, collect, expire) at noon UTC under time-machine. Every scenario ends by running
every task again and checking nothing more is created or charged, and that every paid
recurrence's ledger split sums to what was paid."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from accounts.exceptions import DomainError
from coproduction.models import Contract, LedgerEntry
from coproduction.services.changes import change_request_accept
from coproduction.services.contracts import contract_accept, contract_cancel, contract_invite
from coproduction.services.ledger import ledger_write_splits
from products.models import PaymentAttempt, Plan, Sale, SimulatedGatewayCharge
from products.payments import gateway as gateway_module
from products.payments import services as payments
from subscriptions.models import Recurrence, Subscription
from subscriptions.services import billing
from subscriptions.services.lifecycle import UNPAID_LIMIT_REASON
from subscriptions.services.subscribe import subscription_update_payment
from subscriptions.services.webhooks import webhook_handle
from tests.coproduction.factories import invite_fields, terms_of_use
from tests.factories import PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import (
    APPROVED,
    DECLINED,
    TIMEOUT,
    assert_ledger_balances,
    at,
    charges_for,
    counts,
    rerun_all_tasks,
    run_billing,
    run_billing_day,
    subscribe_on,
)

pytestmark = pytest.mark.django_db

S = Subscription.Status
R = Recurrence.Status


def recurrences(subscription) -> list[Recurrence]:
    return list(subscription.recurrences.select_related("sale").order_by("number"))


def set_token(subscription, token: str) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(payment_token=token)


def statuses(subscription) -> list[str]:
    return [event.to_status for event in subscription.events.order_by("created_at", "pk")]


def assert_nothing_more_happens(day: date) -> None:
    """Every beat task again (twice, as a duplicated delivery would): nothing changes."""
    before = counts()
    rerun_all_tasks(day)
    assert counts() == before
    assert_ledger_balances()


@pytest.fixture
def gateway_requests(monkeypatch):
    """Every ChargeRequest the billing run sends (the simulator keeps no tokens)."""
    sent = []
    original = gateway_module.SimulatedGateway.charge_many

    def charge_many(self, requests):
        sent.extend(requests)
        return original(self, requests)

    monkeypatch.setattr(gateway_module.SimulatedGateway, "charge_many", charge_many)
    return sent


# ------------------------------------------------------------------------------ schedule


def test_fourteen_months_on_a_month_end_anchor_with_a_promo_first_installment():
    plan = PlanFactory(price_minor=4990, promo_first_price_minor=990)
    subscription = subscribe_on(date(2025, 1, 31), plan)

    run_billing(date(2025, 2, 1), date(2026, 3, 31))

    rows = recurrences(subscription)
    assert [r.due_date for r in rows] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
        date(2025, 7, 31),
        date(2025, 8, 31),
        date(2025, 9, 30),
        date(2025, 10, 31),
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    assert [r.amount_minor for r in rows] == [990] + [4990] * 14
    assert {r.status for r in rows} == {R.PAID}
    assert all(r.paid_at.date() == r.due_date for r in rows)  # charged on the day, not later
    assert all(charges_for(r).count() == 1 for r in rows)
    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE
    assert subscription.paid_count == 15
    assert subscription.next_charge_date == date(2026, 4, 30)
    assert statuses(subscription) == [S.ACTIVE]
    assert_nothing_more_happens(date(2026, 3, 31))


def test_leap_year_month_end_anchor():
    subscription = subscribe_on(date(2024, 1, 31), PlanFactory())
    run_billing(date(2024, 2, 1), date(2024, 4, 30))
    assert [r.due_date for r in recurrences(subscription)] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    assert_nothing_more_happens(date(2024, 4, 30))


def test_weekly_plan_charges_on_the_same_weekday():
    subscription = subscribe_on(date(2025, 3, 5), PlanFactory(periodicity=Plan.Periodicity.WEEKLY))
    run_billing(date(2025, 3, 6), date(2025, 5, 31))
    rows = recurrences(subscription)
    assert len(rows) == 13
    assert {r.due_date.weekday() for r in rows} == {date(2025, 3, 5).weekday()}
    assert {r.status for r in rows} == {R.PAID}
    assert_nothing_more_happens(date(2025, 5, 31))


def test_missed_days_are_caught_up_once():
    """The beat was down for three months: one run creates and charges each missed
    installment once, on its own due date."""
    subscription = subscribe_on(date(2025, 1, 15), PlanFactory())
    run_billing_day(date(2025, 4, 20))
    rows = recurrences(subscription)
    assert [r.due_date for r in rows] == [
        date(2025, 1, 15),
        date(2025, 2, 15),
        date(2025, 3, 15),
        date(2025, 4, 15),
    ]
    assert {r.status for r in rows} == {R.PAID}
    assert SimulatedGatewayCharge.objects.count() == 4
    subscription.refresh_from_db()
    assert subscription.paid_count == 4
    assert subscription.next_charge_date == date(2025, 5, 15)
    assert_nothing_more_happens(date(2025, 4, 20))


# ---------------------------------------------------------------------------- two cards


def test_two_cards_split_the_first_payment_only(gateway_requests):
    plan = PlanFactory(price_minor=4990)
    subscription = subscribe_on(
        date(2025, 1, 10),
        plan,
        token=APPROVED,
        second_token="tok_approved",
        second_amount_minor=990,
    )
    run_billing(date(2025, 1, 11), date(2025, 4, 30))

    first, *later = recurrences(subscription)
    assert sorted(c.amount_minor for c in charges_for(first)) == [990, 4000]
    assert {c.outcome for c in charges_for(first)} == {"approved"}
    assert len(later) == 3
    for recurrence in later:
        (charge,) = charges_for(recurrence)
        assert (charge.amount_minor, charge.outcome) == (4990, "approved")
    later_keys = {a.idempotency_key for r in later for a in r.sale.attempts.all()}
    sent_later = [req for req in gateway_requests if req.idempotency_key in later_keys]
    assert len(sent_later) == 3
    assert {req.token for req in sent_later} == {APPROVED}  # card 1, in full
    assert_nothing_more_happens(date(2025, 4, 30))


def test_second_card_declined_refunds_the_first_and_the_subscription_lapses():
    plan = PlanFactory(price_minor=4990)
    buyer = UserFactory()
    with pytest.raises(DomainError, match="declined"):
        subscribe_on(
            date(2025, 1, 10), plan, buyer, second_token=DECLINED, second_amount_minor=1000
        )
    subscription = Subscription.objects.get(buyer=buyer)
    assert subscription.status == S.INITIATED
    (recurrence,) = recurrences(subscription)
    assert charges_for(recurrence, kind="refund").get().amount_minor == 3990

    run_billing(date(2025, 1, 11), date(2025, 3, 31))

    # Never retried automatically: the buyer did not finish paying, so it lapses.
    subscription.refresh_from_db()
    assert subscription.status == S.INACTIVE
    (recurrence,) = recurrences(subscription)
    assert recurrence.status == R.UNPAID
    assert recurrence.sale.status == Sale.Status.EXPIRED
    assert SimulatedGatewayCharge.objects.filter(kind="charge").count() == 2
    assert not LedgerEntry.objects.exists()
    assert_nothing_more_happens(date(2025, 3, 31))


# ------------------------------------------------------------------------- installments


@pytest.mark.parametrize(
    ("periodicity", "installments", "start", "end"),
    [
        (Plan.Periodicity.MONTHLY, 3, date(2025, 1, 31), date(2026, 3, 31)),
        (Plan.Periodicity.WEEKLY, 2, date(2025, 1, 1), date(2025, 6, 30)),
        (Plan.Periodicity.QUARTERLY, 4, date(2025, 1, 1), date(2026, 3, 1)),
    ],
)
def test_n_installments_expire_after_the_nth_payment(periodicity, installments, start, end):
    plan = PlanFactory(periodicity=periodicity, installments=installments)
    subscription = subscribe_on(start, plan)
    run_billing(start + timedelta(days=1), end)

    rows = recurrences(subscription)
    assert [r.number for r in rows] == list(range(1, installments + 1))
    assert {r.status for r in rows} == {R.PAID}
    subscription.refresh_from_db()
    assert subscription.status == S.EXPIRED
    assert subscription.paid_count == installments
    assert subscription.next_charge_date is None
    assert subscription.ended_at.date() == rows[-1].due_date
    assert statuses(subscription) == [S.ACTIVE, S.EXPIRED]
    assert SimulatedGatewayCharge.objects.count() == installments
    assert_nothing_more_happens(end)


def test_free_first_installment_then_full_price():
    plan = PlanFactory(price_minor=4990, promo_first_price_minor=0, installments=3)
    subscription = subscribe_on(date(2025, 1, 10), plan)
    assert subscription.status == S.ACTIVE

    run_billing(date(2025, 1, 11), date(2025, 6, 30))

    rows = recurrences(subscription)
    assert [(r.number, r.amount_minor, r.status) for r in rows] == [
        (2, 4990, R.PAID),
        (3, 4990, R.PAID),
    ]
    subscription.refresh_from_db()
    assert subscription.status == S.EXPIRED  # three installments, the first one free
    assert_nothing_more_happens(date(2025, 6, 30))


# ------------------------------------------------------------------- declines and retries


def test_declined_card_is_overdue_until_a_retry_pays():
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())

    def cards(day):
        if day == date(2025, 2, 10):
            set_token(subscription, DECLINED)
        if day == date(2025, 2, 12):  # after the first retry, before the second
            set_token(subscription, APPROVED)

    run_billing(date(2025, 1, 11), date(2025, 3, 31), before_each_day=cards)

    second = recurrences(subscription)[1]
    attempts = list(second.sale.attempts.order_by("number"))
    assert [a.status for a in attempts] == ["declined", "declined", "approved"]
    assert [a.started_at.date() for a in attempts] == [
        date(2025, 2, 10),
        date(2025, 2, 11),
        date(2025, 2, 13),
    ]
    assert second.status == R.PAID
    assert charges_for(second).filter(outcome="approved").count() == 1
    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE
    # Seed 002: a declined charge makes it Overdue at once; the retry's payment brings it back.
    assert statuses(subscription) == [S.ACTIVE, S.OVERDUE, S.ACTIVE]
    assert subscription.consecutive_unpaid == 0
    assert_nothing_more_happens(date(2025, 3, 31))


def test_new_card_is_tried_at_the_next_run_not_the_next_retry_day():
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    set_token(subscription, DECLINED)
    run_billing(date(2025, 1, 11), date(2025, 2, 11))  # declined on the 10th and the 11th

    with time_machine.travel(at(date(2025, 2, 11), time(18, 0)), tick=False):
        subscription_update_payment(
            subscription=subscription, actor=subscription.buyer, method="card", token=APPROVED
        )
    run_billing_day(date(2025, 2, 12))  # the schedule's next retry would be the 13th

    second = recurrences(subscription)[1]
    assert second.status == R.PAID
    assert second.paid_at.date() == date(2025, 2, 12)
    assert [a.status for a in second.sale.attempts.order_by("number")] == [
        "declined",
        "declined",
        "approved",
    ]
    assert_nothing_more_happens(date(2025, 2, 12))


def test_declined_on_every_retry_goes_overdue_then_a_payment_brings_it_back():
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())

    def cards(day):
        if day == date(2025, 2, 10):
            set_token(subscription, DECLINED)
        if day == date(2025, 3, 1):
            set_token(subscription, APPROVED)

    run_billing(date(2025, 1, 11), date(2025, 3, 31), before_each_day=cards)

    first, second, third = recurrences(subscription)
    assert (first.status, second.status) == (R.PAID, R.UNPAID)
    assert [a.started_at.date() for a in second.sale.attempts.order_by("number")] == [
        date(2025, 2, 10),
        date(2025, 2, 11),
        date(2025, 2, 13),
        date(2025, 2, 15),
    ]
    assert not charges_for(second).filter(outcome="approved").exists()
    assert second.sale.status == Sale.Status.EXPIRED
    assert third.status == R.PAID
    subscription.refresh_from_db()
    assert statuses(subscription) == [S.ACTIVE, S.OVERDUE, S.ACTIVE]
    assert subscription.status == S.ACTIVE
    assert subscription.consecutive_unpaid == 0
    assert_nothing_more_happens(date(2025, 3, 31))


def test_overdue_recovered_by_a_retry_of_the_same_recurrence():
    """Overdue after recurrence 2; recurrence 3 declined at first, paid on its retry."""
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())

    def cards(day):
        if day == date(2025, 2, 10):
            set_token(subscription, DECLINED)
        if day == date(2025, 3, 12):
            set_token(subscription, APPROVED)

    run_billing(date(2025, 1, 11), date(2025, 3, 20), before_each_day=cards)

    third = recurrences(subscription)[2]
    assert [a.status for a in third.sale.attempts.order_by("number")] == [
        "declined",
        "declined",
        "approved",
    ]
    subscription.refresh_from_db()
    assert statuses(subscription) == [S.ACTIVE, S.OVERDUE, S.ACTIVE]
    assert_nothing_more_happens(date(2025, 3, 20))


def test_five_consecutive_unpaid_recurrences_cancel_as_admin():
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    set_token(subscription, DECLINED)

    run_billing(date(2025, 1, 11), date(2026, 3, 31))

    rows = recurrences(subscription)
    assert [r.status for r in rows] == [R.PAID] + [R.UNPAID] * 5
    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED_BY_ADMIN
    assert subscription.end_reason == UNPAID_LIMIT_REASON == "5 consecutive unpaid recurrences"
    assert subscription.consecutive_unpaid == 5
    assert subscription.next_charge_date is None
    assert subscription.ended_at.date() == date(2025, 6, 15)  # recurrence 6's last retry
    assert statuses(subscription) == [S.ACTIVE, S.OVERDUE, S.CANCELED_BY_ADMIN]
    assert SimulatedGatewayCharge.objects.filter(outcome="approved").count() == 1
    assert_nothing_more_happens(date(2026, 3, 31))


def test_a_paid_recurrence_resets_the_unpaid_count():
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())

    def cards(day):
        # Months 2-5 declined, month 6 paid, months 7-11 declined: never 5 in a row
        # until the 11th installment.
        if day in (date(2025, 2, 10), date(2025, 7, 1)):
            set_token(subscription, DECLINED)
        if day == date(2025, 6, 1):
            set_token(subscription, APPROVED)

    run_billing(date(2025, 1, 11), date(2025, 12, 31), before_each_day=cards)

    rows = recurrences(subscription)
    assert [r.status for r in rows] == [R.PAID] + [R.UNPAID] * 4 + [R.PAID] + [R.UNPAID] * 5
    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED_BY_ADMIN
    assert statuses(subscription) == [S.ACTIVE, S.OVERDUE, S.ACTIVE, S.OVERDUE, S.CANCELED_BY_ADMIN]


def test_canceled_subscription_is_not_billed_again():
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    run_billing(date(2025, 1, 11), date(2025, 2, 20))
    from subscriptions.services.lifecycle import subscription_cancel

    with time_machine.travel(at(date(2025, 2, 21)), tick=False):
        subscription_cancel(subscription=subscription, actor=subscription.buyer)
    before = counts()
    run_billing(date(2025, 2, 21), date(2025, 6, 30))
    assert counts() == before
    assert len(recurrences(subscription)) == 2


# --------------------------------------------------------------------- cash and direct debit


def slips_sent(outbox) -> int:
    return sum("payment slip" in message.subject for message in outbox)


def confirm(recurrence: Recurrence, event_id: str) -> str:
    recurrence.refresh_from_db()
    return webhook_handle(
        event_id=event_id,
        kind="payment.confirmed",
        reference=recurrence.slip_code or recurrence.sale.attempts.last().gateway_reference,
        payload={},
    )


def test_cash_slips_each_month(django_capture_on_commit_callbacks, mailoutbox):
    plan = PlanFactory(price_minor=4990)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscribe_on(
            date(2025, 1, 10), plan, method="boleto", country="BR", token=""
        )
    assert subscription.status == S.INITIATED
    assert slips_sent(mailoutbox) == 1

    (first,) = recurrences(subscription)
    with time_machine.travel(at(date(2025, 1, 11)), tick=False):
        assert confirm(first, "evt-1") == "processed"  # the buyer paid the slip
    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE

    def day_with_mail(day):
        with django_capture_on_commit_callbacks(execute=True):
            run_billing_day(day)

    day = date(2025, 1, 12)
    while day <= date(2025, 3, 20):
        day_with_mail(day)
        if day == date(2025, 3, 11):  # pays the March slip the day after it is issued
            with time_machine.travel(at(day), tick=False):
                assert confirm(recurrences(subscription)[2], "evt-3") == "processed"
        day += timedelta(days=1)

    first, second, third = recurrences(subscription)
    assert slips_sent(mailoutbox) == 3
    assert first.status == R.PAID
    assert second.status == R.UNPAID  # the February slip expired after 3 days
    assert second.slip_expires_at.date() == date(2025, 2, 13)
    assert second.sale.attempts.get().status == PaymentAttempt.Status.EXPIRED
    assert third.status == R.PAID
    assert subscription.events.get(to_status=S.OVERDUE).created_at.date() == date(2025, 2, 13)
    subscription.refresh_from_db()
    assert statuses(subscription) == [S.ACTIVE, S.OVERDUE, S.ACTIVE]
    # An expired slip is not reissued: one slip, one gateway record per recurrence.
    assert all(charges_for(r).count() == 1 for r in (first, second, third))
    assert_nothing_more_happens(date(2025, 3, 20))


def test_first_cash_slip_not_paid_makes_the_subscription_inactive():
    subscription = subscribe_on(date(2025, 1, 10), method="oxxo", country="MX", token="")
    run_billing(date(2025, 1, 11), date(2025, 4, 30))

    subscription.refresh_from_db()
    assert subscription.status == S.INACTIVE
    assert subscription.events.get().created_at.date() == date(2025, 1, 13)
    (recurrence,) = recurrences(subscription)  # nothing more is billed
    assert recurrence.status == R.UNPAID
    assert_nothing_more_happens(date(2025, 4, 30))


def test_first_direct_debit_never_confirmed_lapses_when_its_window_closes():
    subscription = subscribe_on(date(2025, 1, 10), method="sepa", country="DE", token="")
    run_billing(date(2025, 1, 11), date(2025, 1, 15))
    subscription.refresh_from_db()
    assert subscription.status == S.INITIATED  # still waiting for the bank
    run_billing(date(2025, 1, 16), date(2025, 2, 28))
    subscription.refresh_from_db()
    assert subscription.status == S.INACTIVE
    assert recurrences(subscription)[0].status == R.UNPAID


def test_direct_debit_confirmed_by_webhook_each_month():
    subscription = subscribe_on(date(2025, 1, 10), method="pse", country="CO", token="")

    def bank_confirms(day):
        for recurrence in subscription.recurrences.filter(status=R.PENDING):
            with time_machine.travel(at(day), tick=False):
                confirm(recurrence, f"evt-{recurrence.number}")

    run_billing(date(2025, 1, 11), date(2025, 5, 31), before_each_day=bank_confirms)

    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE
    assert [r.status for r in recurrences(subscription)] == [R.PAID] * 5
    assert_nothing_more_happens(date(2025, 5, 31))


# ---------------------------------------------------------------------- crash recovery


def test_crash_between_the_gateway_call_and_recording_recovers_after_the_lease(monkeypatch):
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    due = date(2025, 2, 10)
    original = payments.payments_record
    crashes = []

    def crash_once(**kwargs):
        if not crashes:
            crashes.append(True)
            raise RuntimeError("worker killed")
        return original(**kwargs)

    monkeypatch.setattr(payments, "payments_record", crash_once)
    with time_machine.travel(at(due), tick=False):
        billing.recurrences_create_due(today=due)
        with pytest.raises(RuntimeError, match="worker killed"):
            billing.recurrences_collect()

    second = recurrences(subscription)[1]
    assert second.status == R.COLLECTING
    (attempt,) = second.sale.attempts.all()
    assert attempt.status == PaymentAttempt.Status.STARTED
    (charge,) = charges_for(second)  # the gateway did charge
    assert charge.outcome == "approved"

    with time_machine.travel(at(due) + timedelta(minutes=4), tick=False):
        assert billing.recurrences_collect() == 0  # still leased to the dead worker
    with time_machine.travel(at(due) + timedelta(minutes=6), tick=False):
        assert billing.recurrences_collect() == 1

    second.refresh_from_db()
    assert second.status == R.PAID
    assert (
        SimulatedGatewayCharge.objects.filter(idempotency_key=attempt.idempotency_key).count() == 1
    )
    assert charges_for(second).count() == 1
    assert second.sale.attempts.get().status == PaymentAttempt.Status.APPROVED
    subscription.refresh_from_db()
    assert subscription.paid_count == 2
    assert LedgerEntry.objects.filter(sale=second.sale).count() > 0
    assert_ledger_balances()
    assert_nothing_more_happens(due)


def test_crash_before_the_gateway_call_charges_once_after_the_lease(monkeypatch):
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    due = date(2025, 2, 10)
    original = billing.payments_collect
    crashes = []

    def crash_once(charges):
        if not crashes:
            crashes.append(True)
            raise RuntimeError("worker killed")
        return original(charges)

    monkeypatch.setattr(billing, "payments_collect", crash_once)
    with time_machine.travel(at(due), tick=False):
        billing.recurrences_create_due(today=due)
        with pytest.raises(RuntimeError):
            billing.recurrences_collect()
    assert SimulatedGatewayCharge.objects.count() == 1  # only the checkout charge

    run_billing_day(due + timedelta(days=1))

    second = recurrences(subscription)[1]
    assert second.status == R.PAID
    assert second.sale.attempts.count() == 1
    assert charges_for(second).count() == 1


def test_lost_gateway_answer_is_asked_again_with_the_same_key():
    """The timeout card charges and loses the answer; the next run asks again with the same
    idempotency key and records the charge that happened, once."""
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    set_token(subscription, TIMEOUT)
    due = date(2025, 2, 10)
    with time_machine.travel(at(due), tick=False):
        billing.recurrences_create_due(today=due)
        billing.recurrences_collect()
    second = recurrences(subscription)[1]
    (attempt,) = second.sale.attempts.all()
    assert attempt.status == PaymentAttempt.Status.TIMEOUT
    assert second.status == R.SCHEDULED

    with time_machine.travel(at(due) + timedelta(minutes=11), tick=False):
        billing.recurrences_collect()

    second.refresh_from_db()
    assert second.status == R.PAID
    (attempt,) = second.sale.attempts.all()
    assert attempt.status == PaymentAttempt.Status.APPROVED
    assert charges_for(second).count() == 1
    subscription.refresh_from_db()
    assert subscription.paid_count == 2
    assert_ledger_balances()


# ------------------------------------------------------------- automatic sales recovery


def contract_for(product, *, recovery: bool, accepted_on: date) -> Contract:
    terms_of_use()
    cocreator = UserFactory(validated=True)
    with time_machine.travel(at(accepted_on), tick=False):
        contract = contract_invite(
            product=product,
            actor=product.producer,
            cocreator_email=cocreator.email,
            **invite_fields(automatic_sales_recovery=recovery, commission_percent=Decimal("20")),
        )
        return contract_accept(contract=contract, actor=cocreator, terms_accepted=True)


def end_contract(contract: Contract, on: date) -> None:
    with time_machine.travel(at(on), tick=False):
        change = contract_cancel(contract=contract, actor=contract.product.producer)
        change_request_accept(change=change, actor=contract.cocreator)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED


def cocreator_paid(subscription, contract) -> list[bool]:
    return [
        LedgerEntry.objects.filter(sale=r.sale, contract=contract, role="cocreator").exists()
        for r in recurrences(subscription)
    ]


@pytest.mark.parametrize("recovery", [True, False])
def test_automatic_sales_recovery_pays_an_ended_contract_on_earlier_subscriptions(recovery):
    product = ProductFactory(subscription=True)
    plan = PlanFactory(product=product, price_minor=10000)
    contract = contract_for(product, recovery=recovery, accepted_on=date(2025, 1, 5))
    before_end = subscribe_on(date(2025, 1, 10), plan)
    run_billing(date(2025, 1, 11), date(2025, 2, 19))
    end_contract(contract, on=date(2025, 2, 20))
    run_billing(date(2025, 2, 20), date(2025, 2, 24))
    after_end = subscribe_on(date(2025, 2, 25), plan)
    run_billing(date(2025, 2, 25), date(2025, 5, 31))

    # Sold while active: recurrence 1 and 2 were paid while the contract ran (Jan 10, Feb 10);
    # March, April and May are paid after it ended: only recovery pays them.
    assert cocreator_paid(before_end, contract) == [True, True] + [recovery] * 3
    # Sold after the contract ended: never paid, recovery or not.
    assert cocreator_paid(after_end, contract) == [False] * 4
    if recovery:  # the same share as while the contract ran
        while_active, recovered = (
            LedgerEntry.objects.get(sale=recurrences(before_end)[n].sale, contract=contract)
            for n in (0, 2)
        )
        assert recovered.amount_minor == while_active.amount_minor > 0
        assert recovered.beneficiary == contract.cocreator
    assert_nothing_more_happens(date(2025, 5, 31))


def test_recovery_does_not_pay_one_time_sales_after_the_end():
    product = ProductFactory(subscription=True)
    contract = contract_for(product, recovery=True, accepted_on=date(2025, 1, 5))
    end_contract(contract, on=date(2025, 1, 20))
    with time_machine.travel(at(date(2025, 1, 21)), tick=False):
        sale = Sale.objects.create(
            product=product,
            buyer=UserFactory(),
            amount_minor=10000,
            currency="BRL",
            method="card",
            country="BR",
            checkout_key="one-time",
            status=Sale.Status.PAID,
            paid_at=at(date(2025, 1, 21)),
        )
        ledger_write_splits(sale_ids=[sale.pk])
    assert LedgerEntry.objects.filter(sale=sale).exists()
    assert not LedgerEntry.objects.filter(sale=sale, contract=contract).exists()


def test_every_paid_recurrence_of_a_mixed_population_balances():
    """Promo, split, affiliate, co-production, retries: every paid sale's split sums up."""
    from tests.factories import AffiliationFactory

    product = ProductFactory(subscription=True)
    plan = PlanFactory(product=product, price_minor=3333, promo_first_price_minor=1111)
    contract_for(product, recovery=True, accepted_on=date(2025, 1, 1))
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=17)
    subscribe_on(date(2025, 1, 31), plan)
    subscribe_on(date(2025, 1, 31), plan, affiliate_code=affiliation.code)
    subscribe_on(date(2025, 2, 1), plan, second_token=APPROVED, second_amount_minor=111)
    declined = subscribe_on(date(2025, 2, 3), plan)
    set_token(declined, DECLINED)

    run_billing(date(2025, 2, 1), date(2025, 7, 31))

    assert Recurrence.objects.filter(status=R.PAID).count() > 15
    assert_ledger_balances()
    assert_nothing_more_happens(date(2025, 7, 31))
