"""Money the gateway took is never left unrecorded when its answer was lost (found by the
stateful property test): a one-time checkout the buyer never retried is asked again by beat,
and a subscription canceled while a charge's answer was lost is asked again, then refunded."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import DomainError
from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, Refund, Sale, SimulatedGatewayCharge
from products.services.sales import sale_pay, sale_start
from products.tasks import reconcile_attempts
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.billing import recurrences_collect
from subscriptions.services.lifecycle import subscription_cancel
from tests.factories import PlanFactory, ProductFactory, UserFactory, checkout_token
from tests.subscriptions.factories import TIMEOUT, at, run_billing_day, subscribe_on
from tests.subscriptions.test_billing_timetravel import set_token

pytestmark = pytest.mark.django_db


def test_a_lost_checkout_answer_is_asked_again_by_beat_and_recorded():
    buyer = UserFactory()
    sale = sale_start(
        product=ProductFactory(price_minor=9700),
        buyer=buyer,
        method="card",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer),
    )
    with pytest.raises(DomainError, match="did not answer"):
        sale_pay(sale=sale, token=TIMEOUT)  # charged, answer lost; the buyer leaves
    attempt = sale.attempts.get()
    assert attempt.status == PaymentAttempt.Status.TIMEOUT

    assert reconcile_attempts() == 0  # too fresh: the buyer may still retry
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert reconcile_attempts() == 1

    sale.refresh_from_db()
    attempt.refresh_from_db()
    assert (sale.status, attempt.status) == (Sale.Status.PAID, PaymentAttempt.Status.APPROVED)
    assert LedgerEntry.objects.filter(sale=sale).count() > 0
    assert SimulatedGatewayCharge.objects.filter(kind="charge").count() == 1  # charged once


def test_a_subscription_canceled_while_an_answer_was_lost_is_asked_again_and_refunded(
    django_capture_on_commit_callbacks,
):
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory(price_minor=4990))
    set_token(subscription, TIMEOUT)
    due = date(2025, 2, 10)
    run_billing_day(due)  # charged; the answer lost
    second = subscription.recurrences.get(number=2)
    assert second.status == Recurrence.Status.SCHEDULED
    assert second.sale.attempts.get().status == PaymentAttempt.Status.TIMEOUT

    with time_machine.travel(at(due) + timedelta(minutes=1), tick=False):
        subscription_cancel(subscription=subscription, actor=subscription.buyer)
    second.refresh_from_db()
    assert second.status == Recurrence.Status.SCHEDULED  # kept: its answer is still owed

    with (
        time_machine.travel(at(due) + timedelta(minutes=15), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert recurrences_collect() == 1
    second.refresh_from_db()
    assert second.status == Recurrence.Status.CANCELED
    assert second.sale.attempts.get().status == PaymentAttempt.Status.APPROVED
    refund = Refund.objects.get(sale=second.sale)
    assert (refund.status, refund.amount_minor) == (Refund.Status.SUCCEEDED, 4990)
    assert not LedgerEntry.objects.filter(sale=second.sale).exists()
    assert Subscription.objects.get(pk=subscription.pk).paid_count == 1
    with time_machine.travel(at(due) + timedelta(days=3), tick=False):
        assert recurrences_collect() == 0  # never charged again
