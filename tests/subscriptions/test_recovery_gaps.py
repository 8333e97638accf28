"""Recovery paths: a killed checkout, an early webhook, and the simulator's memory."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import DomainError
from products.models import PaymentAttempt, SimulatedGatewayCharge
from products.payments.gateway import ChargeRequest, get_gateway
from subscriptions.models import Recurrence
from subscriptions.services.billing import recurrences_collect
from subscriptions.services.subscribe import subscription_pay_first
from subscriptions.services.webhooks import webhook_handle
from tests.factories import UserFactory
from tests.subscriptions.factories import subscribe

pytestmark = pytest.mark.django_db

DECLINED = "4000000000000002"
APPROVED = "4242424242424242"


def test_a_checkout_killed_after_the_gateway_call_is_finished_by_the_billing_run(monkeypatch):
    """The request charges the card, then dies before recording it; the buyer never returns.
    After the lease the billing run asks again with the same key: paid once, charged once."""
    from products.payments import services as payments

    def die(*args, **kwargs):
        raise SystemExit("the web worker was killed")

    with pytest.raises(DomainError):
        subscribe(token=DECLINED, checkout_key="k")  # a first try declined: nothing charged
    recurrence = Recurrence.objects.get(number=1)
    subscription = recurrence.subscription
    subscription.payment_token = APPROVED
    subscription.save(update_fields=["payment_token"])
    monkeypatch.setattr(payments, "payments_record", die)
    with pytest.raises(SystemExit):
        subscription_pay_first(subscription=subscription)
    recurrence.refresh_from_db()
    assert recurrence.status == Recurrence.Status.COLLECTING
    assert recurrence.next_attempt_at is not None  # leased, not stuck forever
    monkeypatch.undo()

    assert recurrences_collect() == 0  # the lease still holds
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert recurrences_collect() == 1
    recurrence.refresh_from_db()
    subscription.refresh_from_db()
    assert recurrence.status == Recurrence.Status.PAID
    assert subscription.status == "active"
    keys = recurrence.sale.attempts.values_list("idempotency_key", flat=True)
    assert (
        SimulatedGatewayCharge.objects.filter(idempotency_key__in=keys, outcome="approved").count()
        == 1
    )


def test_a_declined_first_payment_is_not_retried_by_the_billing_run():
    with pytest.raises(DomainError):
        subscribe(token=DECLINED, checkout_key="k")
    recurrence = Recurrence.objects.get(number=1)
    assert (recurrence.status, recurrence.next_attempt_at) == ("scheduled", None)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        assert recurrences_collect() == 0


def test_a_webhook_that_arrives_before_its_attempt_is_applied_when_the_gateway_retries_it():
    subscription = subscribe(method="boleto", token="", checkout_key="slip")
    attempt = PaymentAttempt.objects.get()
    reference = attempt.gateway_reference
    PaymentAttempt.objects.filter(pk=attempt.pk).update(gateway_reference="")  # not recorded yet
    payload = {"id": "evt-1", "type": "payment.confirmed", "reference": reference}

    assert (
        webhook_handle(event_id="evt-1", kind=payload["type"], reference=reference, payload=payload)
        == "ignored"
    )
    PaymentAttempt.objects.filter(pk=attempt.pk).update(gateway_reference=reference)
    assert (
        webhook_handle(event_id="evt-1", kind=payload["type"], reference=reference, payload=payload)
        == "processed"
    )
    assert (
        webhook_handle(event_id="evt-1", kind=payload["type"], reference=reference, payload=payload)
        == "duplicate"
    )
    subscription.refresh_from_db()
    assert subscription.status == "active"


def test_the_simulators_memory_cannot_be_edited_in_the_admin(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    get_gateway().charge_many(
        [
            ChargeRequest(
                idempotency_key="k1",
                amount_minor=100,
                currency="BRL",
                method="card",
                token=APPROVED,
            )
        ]
    )
    record = SimulatedGatewayCharge.objects.get()
    add = client.get(reverse("admin:products_simulatedgatewaycharge_add"))
    change = client.post(
        reverse("admin:products_simulatedgatewaycharge_change", args=[record.pk]),
        {"outcome": "declined"},
    )
    assert add.status_code == 403
    assert change.status_code == 403
    record.refresh_from_db()
    assert record.outcome == "approved"
