"""Charge dates fixed by the purchase date (the anchor).

Monthly-based plans charge on the anchor's day of the month; a month without that day charges
on its last day, and the anchor is kept for later months (31 Jan → 28/29 Feb → 31 Mar). Weekly
plans charge on the anchor's weekday. A yearly plan bought on 29 Feb charges on 28 Feb in common
years and 29 Feb in leap years."""

import calendar
from datetime import date, timedelta

MONTHS_BETWEEN = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "semiannual": 6, "yearly": 12}


def due_date(anchor: date, periodicity: str, number: int) -> date:
    """The date of recurrence `number` (1 = the purchase itself)."""
    if number < 1:
        raise ValueError("recurrences are numbered from 1")
    if periodicity == "weekly":
        return anchor + timedelta(weeks=number - 1)
    months = anchor.month - 1 + MONTHS_BETWEEN[periodicity] * (number - 1)
    year, month = anchor.year + months // 12, months % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def recurrences_due(anchor: date, periodicity: str, today: date, *, after: int = 0) -> list[int]:
    """Numbers above `after` whose date is today or earlier."""
    numbers, number = [], after + 1
    while due_date(anchor, periodicity, number) <= today:
        numbers.append(number)
        number += 1
    return numbers
