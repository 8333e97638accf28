"""The monthly statement page and its CSV (coproduction.statements): always the signed-in
person's own, for a month and a currency chosen in the query string."""

import csv
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.locales import local_date, user_zone
from coproduction import statements
from products.money import to_major
from products.reports import month_after, month_before
from products.views.earnings import _Echo, _text

# Statements begin with the platform; a year outside this is a typo, not a month to show.
FIRST_YEAR = 2000


@dataclass
class Choice:
    """What the query string asks for, made valid: the currencies the person may choose from,
    the chosen one and month, and what was wrong with the request (empty when nothing was)."""

    currencies: list[str]
    currency: str | None
    month: date
    problems: list[str]


def _month_of(request, today: date) -> tuple[date | None, bool]:
    """The month asked for as its first day (None when none was asked for), and whether the
    request named one that is not a month (or has not begun yet)."""
    period = request.GET.get("period")
    year, month = request.GET.get("year"), request.GET.get("month")
    if period is not None:  # the month picker's "YYYY-MM"
        year, _sep, month = period.partition("-")
    if year is None and month is None:
        return None, False
    try:
        chosen = date(int(str(year).strip()), int(str(month).strip()), 1)
    except (TypeError, ValueError, OverflowError):
        return None, True
    if chosen.year < FIRST_YEAR or chosen > today.replace(day=1):
        return None, True
    return chosen, False


def _choose(request) -> Choice:
    user = request.user
    today = local_date(user)
    currencies = statements.statement_currencies(party_id=user.pk)
    problems = []
    asked = request.GET.get("currency")
    currency = currencies[0] if currencies else None
    if asked is not None:
        if asked in currencies:
            currency = asked
        else:
            problems.append(_("You have no balance in that currency: showing another."))
    month, bad_month = _month_of(request, today)
    if bad_month:
        problems.append(_("That is not a month with a statement: showing this month."))
    return Choice(currencies, currency, month or today.replace(day=1), problems)


@login_required
@require_GET
def statement(request):
    choice = _choose(request)
    context = {"choice": choice, "statement": None}
    if choice.currency is not None:
        zone = user_zone(request.user)
        month = choice.month
        context["statement"] = statements.statement_for(
            party_id=request.user.pk,
            currency=choice.currency,
            year=month.year,
            month=month.month,
            zone=zone,
        )
        months = statements.statement_months(
            party_id=request.user.pk, currency=choice.currency, zone=zone
        )
        this_month = local_date(request.user).replace(day=1)
        # This month and the chosen one are offered even without entries.
        context["months"] = sorted({*months, month, this_month}, reverse=True)
        context["previous_month"] = month_before(month) if months and min(months) < month else None
        context["next_month"] = month_after(month) if month < this_month else None
    return render(request, "coproduction/statement.html", context)


@login_required
@require_GET
def statement_csv(request):
    """The statement as CSV for a spreadsheet or a script: a file has no room for "showing
    another month instead", so a request that is not exactly valid is not found."""
    choice = _choose(request)
    if choice.problems or choice.currency is None:
        raise Http404("No such statement.")
    month = choice.month
    statement = statements.statement_for(
        party_id=request.user.pk,
        currency=choice.currency,
        year=month.year,
        month=month.month,
        zone=user_zone(request.user),
    )
    response = HttpResponse("".join(csv_lines(statement)), content_type="text/csv; charset=utf-8")
    filename = f"statement-{month:%Y-%m}-{statement.currency}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


CSV_COLUMNS = ["section", "product", "role", "amount"]


def csv_lines(statement: statements.Statement):
    """Two header rows (the date range with the time zone, the currency), a blank row, then
    one row per line of the statement. Amounts are each line's effect on the balance in major
    units with a dot (fees and payouts negative), so the rows from the opening balance down
    to the payouts add up to the closing balance."""
    writer = csv.writer(_Echo())
    currency = statement.currency

    def money(amount_minor: int) -> str:
        return str(to_major(amount_minor, currency))

    zone = getattr(statement.zone, "key", str(statement.zone))
    yield writer.writerow(
        ["Date range", statement.first_day.isoformat(), statement.last_day.isoformat(), zone]
    )
    yield writer.writerow(["Currency", currency])
    yield writer.writerow([])
    yield writer.writerow(CSV_COLUMNS)
    yield writer.writerow(["Opening balance", "", "", money(statement.opening_minor)])
    for line in statement.earnings:
        yield writer.writerow(
            ["Earnings", _text(line.product_title), line.role, money(line.amount_minor)]
        )
    for line in statement.refunds:
        yield writer.writerow(["Refunds", _text(line.product_title), "", money(line.amount_minor)])
    for line in statement.chargebacks:
        yield writer.writerow(
            ["Chargebacks", _text(line.product_title), "", money(line.amount_minor)]
        )
    yield writer.writerow(["Withdrawal fees", "", "", money(statement.fees_effect_minor)])
    yield writer.writerow(["Payouts", "", "", money(statement.payouts_effect_minor)])
    yield writer.writerow(["Closing balance", "", "", money(statement.closing_minor)])
    yield writer.writerow(
        ["Of which in withdrawal", "", "", money(statement.closing_in_withdrawal_minor)]
    )
