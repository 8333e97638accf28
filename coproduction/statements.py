"""Monthly statements: what a party held in one currency when a month began, what came in and
went out during it, and what they held when it ended, all summed in the database from their
ledger entries (a few queries, whatever the number of entries).

What a party holds is every entry of theirs (beneficiary) in the earning, available and in
withdrawal buckets: pending and available money plus what is in a withdrawal not yet paid (a
withdrawal moves money from available to in withdrawal, and a failed, rejected or canceled
one moves it back: those pairs of entries net to zero, so a withdrawal in flight is still
held). What a paid withdrawal sent out (the withdrawn bucket) is no longer held. So:

- opening balance: the party's held entries created before the month began;
- earnings: their split entries in the month, by product and role;
- refunds and chargebacks: the reversals of their shares in the month, by product (≤ 0);
- withdrawal fees: what paid withdrawals' fees took from them in the month (≥ 0);
- payouts: what paid withdrawals sent to their payout account in the month (the payout
  entries of the withdrawn bucket, ≥ 0);
- closing balance: the opening balance plus every held entry of the month.

opening + earnings + refunds + chargebacks - fees - payouts == closing, entry by entry: every
other held entry of a month is one of a withdrawal's pairs that net to zero. The in-withdrawal
part of both balances is shown apart.

Months are the party's own: a month runs from 00:00 of its first day to 00:00 of the next
month's first day in the party's time zone (accounts.locales.user_zone), as the Earnings page
and the dashboards count months. An entry counts in the month of its created_at (a sale's
split at its payment, a reversal when it was made, a withdrawal's entries when they moved)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from django.db import connection
from django.db.models import Sum

from accounts.locales import user_zone
from accounts.models import User
from coproduction.models import Balance, LedgerEntry
from products.reports import local_midnight, month_after

E = LedgerEntry.EntryType
B = LedgerEntry.Bucket
# The buckets of what a party holds (pending + available, and in withdrawal).
HELD = (B.EARNING.value, B.AVAILABLE.value, B.IN_WITHDRAWAL.value)


@dataclass(frozen=True)
class EarningLine:
    """A party's earnings on one product in one role during the month."""

    product_id: int
    product_title: str
    role: str
    amount_minor: int

    @property
    def role_label(self) -> str:
        return str(LedgerEntry.Role(self.role).label)


@dataclass(frozen=True)
class ReversalLine:
    """What refunds (or chargebacks) of one product took back from the party (≤ 0)."""

    product_id: int
    product_title: str
    amount_minor: int


@dataclass(frozen=True)
class Statement:
    party_id: int
    currency: str
    year: int
    month: int
    zone: tzinfo
    starts_at: datetime  # 00:00 of the first day, in `zone`
    ends_at: datetime  # 00:00 of the next month's first day, in `zone`
    opening_minor: int
    closing_minor: int
    earnings: tuple[EarningLine, ...]
    refunds: tuple[ReversalLine, ...]
    chargebacks: tuple[ReversalLine, ...]
    fees_minor: int  # withdrawal fees taken (≥ 0)
    payouts_minor: int  # sent to the payout account (≥ 0)
    opening_in_withdrawal_minor: int  # of the opening balance, in a withdrawal not yet paid
    closing_in_withdrawal_minor: int
    has_entries: bool  # any entry of the party's in the month, in this currency

    @property
    def first_day(self) -> date:
        return self.starts_at.date()

    @property
    def last_day(self) -> date:
        return self.ends_at.date() - timedelta(days=1)

    @property
    def earnings_minor(self) -> int:
        return sum(line.amount_minor for line in self.earnings)

    @property
    def refunds_minor(self) -> int:
        return sum(line.amount_minor for line in self.refunds)

    @property
    def chargebacks_minor(self) -> int:
        return sum(line.amount_minor for line in self.chargebacks)

    @property
    def fees_effect_minor(self) -> int:
        """The fees' line as it changes the balance (≤ 0)."""
        return -self.fees_minor

    @property
    def payouts_effect_minor(self) -> int:
        return -self.payouts_minor

    @property
    def balances(self) -> bool:
        """The statement's identity: its lines explain the change from opening to closing."""
        return (
            self.opening_minor
            + self.earnings_minor
            + self.refunds_minor
            + self.chargebacks_minor
            - self.fees_minor
            - self.payouts_minor
            == self.closing_minor
        )


def month_bounds(year: int, month: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants the month begins and ends in `zone`."""
    first = date(year, month, 1)
    return local_midnight(first, zone), local_midnight(month_after(first), zone)


def _zone_of(party_id: int) -> tzinfo:
    user = User.objects.only("time_zone").get(pk=party_id)
    return user_zone(user)


_TOTALS_SQL = """
SELECT b.held, b.in_withdrawal, e.since_start, e.since_start_in_withdrawal, e.month_held,
       e.month_in_withdrawal, e.fees, e.payouts, e.month_entries
  FROM (
        SELECT coalesce(sum(amount_minor) FILTER (WHERE bucket = ANY(%(held)s)), 0)::bigint
                   AS since_start,
               coalesce(sum(amount_minor) FILTER (WHERE bucket = 'in_withdrawal'), 0)::bigint
                   AS since_start_in_withdrawal,
               coalesce(sum(amount_minor) FILTER (
                   WHERE created_at < %(end)s AND bucket = ANY(%(held)s)), 0)::bigint
                   AS month_held,
               coalesce(sum(amount_minor) FILTER (
                   WHERE created_at < %(end)s AND bucket = 'in_withdrawal'), 0)::bigint
                   AS month_in_withdrawal,
               coalesce(sum(amount_minor) FILTER (
                   WHERE created_at < %(end)s AND entry_type = 'payout_fee'), 0)::bigint
                   AS fees,
               coalesce(sum(amount_minor) FILTER (
                   WHERE created_at < %(end)s AND entry_type = 'payout'
                     AND bucket = 'withdrawn'), 0)::bigint AS payouts,
               count(*) FILTER (WHERE created_at < %(end)s) AS month_entries
          FROM {ledger}
         WHERE beneficiary_id = %(party)s AND currency = %(currency)s
           AND created_at >= %(start)s
       ) e
 CROSS JOIN (
        -- Every row (shard) of the balance.
        SELECT coalesce(sum(settled_minor + in_withdrawal_minor), 0)::bigint AS held,
               coalesce(sum(in_withdrawal_minor), 0)::bigint AS in_withdrawal
          FROM {balance}
         WHERE party_id = %(party)s AND currency = %(currency)s
       ) b
"""


def statement_for(
    *, party_id: int, currency: str, year: int, month: int, zone: tzinfo | None = None
) -> Statement:
    """The party's statement of one month in one currency (`zone`: the party's time zone,
    looked up when not given). Two queries over the ledger, one of them grouped by product.

    The opening balance is read as what the party holds now (their Balance rows, kept with
    every ledger write in the same transaction and checked by `check_balances`) less their
    held entries since the month began, in one statement (one snapshot): equal to the sum of
    their held entries before the month, but reading only the entries since, so a recent
    month costs little however long the party's history is."""
    zone = zone or _zone_of(party_id)
    starts_at, ends_at = month_bounds(year, month, zone)
    with connection.cursor() as cursor:
        cursor.execute(
            _TOTALS_SQL.format(ledger=LedgerEntry._meta.db_table, balance=Balance._meta.db_table),
            {
                "party": party_id,
                "currency": currency,
                "start": starts_at,
                "end": ends_at,
                "held": list(HELD),
            },
        )
        (
            held_now,
            in_withdrawal_now,
            since_start,
            since_start_in_withdrawal,
            month_held,
            month_in_withdrawal,
            fees,
            payouts,
            month_entries,
        ) = cursor.fetchone()
    opening = held_now - since_start
    opening_in_withdrawal = in_withdrawal_now - since_start_in_withdrawal
    groups = (
        LedgerEntry.objects.filter(
            beneficiary_id=party_id,
            currency=currency,
            created_at__gte=starts_at,
            created_at__lt=ends_at,
            entry_type__in=LedgerEntry.EARNING_TYPES,
        )
        .values("product_id", "product__name", "entry_type", "role")
        .annotate(amount=Sum("amount_minor"))
        .order_by("product__name", "product_id", "entry_type", "role")
    )
    earnings: list[EarningLine] = []
    reversals: dict[str, dict[int, ReversalLine]] = {E.REFUND: {}, E.CHARGEBACK: {}}
    for group in groups:  # one row per product, type and role: a handful
        if group["entry_type"] == E.SPLIT:
            earnings.append(
                EarningLine(
                    product_id=group["product_id"],
                    product_title=group["product__name"],
                    role=group["role"],
                    amount_minor=group["amount"],
                )
            )
            continue
        by_product = reversals[group["entry_type"]]
        line = by_product.get(group["product_id"])
        by_product[group["product_id"]] = ReversalLine(
            product_id=group["product_id"],
            product_title=group["product__name"],
            amount_minor=group["amount"] + (line.amount_minor if line else 0),
        )
    return Statement(
        party_id=party_id,
        currency=currency,
        year=year,
        month=month,
        zone=zone,
        starts_at=starts_at,
        ends_at=ends_at,
        opening_minor=opening,
        closing_minor=opening + month_held,
        earnings=tuple(earnings),
        refunds=tuple(reversals[E.REFUND].values()),
        chargebacks=tuple(reversals[E.CHARGEBACK].values()),
        fees_minor=-fees,
        payouts_minor=payouts,
        opening_in_withdrawal_minor=opening_in_withdrawal,
        closing_in_withdrawal_minor=opening_in_withdrawal + month_in_withdrawal,
        has_entries=month_entries > 0,
    )


_MONTHS_SQL = """
WITH RECURSIVE months(start) AS (
    SELECT date_trunc('month', min(created_at) AT TIME ZONE %(zone)s)
      FROM {ledger}
     WHERE beneficiary_id = %(party)s AND currency = %(currency)s
    UNION ALL
    SELECT (SELECT date_trunc('month', min(e.created_at) AT TIME ZONE %(zone)s)
              FROM {ledger} e
             WHERE e.beneficiary_id = %(party)s AND e.currency = %(currency)s
               AND e.created_at >= (months.start + interval '1 month') AT TIME ZONE %(zone)s)
      FROM months
     WHERE months.start IS NOT NULL
)
SELECT start FROM months WHERE start IS NOT NULL ORDER BY start DESC
"""


def statement_months(*, party_id: int, currency: str, zone: tzinfo) -> list[date]:
    """The first day of each month (in `zone`) with an entry of the party's in `currency`,
    newest first. One index lookup per month that has entries (the next entry after each
    month), not a pass over every entry."""
    with connection.cursor() as cursor:
        cursor.execute(
            _MONTHS_SQL.format(ledger=LedgerEntry._meta.db_table),
            {"party": party_id, "currency": currency, "zone": getattr(zone, "key", str(zone))},
        )
        return [row[0].date() for row in cursor.fetchall()]


def statement_currencies(*, party_id: int) -> list[str]:
    """The currencies the party has a balance in, alphabetically (the first is the default)."""
    return list(
        Balance.objects.filter(party_id=party_id)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
