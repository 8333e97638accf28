"""Charge dates: the anchor's day of the month (clamped to short months, anchor kept), the
anchor's weekday for weekly plans, and catch-up lists of due numbers."""

import itertools
from datetime import date, timedelta

import pytest

from products.models import Plan
from subscriptions.schedule import due_date, recurrences_due

P = Plan.Periodicity


def dates(anchor: date, periodicity: str, count: int) -> list[date]:
    return [due_date(anchor, periodicity, number) for number in range(1, count + 1)]


def test_number_one_is_the_purchase_day_for_every_periodicity():
    for periodicity in P.values:
        assert due_date(date(2025, 5, 17), periodicity, 1) == date(2025, 5, 17)


def test_numbers_start_at_one():
    with pytest.raises(ValueError, match="numbered from 1"):
        due_date(date(2025, 1, 1), P.MONTHLY, 0)


def test_month_end_anchor_clamps_and_comes_back():
    assert dates(date(2025, 1, 31), P.MONTHLY, 6) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
    ]


def test_month_end_anchor_in_a_leap_year_uses_29_february():
    assert dates(date(2024, 1, 31), P.MONTHLY, 3) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]


def test_30th_anchor_keeps_the_30th_after_february():
    assert dates(date(2025, 1, 30), P.MONTHLY, 4) == [
        date(2025, 1, 30),
        date(2025, 2, 28),
        date(2025, 3, 30),
        date(2025, 4, 30),
    ]


def test_monthly_crosses_the_year():
    assert dates(date(2025, 11, 15), P.MONTHLY, 4) == [
        date(2025, 11, 15),
        date(2025, 12, 15),
        date(2026, 1, 15),
        date(2026, 2, 15),
    ]


def test_yearly_on_29_february_falls_on_28_february_in_common_years():
    assert dates(date(2024, 2, 29), P.YEARLY, 6) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]


def test_weekly_keeps_the_weekday():
    anchor = date(2025, 1, 29)  # a Wednesday
    weekly = dates(anchor, P.WEEKLY, 60)
    assert {day.weekday() for day in weekly} == {anchor.weekday()}
    assert all(b - a == timedelta(weeks=1) for a, b in itertools.pairwise(weekly))
    assert weekly[5] == date(2025, 3, 5)


@pytest.mark.parametrize(
    ("periodicity", "expected"),
    [
        (P.WEEKLY, [date(2025, 8, 31), date(2025, 9, 7), date(2025, 9, 14)]),
        (P.MONTHLY, [date(2025, 8, 31), date(2025, 9, 30), date(2025, 10, 31)]),
        (P.BIMONTHLY, [date(2025, 8, 31), date(2025, 10, 31), date(2025, 12, 31)]),
        (P.QUARTERLY, [date(2025, 8, 31), date(2025, 11, 30), date(2026, 2, 28)]),
        (P.SEMIANNUAL, [date(2025, 8, 31), date(2026, 2, 28), date(2026, 8, 31)]),
        (P.YEARLY, [date(2025, 8, 31), date(2026, 8, 31), date(2027, 8, 31)]),
    ],
)
def test_every_periodicity(periodicity, expected):
    assert dates(date(2025, 8, 31), periodicity, 3) == expected


def test_every_plan_periodicity_has_a_schedule():
    for periodicity in P.values:
        assert due_date(date(2025, 1, 1), periodicity, 2) > date(2025, 1, 1)


def test_recurrences_due_lists_every_missed_number_once():
    anchor = date(2025, 1, 31)
    assert recurrences_due(anchor, P.MONTHLY, date(2025, 1, 30)) == []
    assert recurrences_due(anchor, P.MONTHLY, date(2025, 1, 31)) == [1]
    assert recurrences_due(anchor, P.MONTHLY, date(2025, 4, 29), after=1) == [2, 3]
    assert recurrences_due(anchor, P.MONTHLY, date(2025, 4, 30), after=1) == [2, 3, 4]
    assert recurrences_due(anchor, P.MONTHLY, date(2025, 4, 30), after=4) == []
