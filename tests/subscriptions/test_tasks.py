"""The three billing beat tasks: scheduled, registered, each doing its step once, and a
duplicated delivery doing nothing more."""

from datetime import date, timedelta

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings

from config.celery import app
from subscriptions import tasks
from subscriptions.models import Recurrence, Subscription
from tests.factories import PlanFactory
from tests.subscriptions.factories import DECLINED, at, counts, subscribe_on

pytestmark = pytest.mark.django_db

R = Recurrence.Status
BILLING = {
    "create-due-recurrences": "subscriptions.create_due_recurrences",
    "collect-recurrences": "subscriptions.collect_recurrences",
    "expire-payments": "subscriptions.expire_payments",
}
START = date(2025, 1, 31)


def test_beat_schedules_the_three_billing_tasks():
    schedule = settings.CELERY_BEAT_SCHEDULE
    for entry, task in BILLING.items():
        assert schedule[entry]["task"] == task
        assert isinstance(schedule[entry]["schedule"], crontab)
        assert task in app.tasks, f"{task} is scheduled but no worker would know it"


def test_collect_runs_at_least_as_often_as_create_due():
    """A created recurrence is charged within minutes: collect runs every minute."""
    collect = settings.CELERY_BEAT_SCHEDULE["collect-recurrences"]["schedule"]
    assert collect.minute == set(range(60))


@pytest.fixture
def due_subscription():
    """A monthly card subscription whose second installment is due on Feb 28."""
    return subscribe_on(START, PlanFactory(price_minor=4990))


def test_create_due_task_creates_the_due_recurrence_once(due_subscription):
    with time_machine.travel(at(date(2025, 2, 27)), tick=False):
        assert tasks.create_due_recurrences.delay().get() == 0  # not due yet
    with time_machine.travel(at(date(2025, 2, 28)), tick=False):
        assert tasks.create_due_recurrences.delay().get() == 1
        assert tasks.create_due_recurrences.delay().get() == 0
    second = due_subscription.recurrences.get(number=2)
    assert (second.due_date, second.status) == (date(2025, 2, 28), R.SCHEDULED)


def test_collect_task_charges_once(due_subscription):
    with time_machine.travel(at(date(2025, 2, 28)), tick=False):
        tasks.create_due_recurrences()
        assert tasks.collect_recurrences() == 1
        before = counts()
        assert tasks.collect_recurrences() == 0
        assert counts() == before
    assert due_subscription.recurrences.get(number=2).status == R.PAID


def test_expire_task_closes_a_declined_recurrence_once(due_subscription):
    Subscription.objects.filter(pk=due_subscription.pk).update(payment_token=DECLINED)
    day = date(2025, 2, 28)
    with time_machine.travel(at(day), tick=False):
        tasks.create_due_recurrences()
        tasks.collect_recurrences()
    for offset in (1, 3, 5):  # the retries; the last one makes it unpaid
        with time_machine.travel(at(day + timedelta(days=offset)), tick=False):
            tasks.collect_recurrences()
    second = due_subscription.recurrences.get(number=2)
    assert second.status == R.UNPAID
    with time_machine.travel(at(day + timedelta(days=10)), tick=False):
        assert tasks.expire_payments() == 0  # already closed by the last retry
    due_subscription.refresh_from_db()
    assert due_subscription.status == Subscription.Status.OVERDUE
    assert due_subscription.consecutive_unpaid == 1


def test_expire_task_closes_an_unpaid_slip_once():
    subscription = subscribe_on(START, PlanFactory(), method="boleto", country="BR", token="")
    with time_machine.travel(at(START + timedelta(days=2)), tick=False):
        assert tasks.expire_payments() == 0
    with time_machine.travel(at(START + timedelta(days=3)), tick=False):
        assert tasks.expire_payments() == 1
        assert tasks.expire_payments() == 0
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.INACTIVE
    assert subscription.consecutive_unpaid == 1
