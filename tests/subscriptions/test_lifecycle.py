"""The subscription status machine: every move in Subscription.TRANSITIONS, legal and illegal,
and the cancellations the buyer, the producer and an admin may make."""

import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.exceptions import InvalidTransition, PermissionDenied
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent
from subscriptions.services.billing import recurrence_build
from subscriptions.services.lifecycle import subscription_cancel, subscription_transition
from tests.factories import UserFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

S = Subscription.Status
ALL_MOVES = list(itertools.product(S.values, S.values))
LEGAL = [(a, b) for a, b in ALL_MOVES if b in Subscription.TRANSITIONS[S(a)]]
ILLEGAL = [(a, b) for a, b in ALL_MOVES if b not in Subscription.TRANSITIONS[S(a)]]
FINAL = {s for s in S.values if not Subscription.TRANSITIONS[S(s)]}


def with_scheduled_recurrence(subscription: Subscription) -> Recurrence:
    sale, recurrence = recurrence_build(
        subscription=subscription,
        number=2,
        due=timezone.now().date(),
        amount_minor=subscription.plan.price_minor,
        now=timezone.now(),
    )
    sale.save()
    recurrence.sale = sale
    recurrence.save()
    return recurrence


def test_the_table_names_every_status_and_only_statuses():
    assert set(Subscription.TRANSITIONS) == set(S)
    for targets in Subscription.TRANSITIONS.values():
        assert targets <= set(S)


def test_the_table_matches_the_spec():
    """Initiated is paid (Active) or lapses (Inactive); a payment brings Overdue back; the
    canceled statuses, Inactive and Expired are final."""
    assert {*Subscription.CANCELED, S.INACTIVE, S.EXPIRED} == FINAL
    assert (S.INITIATED, S.ACTIVE) in LEGAL and (S.INITIATED, S.INACTIVE) in LEGAL
    assert (S.ACTIVE, S.OVERDUE) in LEGAL and (S.OVERDUE, S.ACTIVE) in LEGAL
    assert (S.INITIATED, S.OVERDUE) in ILLEGAL and (S.ACTIVE, S.INACTIVE) in ILLEGAL
    assert (S.INITIATED, S.EXPIRED) in ILLEGAL


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_legal_move_records_an_event(from_status, to_status):
    subscription = SubscriptionFactory(status=from_status)
    recurrence = with_scheduled_recurrence(subscription)
    actor = UserFactory()

    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        subscription_transition(subscription=locked, to=to_status, actor=actor, reason="because")

    subscription.refresh_from_db()
    assert subscription.status == to_status
    (event,) = SubscriptionEvent.objects.filter(subscription=subscription)
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        from_status,
        to_status,
        actor,
        "because",
    )
    recurrence.refresh_from_db()
    if to_status in FINAL:
        assert subscription.ended_at is not None
        assert subscription.end_reason == "because"
        assert subscription.next_charge_date is None
        assert recurrence.status == Recurrence.Status.CANCELED  # nothing more is charged
    else:
        assert subscription.ended_at is None
        assert recurrence.status == Recurrence.Status.SCHEDULED


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_illegal_move_is_refused_and_changes_nothing(from_status, to_status):
    subscription = SubscriptionFactory(status=from_status)
    recurrence = with_scheduled_recurrence(subscription)

    with pytest.raises(InvalidTransition) as error:
        subscription_transition(subscription=subscription, to=to_status, actor=None)

    assert S(from_status).label.lower() in error.value.message
    assert S(to_status).label.lower() in error.value.message
    subscription.refresh_from_db()
    assert subscription.status == from_status
    assert subscription.ended_at is None
    assert not SubscriptionEvent.objects.exists()
    recurrence.refresh_from_db()
    assert recurrence.status == Recurrence.Status.SCHEDULED


# ------------------------------------------------------------------------------- cancelling

CANCELLABLE = [S.INITIATED, S.ACTIVE, S.OVERDUE]


@pytest.mark.parametrize("status", CANCELLABLE)
def test_buyer_cancels_as_the_customer(status):
    subscription = SubscriptionFactory(status=status)
    subscription_cancel(subscription=subscription, actor=subscription.buyer)
    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED_BY_CUSTOMER
    event = subscription.events.get()
    assert event.actor == subscription.buyer
    assert event.reason == "Canceled by the customer"


@pytest.mark.parametrize("status", CANCELLABLE)
def test_producer_cancels_as_the_seller(status):
    subscription = SubscriptionFactory(status=status)
    subscription_cancel(subscription=subscription, actor=subscription.product.producer)
    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED_BY_SELLER
    assert subscription.events.get().actor == subscription.product.producer


@pytest.mark.parametrize("status", CANCELLABLE)
def test_admin_cancels_as_admin(status):
    subscription = SubscriptionFactory(status=status)
    admin = UserFactory(is_staff=True)
    subscription_cancel(subscription=subscription, actor=admin, as_admin=True)
    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED_BY_ADMIN
    assert subscription.events.get().actor == admin


def test_a_stranger_cannot_cancel():
    subscription = SubscriptionFactory(status=S.ACTIVE)
    with pytest.raises(PermissionDenied):
        subscription_cancel(subscription=subscription, actor=UserFactory())
    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE
    assert not subscription.events.exists()


def test_a_non_staff_user_cannot_cancel_as_admin_even_the_buyer():
    subscription = SubscriptionFactory(status=S.ACTIVE)
    with pytest.raises(PermissionDenied):
        subscription_cancel(subscription=subscription, actor=subscription.buyer, as_admin=True)
    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE


def test_cancelling_twice_says_it_is_already_canceled():
    subscription = SubscriptionFactory(status=S.ACTIVE)
    subscription_cancel(subscription=subscription, actor=subscription.buyer)

    with pytest.raises(InvalidTransition, match="already Canceled by the customer"):
        subscription_cancel(subscription=subscription, actor=subscription.product.producer)

    subscription.refresh_from_db()
    assert subscription.status == S.CANCELED_BY_CUSTOMER
    assert subscription.events.count() == 1


@pytest.mark.parametrize("status", [S.EXPIRED, S.INACTIVE])
def test_an_ended_subscription_cannot_be_canceled(status):
    subscription = SubscriptionFactory(status=status)
    with pytest.raises(InvalidTransition):
        subscription_cancel(subscription=subscription, actor=subscription.buyer)
    subscription.refresh_from_db()
    assert subscription.status == status
    assert not subscription.events.exists()


def test_cancel_reads_the_current_status_not_a_stale_copy():
    """Two screens open: the first cancels; the second holds a stale Active object."""
    subscription = SubscriptionFactory(status=S.ACTIVE)
    stale = Subscription.objects.get(pk=subscription.pk)
    subscription_cancel(subscription=subscription, actor=subscription.buyer)

    with pytest.raises(InvalidTransition):
        subscription_cancel(subscription=stale, actor=stale.product.producer)
    assert Subscription.objects.get(pk=subscription.pk).status == S.CANCELED_BY_CUSTOMER
