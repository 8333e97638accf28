"""Time that follows people (issue 9): stored in UTC, decided in the zone of the person it
belongs to. Billing runs as beat does, every hour, under time-machine."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from coproduction.dates import contract_in_force_until, producer_zone
from products.models import Plan
from subscriptions.services.billing import recurrences_collect, recurrences_create_due
from tests.coproduction.factories import ContractFactory
from tests.coproduction.test_split_rules import one_time_sale, pays
from tests.factories import PlanFactory, ProductFactory, UserFactory
from tests.subscriptions.factories import charges_for, subscribe

pytestmark = pytest.mark.django_db

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MEXICO_CITY = ZoneInfo("America/Mexico_City")
LISBON = ZoneInfo("Europe/Lisbon")


def beat_every_hour(
    subscription, start: datetime, end: datetime, created: dict | None = None
) -> dict[int, datetime]:
    """Run create-due and collect every hour from `start` to `end`, as beat would; returns
    when each installment number was first seen (in UTC), added to `created`."""
    created = created if created is not None else {}
    for number in subscription.recurrences.values_list("number", flat=True):
        created.setdefault(number, None)
    moment = start
    while moment <= end:
        with time_machine.travel(moment, tick=False):
            recurrences_create_due()
            recurrences_collect()
        for number in subscription.recurrences.values_list("number", flat=True):
            created.setdefault(number, moment)
        moment += timedelta(hours=1)
    return created


def charges_per_installment(subscription) -> dict[int, int]:
    return {r.number: charges_for(r).count() for r in subscription.recurrences.all()}


def local_hour() -> int:
    return settings.BILLING_LOCAL_HOUR


def test_a_sao_paulo_purchase_at_2230_on_31_january_anchors_on_31_january():
    buyer = UserFactory(time_zone="America/Sao_Paulo")
    plan = PlanFactory(periodicity=Plan.Periodicity.MONTHLY)
    with time_machine.travel(datetime(2027, 1, 31, 22, 30, tzinfo=SAO_PAULO), tick=False):
        subscription = subscribe(plan, buyer)  # 01:30 on 1 Feb in UTC

    assert subscription.anchor_date == date(2027, 1, 31)
    assert subscription.time_zone == "America/Sao_Paulo"
    assert subscription.next_charge_date == date(2027, 2, 28)


def test_the_sao_paulo_subscription_is_charged_on_28_february_and_31_march_local_time():
    buyer = UserFactory(time_zone="America/Sao_Paulo")
    plan = PlanFactory(periodicity=Plan.Periodicity.MONTHLY)
    with time_machine.travel(datetime(2027, 1, 31, 22, 30, tzinfo=SAO_PAULO), tick=False):
        subscription = subscribe(plan, buyer)

    created = beat_every_hour(
        subscription,
        datetime(2027, 2, 27, 0, 0, tzinfo=UTC),
        datetime(2027, 3, 2, 0, 0, tzinfo=UTC),
    )
    beat_every_hour(
        subscription,
        datetime(2027, 3, 30, 0, 0, tzinfo=UTC),
        datetime(2027, 4, 2, 0, 0, tzinfo=UTC),
        created,
    )

    second, third = created[2].astimezone(SAO_PAULO), created[3].astimezone(SAO_PAULO)
    assert (second.date(), second.hour) == (date(2027, 2, 28), local_hour())
    assert (third.date(), third.hour) == (date(2027, 3, 31), local_hour())
    subscription.refresh_from_db()
    assert subscription.anchor_date == date(2027, 1, 31)  # kept for later months
    assert subscription.next_charge_date == date(2027, 4, 30)
    assert charges_per_installment(subscription) == {1: 1, 2: 1, 3: 1}


def test_the_leap_year_february_charges_on_the_29th():
    buyer = UserFactory(time_zone="America/Sao_Paulo")
    with time_machine.travel(datetime(2028, 1, 31, 22, 30, tzinfo=SAO_PAULO), tick=False):
        subscription = subscribe(PlanFactory(), buyer)

    created = beat_every_hour(
        subscription,
        datetime(2028, 2, 28, 0, 0, tzinfo=UTC),
        datetime(2028, 3, 1, 12, 0, tzinfo=UTC),
    )

    assert created[2].astimezone(SAO_PAULO).date() == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("zone", "purchase", "window"),
    [
        # Mexico's old rules: summer time began on Sunday 4 April 2021 (02:00 → 03:00) and ended
        # on Sunday 31 October 2021 (02:00 → 01:00, a 25-hour day).
        (
            "America/Mexico_City",
            datetime(2021, 3, 28, 10, 0),
            (date(2021, 3, 27), date(2021, 4, 19)),
        ),
        (
            "America/Mexico_City",
            datetime(2021, 10, 24, 10, 0),
            (date(2021, 10, 23), date(2021, 11, 15)),
        ),
        # Portugal: 28 March 2027 (01:00 → 02:00) and 31 October 2027 (02:00 → 01:00).
        ("Europe/Lisbon", datetime(2027, 3, 21, 10, 0), (date(2027, 3, 20), date(2027, 4, 12))),
        ("Europe/Lisbon", datetime(2027, 10, 24, 10, 0), (date(2027, 10, 23), date(2027, 11, 15))),
    ],
)
def test_a_weekly_plan_across_a_daylight_saving_change_charges_once_a_week_on_the_local_weekday(
    zone, purchase, window
):
    local = ZoneInfo(zone)
    buyer = UserFactory(time_zone=zone)
    plan = PlanFactory(periodicity=Plan.Periodicity.WEEKLY)
    with time_machine.travel(purchase.replace(tzinfo=local), tick=False):
        subscription = subscribe(plan, buyer)
    start, end = window

    created = beat_every_hour(
        subscription,
        datetime.combine(start, time(0), tzinfo=UTC),
        datetime.combine(end, time(0), tzinfo=UTC),
    )

    local_created = {n: moment.astimezone(local) for n, moment in created.items() if moment}
    weekday = purchase.weekday()
    assert sorted(created) == [1, 2, 3, 4]  # one per week, nothing doubled or skipped
    for number in (2, 3, 4):
        assert local_created[number].date() == purchase.date() + timedelta(weeks=number - 1)
        assert local_created[number].weekday() == weekday
        assert local_created[number].hour == local_hour()
    assert set(charges_per_installment(subscription).values()) == {1}


def test_a_recurrence_is_not_due_before_the_buyers_local_date_reaches_it():
    """At 23:00 UTC on the 28th it is already 1 March in no zone west of Greenwich, so a
    São Paulo buyer's 28 February charge runs that day, not when UTC's date turns."""
    buyer = UserFactory(time_zone="Asia/Tokyo")  # UTC+9: its date turns 9 hours before UTC's
    with time_machine.travel(datetime(2027, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))):
        subscription = subscribe(PlanFactory(), buyer)

    created = beat_every_hour(
        subscription,
        datetime(2027, 2, 8, 12, 0, tzinfo=UTC),
        datetime(2027, 2, 10, 12, 0, tzinfo=UTC),
    )

    # 08:00 in Tokyo on 10 February is 23:00 UTC on 9 February.
    assert created[2] == datetime(2027, 2, 9, 23, 0, tzinfo=UTC)


# --- contracts: through the end of their end date in the producer's own zone -------------------


def test_the_producers_own_time_zone_decides_the_end_of_a_contract():
    producer = UserFactory(time_zone="America/Sao_Paulo")  # no validated country at all
    product = ProductFactory(producer=producer)
    contract = ContractFactory(
        product=product,
        active=True,
        end_date=date(2026, 5, 10),
        accepted_at=datetime(2026, 1, 5, tzinfo=UTC),
    )

    assert producer_zone(producer) == SAO_PAULO
    assert contract_in_force_until(contract) == datetime(2026, 5, 11, tzinfo=SAO_PAULO)
    assert pays(contract, one_time_sale(product, datetime(2026, 5, 10, 23, 50, tzinfo=SAO_PAULO)))
    assert not pays(
        contract, one_time_sale(product, datetime(2026, 5, 11, 0, 10, tzinfo=SAO_PAULO))
    )


def test_the_account_zone_wins_over_the_validated_country():
    producer = UserFactory(validated=True, validation__country="BR", time_zone="America/Manaus")

    assert producer_zone(producer) == ZoneInfo("America/Manaus")


# --- guarantee periods end at the buyer's local end of day ----------------------------------


@pytest.mark.parametrize(
    ("asked_at", "allowed"),
    [
        (datetime(2026, 5, 10, 23, 50, tzinfo=SAO_PAULO), True),  # 02:50 on the 11th in UTC
        (datetime(2026, 5, 11, 0, 10, tzinfo=SAO_PAULO), False),
    ],
)
def test_the_guarantee_ends_at_the_end_of_its_last_day_in_the_buyers_zone(asked_at, allowed):
    from accounts.exceptions import DomainError
    from products.models import Sale
    from products.services.refunds import sale_refund
    from tests.factories import SaleFactory

    buyer = UserFactory(time_zone="America/Sao_Paulo")
    # 22:30 on 3 May in São Paulo is already 4 May in UTC: the 7 days count from the 3rd there.
    with time_machine.travel(datetime(2026, 5, 3, 22, 30, tzinfo=SAO_PAULO), tick=False):
        sale = SaleFactory(buyer=buyer, paid=True, product__guarantee_days=7)
    assert sale.guarantee_last_day == date(2026, 5, 10)

    with time_machine.travel(asked_at, tick=False):
        if allowed:
            sale_refund(sale=sale, actor=buyer)
        else:
            with pytest.raises(DomainError, match="guarantee period"):
                sale_refund(sale=sale, actor=buyer)

    sale.refresh_from_db()
    assert (sale.status == Sale.Status.REFUNDED) is allowed


# --- reports: months are the viewer's -----------------------------------------------------------


def test_earnings_are_bucketed_by_the_viewers_month(client):
    """A sale at 22:00 on 31 January in São Paulo is February in UTC; its producer in São Paulo
    sees it in January."""
    from tests.factories import ProductFactory, SaleFactory

    producer = UserFactory(validated=True, time_zone="America/Sao_Paulo", language="en")
    product = ProductFactory(producer=producer)
    with time_machine.travel(datetime(2027, 1, 31, 22, 0, tzinfo=SAO_PAULO), tick=False):
        SaleFactory(product=product, paid=True, amount_minor=10000)
    with time_machine.travel(datetime(2027, 2, 15, 12, 0, tzinfo=UTC), tick=True):
        client.force_login(producer)
        page = client.get("/earnings/").content.decode()

    by_month = page[page.index("By month") :]
    assert "January 2027" in by_month
    assert "February 2027" not in by_month


def test_accepting_an_invitation_counts_its_end_date_in_the_producers_zone():
    """23:00 on 10 May in São Paulo is 11 May in Tokyo, where the cocreator is: an invitation
    ending on 10 May can still be accepted, because the producer's clock decides."""
    from coproduction.models import Contract
    from coproduction.services.contracts import contract_accept

    producer = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    cocreator = UserFactory(validated=True, time_zone="Asia/Tokyo")
    contract = ContractFactory(
        product=ProductFactory(producer=producer), cocreator=cocreator, end_date=date(2026, 5, 10)
    )

    with time_machine.travel(datetime(2026, 5, 10, 23, 0, tzinfo=SAO_PAULO), tick=False):
        contract_accept(contract=contract, actor=cocreator, terms_accepted=True)

    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
