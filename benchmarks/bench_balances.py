"""Balance reads for a party with 1 000 000 ledger entries (BENCH_ENTRIES), on PostgreSQL:
half a million paid sales over two years, each split into the platform's and the producer's
line, with the balance rows as the ledger writers keep them. Prints balance reads/s
(coproduction.balances.balance_of: its rows and the release days ahead) next to the same
figures summed from the entries, the time `check_balances` takes over the whole ledger, and a
summary line. Usage: make bench-balances (BENCH_DATABASE_URL, BENCH_ENTRIES, BENCH_READS)."""

import os
import time

from _setup import analyze, django_on_bench_database, truncate

ENTRIES = int(os.environ.get("BENCH_ENTRIES", "1000000"))
READS = int(os.environ.get("BENCH_READS", "3000"))


def build() -> int:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from products.models import Product, Sale

    truncate(
        "coproduction_ledgerentry",
        "coproduction_balance",
        "coproduction_balancerelease",
        "coproduction_withdrawal",
        "products_refund",
        "subscriptions_paymentattempt",
        "products_sale",
        "products_product",
        "accounts_payoutaccount",
        "accounts_user",
    )
    producer = User.objects.create_user(email="producer@bench.test", password=None)
    buyer = User.objects.create_user(email="buyer@bench.test", password=None)
    product = Product.objects.create(producer=producer, name="Course", price_minor=100_00)
    template = Sale.objects.create(
        product=product,
        buyer=buyer,
        amount_minor=100_00,
        currency="BRL",
        method="card",
        country="BR",
        status=Sale.Status.PAID,
        paid_at=timezone.now(),
        checkout_key="bench-template",
    )
    sales = ENTRIES // 2
    columns = [
        f.column for f in Sale._meta.concrete_fields if f.column not in ("id", "checkout_key")
    ]
    own = {
        "paid_at": "now() - (n %% 730) * interval '1 day'",
        "created_at": "now() - (n %% 730) * interval '1 day'",
    }
    select = ", ".join(own.get(c, f"t.{c}") for c in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO products_sale ({', '.join(columns)}, checkout_key) "
            f"SELECT {select}, 'bench-' || n FROM products_sale t, generate_series(1, %s) n "
            "WHERE t.id = %s",
            [sales, template.pk],
        )
        # The split as the ledger writer makes it: 10 % to the platform, the rest to the
        # producer, released the day after a 7-day guarantee plus 30 holding days.
        cursor.execute(
            """
            INSERT INTO coproduction_ledgerentry
                   (sale_id, product_id, entry_type, line, role, beneficiary_id, amount_minor,
                    currency, created_at, bucket, available_on)
            SELECT s.id, s.product_id, 'split', l.line, l.role,
                   CASE l.line WHEN 0 THEN NULL ELSE %s END,
                   CASE l.line WHEN 0 THEN 1000 ELSE 9000 END,
                   'BRL', s.paid_at, 'earning', (s.paid_at AT TIME ZONE 'UTC')::date + 38
              FROM products_sale s,
                   (VALUES (0, 'platform'), (1, 'producer')) AS l(line, role)
             WHERE s.id <> %s
            """,
            [producer.pk, template.pk],
        )
        cursor.execute("DELETE FROM products_sale WHERE id = %s", [template.pk])
        cursor.execute(
            """
            INSERT INTO coproduction_balance
                   (party_id, currency, shard, settled_minor, in_withdrawal_minor,
                    withdrawn_minor, updated_at)
            SELECT beneficiary_id, currency, 0, sum(amount_minor), 0, 0, now()
              FROM coproduction_ledgerentry GROUP BY beneficiary_id, currency;
            INSERT INTO coproduction_balancerelease
                   (party_id, currency, available_on, shard, amount_minor)
            SELECT beneficiary_id, currency, available_on, 0, sum(amount_minor)
              FROM coproduction_ledgerentry GROUP BY beneficiary_id, currency, available_on;
            """
        )
    return producer.pk


def summed_from_entries(party_id: int):
    """What a balance read would cost without the balance rows."""
    from django.db import connection

    from coproduction.balances import today

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(amount_minor), sum(amount_minor) FILTER (WHERE available_on > %s) "
            "FROM coproduction_ledgerentry WHERE beneficiary_id = %s AND currency = 'BRL'",
            [today(), party_id],
        )
        return cursor.fetchone()


def main() -> None:
    url = django_on_bench_database()
    from coproduction.balances import balance_of, check_balances

    started = time.perf_counter()
    party = build()
    analyze()
    print(
        f"database: {url.rsplit('@', 1)[-1]}; {ENTRIES} ledger entries built in "
        f"{time.perf_counter() - started:.1f} s"
    )

    view = balance_of(party, "BRL")
    total, pending = summed_from_entries(party)
    assert (view.settled_minor, view.pending_raw_minor) == (total, pending), "rows differ"
    print(
        f"the producer: {view.settled_minor} settled, {view.pending_raw_minor} pending over "
        f"{len(view.releases)} release days ahead"
    )

    started = time.perf_counter()
    for _ in range(READS):
        balance_of(party, "BRL")
    reads = READS / (time.perf_counter() - started)
    print(f"balance_of: {reads:,.0f} reads/s ({READS} reads)")

    naive_reads = max(3, READS // 1000)
    started = time.perf_counter()
    for _ in range(naive_reads):
        summed_from_entries(party)
    naive = naive_reads / (time.perf_counter() - started)
    print(f"summed from the entries: {naive:,.1f} reads/s ({naive_reads} reads)")

    started = time.perf_counter()
    differences = check_balances()
    print(
        f"check_balances over {ENTRIES} entries: {time.perf_counter() - started:.1f} s, "
        f"{len(differences)} differences"
    )
    print(
        f"balances: {ENTRIES:_} entries, {reads:_.0f} balance reads/s "
        f"({reads / naive:_.0f}x summing the entries)".replace("_", " ")
    )


if __name__ == "__main__":
    main()
