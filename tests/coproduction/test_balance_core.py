"""The balance core end to end: a sale's split credited as pending, released on its day, a
withdrawal requested, reviewed, paid by the simulator's signed webhook (coproduction.balances,
coproduction.services.withdrawals). The full matrix lives in tests/balances/."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from coproduction import balances
from coproduction.models import Withdrawal
from coproduction.services.withdrawals import (
    withdrawal_approve,
    withdrawal_request,
    withdrawal_settle,
)
from products.services.sales import sale_pay, sale_start
from tests.factories import PayoutAccountFactory, ProductFactory, UserFactory, checkout_token

pytestmark = pytest.mark.django_db


def buy(product):
    buyer = UserFactory()
    sale = sale_start(
        product=product,
        buyer=buyer,
        method="card",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer, uuid.uuid4().hex),
    )
    return sale_pay(sale=sale, token="4242424242424242")


def test_a_split_is_pending_then_released_then_withdrawn(
    django_capture_on_commit_callbacks, settings
):
    settings.PAYOUT_SIMULATOR_DELAY_SECONDS = 0
    account = PayoutAccountFactory()
    producer = account.user
    product = ProductFactory(producer=producer, price_minor=100_00, guarantee_days=7)
    sale = buy(product)
    day = balances.release_day(sale.paid_at, 7, "BRL")

    view = balances.balance_of(producer.pk, "BRL")
    assert (view.pending_minor, view.available_minor) == (8960, 0)
    assert view.releases == (balances.Release(day, 8960),)
    assert balances.balance_of(producer.pk, "BRL", on=day - timedelta(days=1)).available_minor == 0
    released = balances.balance_of(producer.pk, "BRL", on=day)
    assert (released.pending_minor, released.available_minor) == (0, 8960)
    assert balances.balance_of(None, "BRL").settled_minor == 1040

    later = timezone.now() + timedelta(days=(day - balances.today()).days + 1)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later):
        with django_capture_on_commit_callbacks(execute=True):
            withdrawal = withdrawal_request(party=producer, currency="BRL", amount_minor=80_00)
        assert withdrawal.status == Withdrawal.Status.IN_REVIEW
        view = balances.balance_of(producer.pk, "BRL")
        assert (view.available_minor, view.in_withdrawal_minor) == (960, 8000)
        with django_capture_on_commit_callbacks(execute=True):
            withdrawal_approve(withdrawal_id=withdrawal.pk, admin=UserFactory(is_staff=True))
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    view = balances.balance_of(producer.pk, "BRL", on=day)
    assert (view.available_minor, view.in_withdrawal_minor, view.withdrawn_minor) == (
        960,
        0,
        8000 - 367,
    )
    assert balances.balance_of(None, "BRL").settled_minor == 1040 + 367
    assert balances.check_balances() == []
    # The party hears once that it was paid (a replayed webhook tells nobody again).
    told = Notification.objects.filter(recipient=producer, kind=Notification.Kind.PAYOUT)
    assert [n.title for n in told] == ["Your withdrawal of R$80.00 was paid"]
    assert not withdrawal_settle(withdrawal_id=withdrawal.pk, paid=False)
    assert told.count() == 1


def test_a_party_without_entries_has_an_empty_balance():
    view = balances.balance_of(UserFactory().pk, "BRL")
    assert (view.settled_minor, view.pending_minor, view.available_minor) == (0, 0, 0)
    assert view.releases == () and view.withdrawable_minor == 0


def test_an_outcome_for_a_withdrawal_not_sent_yet_is_kept_and_applied_when_sent_again(
    django_capture_on_commit_callbacks, settings
):
    from coproduction.services.withdrawals import payout_webhook_handle

    account = PayoutAccountFactory()
    producer = account.user
    sale = buy(ProductFactory(producer=producer, price_minor=100_00, guarantee_days=7))
    day = balances.release_day(sale.paid_at, 7, "BRL")
    later = timezone.now() + timedelta(days=(day - balances.today()).days + 1)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later):
        withdrawal = withdrawal_request(party=producer, currency="BRL", amount_minor=80_00)
        assert withdrawal.status == Withdrawal.Status.IN_REVIEW
        event = {
            "event_id": "evt-early",
            "kind": "payout.paid",
            "external_id": withdrawal.idempotency_key,
            "payload": {},
        }
        assert payout_webhook_handle(**event) == "ignored"
        withdrawal.refresh_from_db()
        assert withdrawal.status == Withdrawal.Status.IN_REVIEW
        settings.PAYOUT_SIMULATOR_DELAY_SECONDS = 0
        withdrawal_approve(withdrawal_id=withdrawal.pk, admin=UserFactory(is_staff=True))
        assert payout_webhook_handle(**event) == "processed"
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
