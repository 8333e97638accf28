"""Balances: what each party (and the platform) holds per currency, as sums of ledger entries.

Every ledger writer goes through coproduction.services.ledger.insert_entries, which hands the
rows it appends to `apply` in the same transaction: one upsert of the Balance rows and one of
the BalanceRelease rows per statement batch (set-based, whatever the number of entries), their
rows locked in one order (party, then currency; the platform last) so two writers never
deadlock. A read is then a row and the few release days still ahead (`balance_of`), and
`check_balances` recomputes every row from the entries.

The figures:
- pending: earnings (splits, and the refunds and chargebacks reversing them) whose release day
  (`available_on`) is still ahead;
- available: the other earnings, plus a withdrawal's moves in and out of available;
- in withdrawal: the amounts of withdrawals requested and not yet paid or given back;
- withdrawn: what paid withdrawals sent out (their amount less the fee).

A refund or chargeback after a share was released counts against available at once (its
release day is the day of the refund); when that leaves available below zero the shortfall is
taken from pending (`BalanceView`): the total may be negative, and withdrawing is possible only
while both available and the total cover the amount."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from coproduction.models import Balance, BalanceRelease, LedgerEntry

# Rows per balance (Balance.shard): each database session adds to row pg_backend_pid() % this.
BALANCE_SHARDS = 8
SHARD_SQL = f"(pg_backend_pid() %% {BALANCE_SHARDS})"

EARNING = LedgerEntry.Bucket.EARNING.value
AVAILABLE = LedgerEntry.Bucket.AVAILABLE.value
IN_WITHDRAWAL = LedgerEntry.Bucket.IN_WITHDRAWAL.value
WITHDRAWN = LedgerEntry.Bucket.WITHDRAWN.value


def today() -> date:
    """Release days are UTC days: an amount is available from 00:00 UTC of its day."""
    return timezone.now().astimezone(UTC).date()


def holding_days(currency: str) -> int:
    """Days after the guarantee period before a sale's shares are released (settings), at
    least one: the guarantee ends at midnight in the buyer's zone, up to a day after the
    UTC day it is counted from here, so no share is released while a refund may be asked."""
    return max(1, settings.PAYOUT_HOLDING_DAYS.get(currency, settings.PAYOUT_HOLDING_DAYS_OTHER))


def release_day(paid_at: datetime, guarantee_days: int, currency: str) -> date:
    """The day a sale's shares become available: the day after the guarantee's last day (the
    day of payment plus the guarantee period, in UTC) plus the currency's holding period."""
    return release_after(paid_at, guarantee_days + holding_days(currency))


def release_after(paid_at: datetime, held_days: int) -> date:
    """release_day, the guarantee and holding periods added up as `held_days`."""
    return paid_at.astimezone(UTC).date() + timedelta(days=held_days + 1)


class Deltas:
    """What a batch of entries adds to each balance: the running sums `apply` writes."""

    __slots__ = ("balances", "releases")

    def __init__(self):
        # (party, currency) -> [settled, in withdrawal, withdrawn]
        self.balances: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        # (party, currency, day) -> amount
        self.releases: dict[tuple, int] = defaultdict(int)

    def add(self, party, currency: str, bucket: str, available_on, amount: int) -> None:
        row = self.balances[(party, currency)]
        if bucket == EARNING:
            row[0] += amount
            self.releases[(party, currency, available_on)] += amount
        elif bucket == AVAILABLE:
            row[0] += amount
        elif bucket == IN_WITHDRAWAL:
            row[1] += amount
        elif bucket == WITHDRAWN:
            row[2] += amount
        else:  # pragma: no cover - the ledger's check constraint refuses it too
            raise ValueError(f"unknown bucket {bucket!r}")

    def add_earnings(self, earnings: Iterable[tuple]) -> None:
        """(party, currency, day, amount) per earning: the split writer's precomputed form."""
        balances, releases = self.balances, self.releases
        for party, currency, day, amount in earnings:
            balances[(party, currency)][0] += amount
            releases[(party, currency, day)] += amount


def _order(key: tuple) -> tuple:
    # The platform (no party) last, as PostgreSQL sorts NULL in ascending order.
    return (key[0] is None, key[0] or 0, *key[1:])


def apply(deltas: Deltas) -> None:
    """Add `deltas` to the balance rows of this database session's shard (creating missing
    ones), in the caller's transaction: one statement per table, rows locked in (party,
    currency[, day]) order."""
    if deltas.balances:
        keys = sorted(deltas.balances, key=_order)
        values = [deltas.balances[k] for k in keys]
        table = Balance._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} AS b
                       (party_id, currency, shard, settled_minor, in_withdrawal_minor,
                        withdrawn_minor, updated_at)
                SELECT d.p, d.c, {SHARD_SQL}, d.s, d.i, d.w, now()
                  FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::bigint[],
                              %s::bigint[]) WITH ORDINALITY AS d(p, c, s, i, w, n)
                 ORDER BY d.n
                    ON CONFLICT (party_id, currency, shard) DO UPDATE
                   SET settled_minor = b.settled_minor + EXCLUDED.settled_minor,
                       in_withdrawal_minor = b.in_withdrawal_minor + EXCLUDED.in_withdrawal_minor,
                       withdrawn_minor = b.withdrawn_minor + EXCLUDED.withdrawn_minor,
                       updated_at = EXCLUDED.updated_at
                """,
                [
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [v[0] for v in values],
                    [v[1] for v in values],
                    [v[2] for v in values],
                ],
            )
    releases = {k: v for k, v in deltas.releases.items() if v}
    if releases:
        keys = sorted(releases, key=_order)
        table = BalanceRelease._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} AS r (party_id, currency, available_on, shard, amount_minor)
                SELECT d.p, d.c, d.d, {SHARD_SQL}, d.a
                  FROM unnest(%s::bigint[], %s::varchar[], %s::date[], %s::bigint[])
                       WITH ORDINALITY AS d(p, c, d, a, n)
                 ORDER BY d.n
                    ON CONFLICT (party_id, currency, available_on, shard) DO UPDATE
                   SET amount_minor = r.amount_minor + EXCLUDED.amount_minor
                """,
                [
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [k[2] for k in keys],
                    [releases[k] for k in keys],
                ],
            )


def _party_is(party_id: int | None, prefix: str = "") -> str:
    """The party condition (parameter `%(party)s`), written so the (party, currency, …)
    unique indexes serve it: `IS NOT DISTINCT FROM` would read every row of the table."""
    if party_id is None:
        return f"{prefix}party_id IS NULL"
    return f"{prefix}party_id = %(party)s"


def lock(party_id: int | None, currency: str) -> None:
    """Hold every row of a balance until the end of the caller's transaction (a withdrawal
    reads it exactly): all its shards made first, so a writer that has not written to this
    balance yet waits too."""
    table = Balance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (party_id, currency, shard, settled_minor, in_withdrawal_minor,
                                 withdrawn_minor, updated_at)
            SELECT %s, %s, n, 0, 0, 0, now() FROM generate_series(0, %s) AS n
                ON CONFLICT (party_id, currency, shard) DO NOTHING
            """,
            [party_id, currency, BALANCE_SHARDS - 1],
        )
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE {_party_is(party_id)} AND currency = %(currency)s "
            "ORDER BY shard FOR UPDATE",
            {"party": party_id, "currency": currency},
        )


@dataclass(frozen=True)
class Release:
    day: date
    amount_minor: int


@dataclass(frozen=True)
class BalanceView:
    """One party's figures in one currency, as of `on` (a UTC day)."""

    party_id: int | None
    currency: str
    settled_minor: int
    pending_raw_minor: int  # earnings whose release day is after `on`
    in_withdrawal_minor: int
    withdrawn_minor: int
    releases: tuple[Release, ...]  # the days ahead, soonest first

    @property
    def available_raw_minor(self) -> int:
        return self.settled_minor - self.pending_raw_minor

    @property
    def total_minor(self) -> int:
        """Pending plus available: what the party would hold if nothing more happened."""
        return self.settled_minor

    @property
    def available_minor(self) -> int:
        """Available, a shortfall taken from pending first (may be negative only when the
        total is)."""
        raw = self.available_raw_minor
        if raw >= 0:
            return raw
        return min(0, self.settled_minor)

    @property
    def pending_minor(self) -> int:
        return self.settled_minor - self.available_minor

    @property
    def withdrawable_minor(self) -> int:
        return max(0, min(self.available_raw_minor, self.settled_minor))

    @property
    def is_negative(self) -> bool:
        return self.settled_minor < 0


def balance_of(party_id: int | None, currency: str, *, on: date | None = None) -> BalanceView:
    """A party's balance: its row and its release days still ahead (at most the guarantee and
    holding periods' worth of days, whatever the number of entries)."""
    on = on or today()
    # One query: the balance's rows summed, and its release days ahead (an index range).
    ahead = f"""
        FROM (SELECT available_on AS day, sum(amount_minor) AS total
                FROM {BalanceRelease._meta.db_table}
               WHERE {_party_is(party_id)}
                 AND currency = %(currency)s AND available_on > %(on)s
               GROUP BY available_on HAVING sum(amount_minor) <> 0) r"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT coalesce(sum(b.settled_minor), 0), coalesce(sum(b.in_withdrawal_minor), 0),
                   coalesce(sum(b.withdrawn_minor), 0),
                   (SELECT array_agg(r.day ORDER BY r.day) {ahead}),
                   (SELECT array_agg(r.total ORDER BY r.day) {ahead})
              FROM {Balance._meta.db_table} b
             WHERE {_party_is(party_id, "b.")} AND b.currency = %(currency)s
            """,
            {"party": party_id, "currency": currency, "on": on},
        )
        settled, in_withdrawal, withdrawn, days, totals = cursor.fetchone()
    row = (int(settled), int(in_withdrawal), int(withdrawn))
    releases = tuple(
        Release(day, int(total)) for day, total in zip(days or (), totals or (), strict=True)
    )
    return BalanceView(
        party_id=party_id,
        currency=currency,
        settled_minor=row[0],
        pending_raw_minor=sum(r.amount_minor for r in releases),
        in_withdrawal_minor=row[1],
        withdrawn_minor=row[2],
        releases=releases,
    )


def balances_of(party_id: int | None, *, on: date | None = None) -> list[BalanceView]:
    """Every currency the party has a balance in."""
    currencies = (
        Balance.objects.filter(party_id=party_id)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    return [balance_of(party_id, currency, on=on) for currency in currencies]


@dataclass(frozen=True)
class Difference:
    what: str  # "balance" or "release"
    key: tuple
    stored: tuple
    computed: tuple


def check_balances() -> list[Difference]:
    """Recompute every balance row and release day from the ledger; the rows that differ."""
    ledger = LedgerEntry._meta.db_table
    differences: list[Difference] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT beneficiary_id, currency,
                   coalesce(sum(amount_minor) FILTER (WHERE bucket IN ('earning', 'available')), 0),
                   coalesce(sum(amount_minor) FILTER (WHERE bucket = 'in_withdrawal'), 0),
                   coalesce(sum(amount_minor) FILTER (WHERE bucket = 'withdrawn'), 0)
              FROM {ledger} GROUP BY beneficiary_id, currency
            """
        )
        computed = {(p, c): (s, i, w) for p, c, s, i, w in cursor.fetchall()}
        cursor.execute(
            f"""
            SELECT beneficiary_id, currency, available_on, sum(amount_minor)
              FROM {ledger} WHERE bucket = 'earning'
             GROUP BY beneficiary_id, currency, available_on
            """
        )
        computed_releases = {(p, c, d): a for p, c, d, a in cursor.fetchall()}
    stored = {
        (p, c): (s, i, w)
        for p, c, s, i, w in Balance.objects.values_list("party_id", "currency")
        .annotate(Sum("settled_minor"), Sum("in_withdrawal_minor"), Sum("withdrawn_minor"))
        .order_by()
    }
    for key in sorted(set(stored) | set(computed), key=_order):
        have, want = stored.get(key, (0, 0, 0)), computed.get(key, (0, 0, 0))
        if have != want:
            differences.append(Difference("balance", key, have, want))
    stored_releases = {
        (p, c, d): a
        for p, c, d, a in BalanceRelease.objects.values_list("party_id", "currency", "available_on")
        .annotate(Sum("amount_minor"))
        .order_by()
    }
    for key in sorted(set(stored_releases) | set(computed_releases), key=_order):
        have, want = stored_releases.get(key, 0), computed_releases.get(key, 0)
        if have != want:
            differences.append(Difference("release", key, (have,), (want,)))
    return differences
