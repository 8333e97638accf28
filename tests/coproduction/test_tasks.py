"""Daily expiry: active contracts whose end date has passed become Expired, once."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from config.celery import app
from coproduction.models import ChangeRequest, Contract
from coproduction.services.contracts import contracts_expire
from coproduction.tasks import expire_contracts
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory

pytestmark = pytest.mark.django_db

Status = Contract.Status
TODAY = datetime.date(2026, 6, 15)


def day(offset: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=offset)


def test_only_active_contracts_whose_end_date_passed_expire():
    due = ContractFactory(active=True, end_date=day(-1))
    long_due = ContractFactory(active=True, end_date=day(-400))
    last_day = ContractFactory(active=True, end_date=TODAY)
    future = ContractFactory(active=True, end_date=day(1))
    eternal = ContractFactory(active=True, end_date=None)
    pending = ContractFactory(end_date=day(-1))
    closed = {
        status: ContractFactory(status=status, end_date=day(-1))
        for status in (Status.DECLINED, Status.CANCELED, Status.ENDED)
    }

    assert contracts_expire(today=TODAY) == 2

    def status(contract):
        contract.refresh_from_db()
        return contract.status

    assert status(due) == status(long_due) == Status.EXPIRED
    assert due.closed_at is not None
    assert status(last_day) == status(future) == status(eternal) == Status.ACTIVE
    assert status(pending) == Status.PENDING
    assert {s: status(c) for s, c in closed.items()} == {s: s for s in closed}


def test_expiry_writes_an_event_without_an_actor_and_sends_no_email(
    mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(active=True, end_date=day(-1))

    with django_capture_on_commit_callbacks(execute=True):
        contracts_expire(today=TODAY)

    (event,) = contract.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status, event.note) == (
        "expired",
        None,
        Status.ACTIVE,
        Status.EXPIRED,
        "End date passed",
    )
    assert mailoutbox == []


@pytest.mark.parametrize("kind", list(ChangeRequest.Kind))
def test_expiry_withdraws_pending_requests(kind):
    change = ChangeRequestFactory(
        contract=ContractFactory(active=True, end_date=day(-1)), kind=kind
    )
    answered = ChangeRequestFactory(contract=change.contract, refused=True)

    contracts_expire(today=TODAY)

    change.refresh_from_db()
    answered.refresh_from_db()
    assert change.status == ChangeRequest.Status.WITHDRAWN
    assert change.responded_at is not None
    assert answered.status == ChangeRequest.Status.REFUSED


def test_expiry_is_idempotent():
    contract = ContractFactory(active=True, end_date=day(-1))

    assert contracts_expire(today=TODAY) == 1
    contract.refresh_from_db()
    closed_at = contract.closed_at

    assert contracts_expire(today=TODAY) == 0
    assert contracts_expire(today=day(30)) == 0
    contract.refresh_from_db()
    assert contract.closed_at == closed_at
    assert contract.events.count() == 1


def test_expiry_defaults_to_the_local_date():
    today = timezone.localdate()
    due = ContractFactory(active=True, end_date=today - datetime.timedelta(days=1))
    last_day = ContractFactory(active=True, end_date=today)

    assert contracts_expire() == 1

    due.refresh_from_db()
    last_day.refresh_from_db()
    assert (due.status, last_day.status) == (Status.EXPIRED, Status.ACTIVE)


def test_the_celery_task_expires_contracts_the_day_after_the_end_date():
    contract = ContractFactory(active=True, end_date=day(0))

    with time_machine.travel(datetime.datetime(2026, 6, 15, 23, 59, tzinfo=datetime.UTC)):
        assert expire_contracts.delay().get() == 0
    with time_machine.travel(datetime.datetime(2026, 6, 16, 0, 5, tzinfo=datetime.UTC)):
        assert expire_contracts.delay().get() == 1
        assert expire_contracts.delay().get() == 0

    contract.refresh_from_db()
    assert contract.status == Status.EXPIRED


def test_the_task_is_registered_and_scheduled_daily():
    assert "coproduction.expire_contracts" in app.tasks
    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "coproduction.expire_contracts"
    ]
    schedule = entry["schedule"]
    # Once a day: crontab fields as sets of the hours and minutes it fires on.
    assert len(schedule.hour) == 1 and len(schedule.minute) == 1
    assert len(schedule.day_of_week) == 7
