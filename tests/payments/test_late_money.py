"""Money the gateway reports is never dropped (issue 8, finding 8): every signed webhook is
stored; a confirmation after its slip or sale expired is applied to a recurrence of a
subscription still Active or Overdue (paid late) and refunded, the buyer told, for a canceled
subscription or an expired one-time sale; cancelling voids outstanding slips and debits."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.db.models import Sum

from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, Refund, Sale, SimulatedGatewayCharge, WebhookEvent
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.billing import payments_expire
from subscriptions.services.lifecycle import subscription_cancel
from subscriptions.services.webhooks import webhook_handle
from tests.factories import PlanFactory, ProductFactory, UserFactory, checkout_token
from tests.subscriptions.factories import at, run_billing_day, subscribe_on

pytestmark = pytest.mark.django_db


def confirm(reference: str, event_id: str = "evt-late") -> str:
    return webhook_handle(
        event_id=event_id, kind="payment.confirmed", reference=reference, payload={"id": event_id}
    )


def ledger_total(sale) -> int:
    return LedgerEntry.objects.filter(sale=sale).aggregate(t=Sum("amount_minor"))["t"] or 0


def boleto_subscription_with_second_slip():
    """A boleto subscription paid once; its second slip is issued on 10 Feb."""
    subscription = subscribe_on(
        date(2025, 1, 10), PlanFactory(price_minor=4990), method="boleto", token=""
    )
    first = subscription.recurrences.get(number=1)
    with time_machine.travel(at(date(2025, 1, 10)), tick=False):
        assert confirm(first.slip_code, "evt-first") == "processed"
    run_billing_day(date(2025, 2, 10))
    second = subscription.recurrences.get(number=2)
    assert second.status == Recurrence.Status.PENDING
    return subscription, second


def test_a_slip_paid_after_it_expired_is_applied_to_an_active_subscription(
    django_capture_on_commit_callbacks,
):
    subscription, second = boleto_subscription_with_second_slip()
    run_billing_day(date(2025, 2, 14))  # the slip expired: unpaid, the subscription overdue
    second.refresh_from_db()
    subscription.refresh_from_db()
    assert second.status == Recurrence.Status.UNPAID
    assert subscription.status == Subscription.Status.OVERDUE

    with time_machine.travel(at(date(2025, 2, 15)), tick=False):
        assert confirm(second.slip_code) == "paid_late"

    second.refresh_from_db()
    subscription.refresh_from_db()
    assert second.status == Recurrence.Status.PAID
    assert second.sale.status == Sale.Status.PAID
    assert ledger_total(second.sale) == 4990
    assert subscription.status == Subscription.Status.ACTIVE
    assert (subscription.paid_count, subscription.consecutive_unpaid) == (2, 0)
    assert WebhookEvent.objects.get(event_id="evt-late").result == "paid_late"


def test_a_slip_paid_after_the_buyer_canceled_is_refunded_and_the_buyer_told(
    django_capture_on_commit_callbacks,
):
    subscription, second = boleto_subscription_with_second_slip()
    with django_capture_on_commit_callbacks(execute=True):
        subscription_cancel(subscription=subscription, actor=subscription.buyer)
    second.refresh_from_db()
    assert second.status == Recurrence.Status.CANCELED
    assert second.sale.status == Sale.Status.EXPIRED
    attempt = second.sale.attempts.get()
    assert attempt.status == PaymentAttempt.Status.EXPIRED
    # The outstanding slip was voided at the gateway.
    assert SimulatedGatewayCharge.objects.filter(
        kind="void", idempotency_key=f"void-{attempt.idempotency_key}"
    ).exists()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(second.slip_code) == "refunded"

    refund = Refund.objects.get(sale=second.sale)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.amount_minor == 4990
    assert not LedgerEntry.objects.filter(sale=second.sale).exists()  # never split
    second.sale.refresh_from_db()
    assert second.sale.status == Sale.Status.EXPIRED  # no access, no split: money went back
    assert any("Refund" in m.subject for m in mail.outbox)
    assert WebhookEvent.objects.get(event_id="evt-late").result == "refunded"


def test_a_one_time_slip_paid_after_it_expired_is_refunded(django_capture_on_commit_callbacks):
    from products.services.sales import sale_pay, sale_start

    buyer = UserFactory()
    sale = sale_start(
        product=ProductFactory(price_minor=9700),
        buyer=buyer,
        method="boleto",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer),
    )
    sale_pay(sale=sale, token="")
    reference = sale.attempts.get().gateway_reference
    webhook_handle(
        event_id="evt-exp", kind="payment.expired", reference=reference, payload={"id": 1}
    )
    sale.refresh_from_db()
    assert sale.status == Sale.Status.EXPIRED

    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(reference) == "refunded"

    sale.refresh_from_db()
    assert sale.status == Sale.Status.EXPIRED
    assert Refund.objects.get(sale=sale).status == Refund.Status.SUCCEEDED
    assert not LedgerEntry.objects.filter(sale=sale).exists()


def test_every_signed_webhook_is_stored_even_when_it_matches_nothing():
    assert confirm("sim_unknown", "evt-unknown") == "ignored"
    stored = WebhookEvent.objects.get(event_id="evt-unknown")
    assert (stored.reference, stored.result) == ("sim_unknown", "unmatched")


def test_webhook_ids_are_stored_whole_and_never_collide():
    """Finding 9: ids were cut at 80 characters, so two distinct events could collide."""
    prefix = "evt_" + "x" * 90
    assert confirm("sim_a", prefix + "-one") == "ignored"
    assert confirm("sim_b", prefix + "-two") == "ignored"
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {
        prefix + "-one",
        prefix + "-two",
    }


def test_a_replayed_confirmation_changes_nothing():
    subscription, second = boleto_subscription_with_second_slip()
    with time_machine.travel(at(date(2025, 2, 11)), tick=False):
        assert confirm(second.slip_code, "evt-2") == "processed"
        assert confirm(second.slip_code, "evt-2") == "duplicate"
        assert confirm(second.slip_code, "evt-3") == "ignored"  # already settled
    assert ledger_total(second.sale) == 4990
    assert Subscription.objects.get(pk=subscription.pk).paid_count == 2


def test_expiring_slips_go_through_the_payment_path():
    _, second = boleto_subscription_with_second_slip()
    with time_machine.travel(at(date(2025, 2, 10)) + timedelta(days=4), tick=False):
        assert payments_expire() == 1
    second.refresh_from_db()
    assert second.status == Recurrence.Status.UNPAID
    assert second.sale.attempts.get().status == PaymentAttempt.Status.EXPIRED
