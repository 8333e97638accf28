"""Daily expiry: active contracts whose end date is over in the producer's time zone become
Expired, once. The factories' producers are Brazilian: an end date is over at 03:00 UTC the
next day (America/Sao_Paulo has no daylight saving time since 2019)."""

import datetime

import pytest
import time_machine
from django.conf import settings

from config.celery import app
from coproduction.models import ChangeRequest, Contract
from coproduction.services.contracts import contracts_expire
from coproduction.tasks import expire_contracts
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory

pytestmark = pytest.mark.django_db

Status = Contract.Status
TODAY = datetime.date(2026, 6, 15)
NOON = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)  # 09:00 in São Paulo


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

    assert contracts_expire(now=NOON) == 2

    def status(contract):
        contract.refresh_from_db()
        return contract.status

    assert status(due) == status(long_due) == Status.EXPIRED
    assert due.closed_at is not None
    assert status(last_day) == status(future) == status(eternal) == Status.ACTIVE
    assert status(pending) == Status.PENDING
    assert {s: status(c) for s, c in closed.items()} == {s: s for s in closed}


def test_expiry_writes_an_event_without_an_actor_and_tells_both_parties_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(active=True, end_date=day(-1))

    with django_capture_on_commit_callbacks(execute=True):
        contracts_expire(now=NOON)

    (event,) = contract.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status, event.note) == (
        "expired",
        None,
        Status.ACTIVE,
        Status.EXPIRED,
        "End date passed",
    )
    # SPEC (Notifications): contract expiry is told on the day, to both parties, once.
    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == sorted([contract.product.producer.email, contract.cocreator.email])
    with django_capture_on_commit_callbacks(execute=True):
        contracts_expire(now=NOON)
    assert len(mailoutbox) == 2


@pytest.mark.parametrize("kind", list(ChangeRequest.Kind))
def test_expiry_withdraws_pending_requests(kind):
    change = ChangeRequestFactory(
        contract=ContractFactory(active=True, end_date=day(-1)), kind=kind
    )
    answered = ChangeRequestFactory(contract=change.contract, refused=True)

    contracts_expire(now=NOON)

    change.refresh_from_db()
    answered.refresh_from_db()
    assert change.status == ChangeRequest.Status.WITHDRAWN
    assert change.responded_at is not None
    assert answered.status == ChangeRequest.Status.REFUSED


def test_expiry_is_idempotent():
    contract = ContractFactory(active=True, end_date=day(-1))

    assert contracts_expire(now=NOON) == 1
    contract.refresh_from_db()
    closed_at = contract.closed_at

    assert contracts_expire(now=NOON) == 0
    assert contracts_expire(now=NOON + datetime.timedelta(days=30)) == 0
    contract.refresh_from_db()
    assert contract.closed_at == closed_at
    assert contract.events.count() == 1


def test_expiry_defaults_to_now(time_machine):
    time_machine.move_to(NOON, tick=False)
    due = ContractFactory(active=True, end_date=day(-1))
    last_day = ContractFactory(active=True, end_date=TODAY)

    assert contracts_expire() == 1

    due.refresh_from_db()
    last_day.refresh_from_db()
    assert (due.status, last_day.status) == (Status.EXPIRED, Status.ACTIVE)


def test_the_celery_task_expires_contracts_when_the_end_date_is_over_for_the_producer():
    contract = ContractFactory(active=True, end_date=day(0))

    # 23:59 on the end date in São Paulo; midnight had passed in UTC three hours before.
    with time_machine.travel(datetime.datetime(2026, 6, 16, 2, 59, tzinfo=datetime.UTC)):
        assert expire_contracts.delay().get() == 0
    with time_machine.travel(datetime.datetime(2026, 6, 16, 3, 0, tzinfo=datetime.UTC)):
        assert expire_contracts.delay().get() == 1
        assert expire_contracts.delay().get() == 0

    contract.refresh_from_db()
    assert contract.status == Status.EXPIRED


def test_the_task_is_registered_and_scheduled_hourly():
    assert "coproduction.expire_contracts" in app.tasks
    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "coproduction.expire_contracts"
    ]
    schedule = entry["schedule"]
    # Every hour (end dates are local to each producer's zone): crontab fields as sets.
    assert len(schedule.hour) == 24 and len(schedule.minute) == 1
    assert len(schedule.day_of_week) == 7
