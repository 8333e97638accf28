"""Monthly statements (coproduction.statements): the figures of a month with sales in two
roles and two products, a refund, a chargeback, a paid withdrawal with its fee and one in
flight; the identity opening + lines == closing; months in the party's own time zone; the
cost in queries whatever the number of entries."""

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from coproduction.models import LedgerEntry, Withdrawal
from coproduction.statements import (
    HELD,
    EarningLine,
    ReversalLine,
    statement_for,
    statement_months,
)
from tests.factories import ProductFactory, UserFactory
from tests.statements.builders import at, march, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(time_machine, django_capture_on_commit_callbacks):
    return march(time_machine, django_capture_on_commit_callbacks)


def held_sum(party, **filters) -> int:
    return (
        LedgerEntry.objects.filter(
            beneficiary=party, currency="BRL", bucket__in=HELD, **filters
        ).aggregate(total=Sum("amount_minor"))["total"]
        or 0
    )


def test_the_month_s_figures(month):
    assert month.paid_withdrawal.status == Withdrawal.Status.PAID
    assert month.open_withdrawal.status == Withdrawal.Status.REQUESTED

    statement = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=3)

    assert statement.opening_minor == 2 * 8960  # January's two sales, nothing withdrawn yet
    assert statement.opening_in_withdrawal_minor == 0
    assert statement.earnings == (
        EarningLine(month.own.pk, "Own course", "producer", 2 * 8960),
        EarningLine(month.theirs.pk, "Their course", "cocreator", 2 * 896),
    )
    assert statement.earnings[1].role_label == "Cocreator"
    # 50.00 of a 100.00 sale: the producer gives back 50.00 less its part of the fee.
    assert statement.refunds == (ReversalLine(month.own.pk, "Own course", -4480),)
    assert statement.chargebacks == (ReversalLine(month.theirs.pk, "Their course", -896),)
    assert statement.fees_minor == 367
    assert statement.payouts_minor == 6000 - 367
    assert statement.closing_minor == 17920 + 19712 - 4480 - 896 - 367 - 5633 == 26256
    # The second withdrawal is still held, in withdrawal.
    assert statement.closing_in_withdrawal_minor == 5000
    assert statement.has_entries


def test_opening_plus_the_lines_is_the_closing_balance(month):
    for number in (1, 2, 3, 4):
        statement = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=number)
        assert statement.balances, number
        assert (
            statement.opening_minor
            + statement.earnings_minor
            + statement.refunds_minor
            + statement.chargebacks_minor
            - statement.fees_minor
            - statement.payouts_minor
        ) == statement.closing_minor


def test_the_balances_are_the_sums_of_the_entries_before_and_after_the_month(month):
    statement = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=3)

    assert statement.opening_minor == held_sum(month.party, created_at__lt=statement.starts_at)
    assert statement.closing_minor == held_sum(month.party, created_at__lt=statement.ends_at)
    february = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=2)
    assert february.closing_minor == statement.opening_minor
    assert not february.has_entries and february.earnings == ()
    april = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=4)
    assert april.opening_minor == statement.closing_minor == april.closing_minor


def test_a_withdrawal_given_back_nets_to_zero(month, time_machine):
    from coproduction.services.withdrawals import withdrawal_cancel

    time_machine.move_to(at(2026, 4, 2, 12), tick=False)
    withdrawal_cancel(withdrawal_id=month.open_withdrawal.pk, party=month.party)

    april = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=4)

    assert april.opening_in_withdrawal_minor == 5000
    assert april.closing_in_withdrawal_minor == 0
    assert april.opening_minor == april.closing_minor  # back to available: still held
    assert april.has_entries and april.fees_minor == april.payouts_minor == 0
    assert april.balances


def test_the_months_are_the_party_s_own(time_machine):
    sao_paulo = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    utc = UserFactory(validated=True, time_zone="UTC")
    products = {user: ProductFactory(producer=user) for user in (sao_paulo, utc)}
    for product in products.values():
        # 23:00 of Feb 28 in São Paulo, 02:00 of Mar 1 in UTC.
        sell(time_machine, product, at(2026, 3, 1, 2))
        # 23:00 of Mar 31 in São Paulo.
        sell(time_machine, product, at(2026, 4, 1, 2))

    def earned(user, number):
        return statement_for(party_id=user.pk, currency="BRL", year=2026, month=number)

    assert earned(sao_paulo, 2).earnings_minor == 8960
    assert earned(sao_paulo, 3).earnings_minor == 8960  # the one at 02:00 UTC on Apr 1
    assert earned(sao_paulo, 3).opening_minor == 8960
    assert earned(sao_paulo, 4).earnings_minor == 0
    assert earned(utc, 2).earnings_minor == 0
    assert earned(utc, 3).earnings_minor == 8960
    assert earned(utc, 4).earnings_minor == 8960
    march_sp = earned(sao_paulo, 3)
    assert march_sp.starts_at == at(2026, 3, 1, 3) and march_sp.ends_at == at(2026, 4, 1, 3)
    assert (march_sp.first_day.isoformat(), march_sp.last_day.isoformat()) == (
        "2026-03-01",
        "2026-03-31",
    )
    zone = march_sp.zone
    months = statement_months(party_id=sao_paulo.pk, currency="BRL", zone=zone)
    assert [m.isoformat() for m in months] == ["2026-03-01", "2026-02-01"]
    utc_months = statement_months(party_id=utc.pk, currency="BRL", zone=earned(utc, 3).zone)
    assert [m.isoformat() for m in utc_months] == ["2026-04-01", "2026-03-01"]


def test_months_with_entries_skip_the_empty_ones(month):
    zone = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=3).zone

    months = statement_months(party_id=month.party.pk, currency="BRL", zone=zone)

    assert [m.isoformat() for m in months] == ["2026-03-01", "2026-01-01"]
    assert statement_months(party_id=month.party.pk, currency="EUR", zone=zone) == []


def test_another_party_s_entries_never_count(month):
    """The other party is the producer of the product the party co-produces: their shares of
    the same sales are theirs alone."""
    mine = statement_for(party_id=month.party.pk, currency="BRL", year=2026, month=3)
    theirs = statement_for(party_id=month.other.pk, currency="BRL", year=2026, month=3)

    assert [(line.product_title, line.role) for line in theirs.earnings] == [
        ("Their course", "producer")
    ]
    assert theirs.earnings_minor == 2 * 8064
    assert theirs.chargebacks_minor == -8064
    assert theirs.refunds == () and theirs.fees_minor == theirs.payouts_minor == 0
    assert theirs.opening_minor == 0 and theirs.closing_in_withdrawal_minor == 0
    assert mine.earnings_minor == 19712


def test_the_queries_do_not_grow_with_the_entries(time_machine):
    party = UserFactory(validated=True)
    product = ProductFactory(producer=party)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            statement_for(party_id=party.pk, currency="BRL", year=2026, month=3)
            statement_months(party_id=party.pk, currency="BRL", zone=at(2026, 1, 1).tzinfo)
        return len(queries)

    sell(time_machine, product, at(2026, 3, 2, 12))
    one = measure()
    for day in range(1, 50):
        sell(time_machine, product, at(2026, 3, 2, 12, day))
    assert (
        statement_for(party_id=party.pk, currency="BRL", year=2026, month=3).earnings_minor
        == 50 * 8960
    )
    assert measure() == one
