"""The raw-SQL reference of a billing run: the same writes, with the same row shapes, that
`recurrences_create_due` + `recurrences_collect` make, in the same batches, written as plainly
as PostgreSQL takes them: COPY for every insert and one `UPDATE … FROM (VALUES …)` per table
per batch, psycopg only (no Django, no model, no per-row Python beyond building the values).
Each UPDATE also names its keys once as an array (`AND id = ANY(…)`), as the app's rows_update
does: without it PostgreSQL may hash the VALUES and scan the whole table, a cost that grows
with the table instead of the batch (measured: a seq scan of every sale per UPDATE).

What one billing run writes, per due subscription (read from the tables after a small run):

- creating (one transaction per batch): a `products_sale` (pending) and its
  `subscriptions_recurrence` (scheduled), the subscription's `last_number` and
  `next_charge_date`;
- claiming (one transaction per batch): a `subscriptions_paymentattempt` (started), the
  recurrence scheduled → collecting with a lease, and its `products_stateevent`; committed
  before the gateway is called;
- the gateway (the simulator's own commit): a `subscriptions_simulatedgatewaycharge` per key;
- recording (one transaction per batch): the attempt approved (reference, message, finished),
  the sale paid, the recurrence paid, the subscription's `paid_count` and
  `consecutive_unpaid`, a state event for each of the three, the split's 3 ledger entries, and
  the balances (`coproduction_balance`, `coproduction_balancerelease`) upserted per party.

The split's lines (platform, cocreator, producer: ids and amounts) are computed once by the
caller with the app's split (they are the same for every sale of the data set) and passed in;
so is the number of days a share is held.

Run by benchmarks/bench_billing.py as its own process, on the data set it just built:
`python benchmarks/billing_reference.py URL SPEC_JSON [RESULT_PATH]`; writes (and prints)
its counts and its own peak memory as JSON."""

import json
import resource
import secrets
import sys
from datetime import UTC, datetime, time, timedelta

import psycopg

BATCH = 500  # subscriptions.services.billing.BATCH
BILLING_LOCAL_HOUR = 8  # settings.BILLING_LOCAL_HOUR (passed in the spec; this is the default)
LEASE = timedelta(minutes=5)
WINDOW_DAYS = 6
APPROVED_MESSAGE = "Payment approved."
MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "semiannual": 6, "yearly": 12}

SALE_COLUMNS = (
    "id, amount_minor, currency, method, country, status, checkout_key, refunded_minor, "
    "created_at, paid_at, affiliation_id, buyer_id, product_id, subscription_id, attention_error"
)
RECURRENCE_COLUMNS = (
    "id, number, due_date, amount_minor, status, attempts_made, next_attempt_at, "
    "window_closes_at, slip_code, slip_expires_at, paid_at, created_at, sale_id, subscription_id"
)
ATTEMPT_COLUMNS = (
    "id, number, idempotency_key, amount_minor, method, status, gateway_reference, message, "
    "started_at, finished_at, sale_id"
)
CHARGE_COLUMNS = "idempotency_key, kind, outcome, reference, amount_minor, currency, created_at"
EVENT_COLUMNS = "machine, object_id, from_status, to_status, actor_id, reason, created_at"
LEDGER_COLUMNS = (
    "sale_id, product_id, entry_type, line, role, beneficiary_id, contract_id, affiliation_id, "
    "refund_id, amount_minor, currency, created_at, withdrawal_id, bucket, available_on"
)


def _ids(cur, sequence: str, n: int) -> list[int]:
    cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n])
    return sorted(row[0] for row in cur.fetchall())


def _copy(cur, table: str, columns: str, rows) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _values(n: int, width: int, casts: tuple[str, ...]) -> str:
    """`(VALUES (%s::t1, %s::t2), (%s, %s), …)`: the first row typed, the rest follow it."""
    first = "(" + ", ".join(f"%s::{t}" for t in casts) + ")"
    other = "(" + ", ".join(["%s"] * width) + ")"
    return "(VALUES " + ", ".join([first] + [other] * (n - 1)) + ")"


def _next_date(anchor, periodicity: str, number: int):
    """subscriptions.schedule.due_date, for the dates the data set has (monthly family)."""
    import calendar
    from datetime import date

    months = anchor.month - 1 + MONTHS[periodicity] * (number - 1)
    year, month = anchor.year + months // 12, months % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def create(conn, spec: dict) -> int:
    created = 0
    while True:
        with conn.transaction(), conn.cursor() as cur:
            now = datetime.now(UTC)
            bound = (now + timedelta(hours=14)).date()
            cur.execute(
                """
                SELECT s.id, s.product_id, s.buyer_id, s.affiliation_id, s.method, s.country,
                       s.last_number, s.next_charge_date, s.anchor_date, p.price_minor,
                       p.installments, p.periodicity, pr.currency
                  FROM subscriptions_subscription s
                  JOIN products_plan p ON p.id = s.plan_id
                  JOIN products_product pr ON pr.id = p.product_id
                 WHERE s.status IN ('active', 'overdue')
                   AND s.next_charge_date <= %s
                   AND s.next_charge_date <= (timezone(s.time_zone, %s::timestamptz)
                                              - make_interval(hours => %s))::date
                 LIMIT %s
                   FOR UPDATE OF s SKIP LOCKED
                """,
                [bound, now, spec.get("billing_local_hour", BILLING_LOCAL_HOUR), BATCH],
            )
            subs = cur.fetchall()
            if not subs:
                return created
            sale_ids = _ids(cur, "products_sale_id_seq", len(subs))
            recurrence_ids = _ids(cur, "subscriptions_recurrence_id_seq", len(subs))
            sales, recurrences, updates = [], [], []
            for (sid, product, buyer, affiliation, method, country, last, due, anchor, price,
                 installments, periodicity, currency), sale_id, rec_id in zip(
                subs, sale_ids, recurrence_ids, strict=True
            ):  # fmt: skip
                number = last + 1
                start = datetime.combine(due, time.min, tzinfo=UTC)
                sales.append(
                    (sale_id, price, currency, method, country, "pending", f"rec-{sid}-{number}",
                     0, now, None, affiliation, buyer, product, sid, "")
                )  # fmt: skip
                recurrences.append(
                    (rec_id, number, due, price, "scheduled", 0, max(start, now),
                     start + timedelta(days=WINDOW_DAYS), "", None, None, now, sale_id, sid)
                )  # fmt: skip
                next_date = (
                    None
                    if installments and number >= installments
                    else _next_date(anchor, periodicity, number + 1)
                )
                updates += (sid, number, next_date)
            _copy(cur, "products_sale", SALE_COLUMNS, sales)
            _copy(cur, "subscriptions_recurrence", RECURRENCE_COLUMNS, recurrences)
            cur.execute(
                "UPDATE subscriptions_subscription s SET last_number = v.n, next_charge_date = v.d"
                f" FROM {_values(len(subs), 3, ('bigint', 'integer', 'date'))} AS v(id, n, d)"
                " WHERE s.id = v.id AND s.id = ANY(%s::bigint[])",
                [*updates, [row[0] for row in subs]],
            )
            created += len(subs)


def collect(conn, spec: dict) -> int:
    handled = 0
    lines = spec["lines"]  # (line, role, beneficiary_id, contract_id, amount) per split line
    held_days = spec["held_days"]
    while True:
        now = datetime.now(UTC)
        # Claim: attempts started and committed before the gateway call.
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                """
                SELECT r.id, r.sale_id, r.amount_minor, r.subscription_id, s.method,
                       s.payment_token, sa.currency, sa.product_id
                  FROM subscriptions_recurrence r
                  JOIN subscriptions_subscription s ON s.id = r.subscription_id
                  JOIN products_sale sa ON sa.id = r.sale_id
                 WHERE r.status IN ('scheduled', 'collecting') AND r.next_attempt_at <= %s
                 LIMIT %s
                   FOR UPDATE OF r SKIP LOCKED
                """,
                [now, BATCH],
            )
            rows = cur.fetchall()
            if not rows:
                return handled
            attempt_ids = _ids(cur, "subscriptions_paymentattempt_id_seq", len(rows))
            recurrence_ids = [row[0] for row in rows]
            sale_ids = [row[1] for row in rows]
            subscription_ids = [row[3] for row in rows]
            attempts = [
                (aid, 1, f"sale-{sale}-attempt-1", amount, method, "started", "", "", now, None,
                 sale)
                for aid, (_, sale, amount, _, method, _, _, _) in zip(
                    attempt_ids, rows, strict=True
                )
            ]  # fmt: skip
            _copy(cur, "subscriptions_paymentattempt", ATTEMPT_COLUMNS, attempts)
            lease = now + LEASE
            cur.execute(
                "UPDATE subscriptions_recurrence r SET status = v.s, next_attempt_at = v.t"
                f" FROM {_values(len(rows), 3, ('bigint', 'varchar', 'timestamptz'))}"
                " AS v(id, s, t) WHERE r.id = v.id AND r.id = ANY(%s::bigint[])",
                [*(x for row in rows for x in (row[0], "collecting", lease)), recurrence_ids],
            )
            _copy(
                cur,
                "products_stateevent",
                EVENT_COLUMNS,
                (("recurrence", row[0], "scheduled", "collecting", None, "", now) for row in rows),
            )
        # The gateway: the simulator remembers each key (its own commit).
        references = ["sim_" + secrets.token_hex(12) for _ in rows]
        with conn.transaction(), conn.cursor() as cur:
            _copy(
                cur,
                "subscriptions_simulatedgatewaycharge",
                CHARGE_COLUMNS,
                (
                    (a[2], "charge", "approved", ref, a[3], row[6], datetime.now(UTC))
                    for a, ref, row in zip(attempts, references, rows, strict=True)
                ),
            )
        # Recording: attempts, sales, recurrences, subscriptions, events, ledger, balances.
        now = datetime.now(UTC)
        with conn.transaction(), conn.cursor() as cur:
            n = len(rows)
            cur.execute(
                "UPDATE subscriptions_paymentattempt a SET status = v.s, gateway_reference = v.r,"
                " message = v.m, finished_at = v.f"
                f" FROM {_values(n, 5, ('bigint', 'varchar', 'varchar', 'varchar', 'timestamptz'))}"
                " AS v(id, s, r, m, f) WHERE a.id = v.id AND a.id = ANY(%s::bigint[])",
                [
                    *(
                        x
                        for a, ref in zip(attempts, references, strict=True)
                        for x in (a[0], "approved", ref, APPROVED_MESSAGE, now)
                    ),
                    attempt_ids,
                ],
            )
            cur.execute(
                "UPDATE products_sale s SET status = v.s, paid_at = v.p"
                f" FROM {_values(n, 3, ('bigint', 'varchar', 'timestamptz'))} AS v(id, s, p)"
                " WHERE s.id = v.id AND s.id = ANY(%s::bigint[])",
                [*(x for row in rows for x in (row[1], "paid", now)), sale_ids],
            )
            cur.execute(
                "UPDATE subscriptions_recurrence r SET status = v.s, paid_at = v.p,"
                " next_attempt_at = NULL"
                f" FROM {_values(n, 3, ('bigint', 'varchar', 'timestamptz'))} AS v(id, s, p)"
                " WHERE r.id = v.id AND r.id = ANY(%s::bigint[])",
                [*(x for row in rows for x in (row[0], "paid", now)), recurrence_ids],
            )
            cur.execute(
                "UPDATE subscriptions_subscription s SET paid_count = s.paid_count + v.c,"
                " consecutive_unpaid = 0"
                f" FROM {_values(n, 2, ('bigint', 'integer'))} AS v(id, c)"
                " WHERE s.id = v.id AND s.id = ANY(%s::bigint[])",
                [*(x for row in rows for x in (row[3], 1)), subscription_ids],
            )
            events = []
            for a, row in zip(attempts, rows, strict=True):
                events += (
                    ("paymentattempt", a[0], "started", "approved", None, "", now),
                    ("sale", row[1], "pending", "paid", None, "", now),
                    ("recurrence", row[0], "collecting", "paid", None, "Payment received", now),
                )
            _copy(cur, "products_stateevent", EVENT_COLUMNS, events)
            available_on = now.date() + timedelta(days=held_days + 1)
            entries = []
            totals: dict = {}
            for row in rows:
                for line, role, beneficiary, contract, amount in lines:
                    entries.append(
                        (row[1], row[7], "split", line, role, beneficiary, contract, None, None,
                         amount, row[6], now, None, "earning", available_on)
                    )  # fmt: skip
                    key = (beneficiary, row[6])
                    totals[key] = totals.get(key, 0) + amount
            _copy(cur, "coproduction_ledgerentry", LEDGER_COLUMNS, entries)
            keys = sorted(totals, key=lambda k: (k[0] is None, k[0] or 0, k[1]))
            cur.execute(
                """
                INSERT INTO coproduction_balance AS b
                       (party_id, currency, shard, settled_minor, in_withdrawal_minor,
                        withdrawn_minor, updated_at)
                SELECT d.p, d.c, pg_backend_pid() %% 8, d.s, 0, 0, now()
                  FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[]) AS d(p, c, s)
                    ON CONFLICT (party_id, currency, shard) DO UPDATE
                   SET settled_minor = b.settled_minor + EXCLUDED.settled_minor,
                       updated_at = EXCLUDED.updated_at
                """,
                [[k[0] for k in keys], [k[1] for k in keys], [totals[k] for k in keys]],
            )
            cur.execute(
                """
                INSERT INTO coproduction_balancerelease AS r
                       (party_id, currency, available_on, shard, amount_minor)
                SELECT d.p, d.c, %s, pg_backend_pid() %% 8, d.a
                  FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[]) AS d(p, c, a)
                    ON CONFLICT (party_id, currency, available_on, shard) DO UPDATE
                   SET amount_minor = r.amount_minor + EXCLUDED.amount_minor
                """,
                [
                    available_on,
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [totals[k] for k in keys],
                ],
            )
        handled += len(rows)


def _peak_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


def main() -> None:
    url, spec = sys.argv[1], json.loads(sys.argv[2])
    with psycopg.connect(url) as conn:
        created = create(conn, spec)
        handled = collect(conn, spec)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "peak_mib": _peak_mib(),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "created": created,
        "handled": handled,
    }
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as out:
            json.dump(result, out)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
