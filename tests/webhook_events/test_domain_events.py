"""The domain tells outgoing webhooks what happened (issue 13): every event type reaches the
endpoints of the people it concerns, once per event, with the resource as the API shows it to
each of them; nobody listening costs one query; a webhook's trouble never blocks the money."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.exceptions import DomainError
from accounts.models import WebhookEndpoint, WebhookMessage
from accounts.webhook_events import publish_many
from coproduction.models import Contract
from coproduction.services.changes import change_request_accept, change_request_refuse
from coproduction.services.contracts import (
    contract_accept,
    contract_decline,
    contract_request_end,
    contracts_expire,
)
from coproduction.services.withdrawals import withdrawal_approve, withdrawal_request
from products.models import Sale
from products.services.refunds import sale_chargeback, sale_refund
from subscriptions.models import Recurrence
from subscriptions.services.lifecycle import subscription_cancel
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.factories import (
    PayoutAccountFactory,
    PlanFactory,
    ProductFactory,
    SaleFactory,
    UserFactory,
)
from tests.sales.test_ledger import cocreator_contract
from tests.subscriptions.factories import DECLINED, subscribe

pytestmark = pytest.mark.django_db


def listen(user, *event_types):
    return WebhookEndpoint.objects.create(
        user=user,
        url="https://hooks.invalid/in",
        event_types=list(event_types),
        secret="whsec_" + "A" * 32,
    )


def told(event_type):
    """(user id, key) of each message of `event_type`, sorted."""
    return sorted(
        WebhookMessage.objects.filter(event_type=event_type).values_list("user_id", "key")
    )


def data_of(user, event_type):
    return WebhookMessage.objects.get(user=user, event_type=event_type).payload["data"]


def pay(product, **kwargs):
    return SaleFactory(product=product, checkout_key=uuid.uuid4().hex, paid=True, **kwargs)


@pytest.fixture
def shared():
    """A product whose sales are split with an accepted cocreator; both listen to everything
    about sales."""
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, price_minor=100_00)
    cocreator = UserFactory(validated=True)
    cocreator_contract(product, cocreator=cocreator, percent="10")
    for user in (producer, cocreator):
        listen(user, "sale.approved", "sale.refunded", "sale.chargeback")
    return producer, product, cocreator


def test_a_paid_sale_is_told_to_the_producer_and_the_cocreator_each_with_their_view(shared):
    from products.api import sale_resource

    producer, product, cocreator = shared
    stranger = UserFactory()
    listen(stranger, "sale.approved")

    sale = pay(product)

    key = f"sale:{sale.pk}"
    assert told("sale.approved") == sorted([(producer.pk, key), (cocreator.pk, key)])
    for viewer in (producer, cocreator):
        assert data_of(viewer, "sale.approved") == {"object": sale_resource(sale, viewer.pk)}
    assert data_of(producer, "sale.approved") != data_of(cocreator, "sale.approved")


def test_refunds_and_chargebacks_are_told_to_the_parties_they_took_from(shared):
    producer, product, cocreator = shared
    sale = pay(product)
    refund = sale_refund(sale=sale, actor=producer, amount_minor=30_00)
    chargeback = sale_chargeback(sale=Sale.objects.get(pk=sale.pk), actor=None)

    assert told("sale.refunded") == sorted(
        [(producer.pk, f"refund:{refund.pk}"), (cocreator.pk, f"refund:{refund.pk}")]
    )
    assert told("sale.chargeback") == sorted(
        [(producer.pk, f"refund:{chargeback.pk}"), (cocreator.pk, f"refund:{chargeback.pk}")]
    )


def test_nobody_listening_costs_one_query(django_assert_num_queries):
    listen(UserFactory(), "sale.refunded")  # another event type
    called = []
    with django_assert_num_queries(1):
        assert publish_many("sale.approved", lambda: called.append(1) or []) == 0
    assert called == []  # the parties and payloads are not even looked up


def test_a_webhook_that_cannot_be_built_never_blocks_the_payment(shared, monkeypatch):
    import products.api

    def broken(sale, viewer_id):
        raise RuntimeError("the payload builder broke")

    monkeypatch.setattr(products.api, "sale_resource", broken)
    _, product, _ = shared

    sale = pay(product)

    assert sale.status == Sale.Status.PAID
    assert sale.ledger.exists()
    assert told("sale.approved") == []


def test_a_billing_batch_tells_each_paid_recurrence_to_its_producer_once():
    plan = PlanFactory()
    producer = plan.product.producer
    listen(producer, "recurrence.paid", "subscription.status_changed")
    subscriptions = [subscribe(plan) for _ in range(3)]
    firsts = Recurrence.objects.filter(subscription__in=subscriptions, number=1)

    assert told("recurrence.paid") == sorted((producer.pk, f"recurrence:{r.pk}") for r in firsts)
    # Each subscription became active on its first payment.
    assert len(told("subscription.status_changed")) == 3
    payload = WebhookMessage.objects.filter(event_type="subscription.status_changed").first()
    assert payload.payload["data"]["previous_attributes"] == {"status": "initiated"}


def test_a_declined_charge_and_a_cancellation_are_told_to_the_producer():
    plan = PlanFactory()
    producer = plan.product.producer
    listen(producer, "recurrence.declined", "subscription.status_changed")
    with pytest.raises(DomainError):
        subscribe(plan, token=DECLINED)
    recurrence = Recurrence.objects.get(subscription__plan=plan, number=1)
    assert told("recurrence.declined") == [(producer.pk, f"recurrence:{recurrence.pk}:1")]

    subscription = subscribe(plan)
    subscription_cancel(subscription=subscription, actor=subscription.buyer)
    changes = WebhookMessage.objects.filter(event_type="subscription.status_changed")
    assert [m.payload["data"]["previous_attributes"]["status"] for m in changes] == [
        "active",
        "initiated",
    ]


def test_an_invitation_answered_is_told_to_both_parties():
    accepted = ContractFactory()
    declined = ContractFactory(product=accepted.product)
    producer = accepted.product.producer
    for user in (producer, accepted.cocreator):
        listen(user, "invitation.answered", "contract.ended")

    contract_accept(contract=accepted, actor=accepted.cocreator, terms_accepted=True)
    contract_decline(contract=declined, actor=declined.cocreator)

    assert told("invitation.answered") == sorted(
        [
            (producer.pk, f"contract:{accepted.pk}:active"),
            (accepted.cocreator.pk, f"contract:{accepted.pk}:active"),
            (producer.pk, f"contract:{declined.pk}:declined"),
        ]
    )
    data = data_of(accepted.cocreator, "invitation.answered")
    assert data["previous_attributes"] == {"status": "pending"}
    assert told("contract.ended") == []


def test_change_requests_answered_and_contracts_ended_are_told():
    contract = ContractFactory(active=True)
    producer = contract.product.producer
    listen(producer, "change_request.answered", "contract.ended")

    refused = ChangeRequestFactory(contract=contract, requested_by=producer)
    change_request_refuse(change=refused, actor=contract.cocreator)
    termination = contract_request_end(contract=contract, actor=contract.cocreator)
    change_request_accept(change=termination, actor=producer)

    assert told("change_request.answered") == sorted(
        [(producer.pk, f"change:{refused.pk}"), (producer.pk, f"change:{termination.pk}")]
    )
    assert told("contract.ended") == [(producer.pk, f"contract:{contract.pk}:ended")]

    expiring = ContractFactory(active=True, product=contract.product)
    Contract.objects.filter(pk=expiring.pk).update(end_date=timezone.localdate() - timedelta(2))
    assert contracts_expire(now=timezone.now()) == 1
    assert (producer.pk, f"contract:{expiring.pk}:expired") in told("contract.ended")


def test_a_paid_payout_is_told_to_the_party_paid(django_capture_on_commit_callbacks, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, price_minor=200_00, guarantee_days=7)
    pay(product)
    time_machine.move_to(timezone.now() + timedelta(days=60))  # released
    listen(producer, "payout.paid")
    PayoutAccountFactory(user=producer)
    with django_capture_on_commit_callbacks(execute=True):
        w = withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)
        withdrawal_approve(withdrawal_id=w.pk, admin=UserFactory(is_staff=True))
    assert told("payout.paid") == [(producer.pk, f"withdrawal:{w.pk}")]


def test_one_payload_that_cannot_be_built_skips_only_that_receiver(shared, monkeypatch):
    import products.api

    producer, product, cocreator = shared
    original = products.api.sale_resource

    def not_for_the_cocreator(sale, viewer_id):
        if viewer_id == cocreator.pk:
            raise LookupError("not visible")
        return original(sale, viewer_id)

    monkeypatch.setattr(products.api, "sale_resource", not_for_the_cocreator)
    sales = [pay(product) for _ in range(2)]

    assert told("sale.approved") == sorted((producer.pk, f"sale:{s.pk}") for s in sales)


def test_a_batch_looks_up_listeners_once_and_skips_people_who_do_not_listen(
    shared, django_assert_max_num_queries
):
    from products.webhooks import sales_paid

    producer, product, _cocreator = shared
    WebhookEndpoint.objects.filter(user=producer).delete()  # only the cocreator listens
    sales = [pay(product) for _ in range(5)]
    WebhookMessage.objects.all().delete()
    # anyone_listens, the parties, the listeners; then per (sale, listener): a savepoint, the
    # message, the deliveries, the payload's queries.
    with django_assert_max_num_queries(3 + 5 * 12):
        assert sales_paid(sales) == 5
    assert {user for user, _key in told("sale.approved")} == {_cocreator.pk}
