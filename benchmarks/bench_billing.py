"""A billing run over 100 000 due subscriptions on PostgreSQL with the simulated gateway:
create the due recurrences, charge them, split them into the ledger. Measured with 1 worker,
then with 2 worker processes at once (SKIP LOCKED shares the work). Prints a line per run.
Usage: make bench-billing (BENCH_DATABASE_URL, BENCH_SUBSCRIPTIONS)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import analyze, django_on_bench_database, peak_mib, truncate

SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "100000"))
TABLES = (
    "coproduction_ledgerentry",
    "subscriptions_recurrence",
    "subscriptions_subscriptionevent",
    "subscriptions_paymentattempt",
    "subscriptions_simulatedgatewaycharge",
    "products_refund",
    "products_sale",
    "subscriptions_subscription",
    "coproduction_contract",
    "products_affiliation",
    "products_plan",
    "products_product",
    "accounts_user",
)


def build() -> None:
    from datetime import date, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import User
    from coproduction.models import Contract, TermsOfUse
    from products.models import Plan, Product
    from subscriptions.models import Subscription

    truncate(*TABLES)
    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Terms"})
    producer = User.objects.create_user(email="producer@bench.test", password=None)
    product = Product.objects.create(producer=producer, name="Club", kind="subscription")
    plan = Plan.objects.create(product=product, name="Monthly", price_minor=4990)
    cocreator = User.objects.create_user(email="co@bench.test", password=None)
    Contract.objects.create(
        product=product,
        cocreator=cocreator,
        role="expert",
        status="active",
        sales_scope="all",
        commission_percent=Decimal("15"),
        coproduction_model="revenue_share",
        terms=terms,
        accepted_at=timezone.now() - timedelta(days=60),
    )
    buyer = User.objects.create_user(email="buyer@bench.test", password=None)
    today = timezone.now().date()
    anchor = today - timedelta(days=31) if today.day <= 28 else date(today.year, today.month, 1)
    Subscription.objects.bulk_create(
        [
            Subscription(
                product=product,
                plan=plan,
                buyer=buyer,
                status="active",
                method="card",
                country="BR",
                payment_token="4242424242424242",
                anchor_date=anchor,
                last_number=1,
                paid_count=1,
                next_charge_date=today,
                checkout_key=f"bench-{i}",
            )
            for i in range(SUBSCRIPTIONS)
        ],
        batch_size=5000,
    )
    analyze()


def work() -> None:
    """One worker: run the beat tasks' services until nothing is left, print peak memory."""
    django_on_bench_database(migrate=False)
    from subscriptions.services.billing import recurrences_collect, recurrences_create_due

    recurrences_create_due()
    recurrences_collect()
    print(f"peak {peak_mib():.0f}", flush=True)


def run(workers: int) -> None:
    from django.db.models import Count, Sum

    from coproduction.models import LedgerEntry
    from products.models import SimulatedGatewayCharge
    from subscriptions.models import Recurrence

    build()
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--worker"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    peaks = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode:
            raise SystemExit(f"worker failed ({child.returncode})")
        peaks.append(float(out.strip().rsplit(" ", 1)[-1]))
    elapsed = time.perf_counter() - started

    paid = Recurrence.objects.filter(status="paid").count()
    charges = SimulatedGatewayCharge.objects.count()
    ledger = LedgerEntry.objects.aggregate(n=Count("pk"), total=Sum("amount_minor"))
    assert paid == SUBSCRIPTIONS == charges, (paid, charges)
    assert ledger["total"] == SUBSCRIPTIONS * 4990, ledger
    print(
        f"{workers} worker{'s' if workers > 1 else ''}: {paid} recurrences in {elapsed:.1f} s: "
        f"{paid / elapsed:.0f} recurrences/s, peak {max(peaks):.0f} MiB"
        + (" per worker" if workers > 1 else ""),
        flush=True,
    )
    return paid / elapsed


def main() -> None:
    if "--worker" in sys.argv:
        work()
        return
    url = django_on_bench_database()
    print(f"database: {url.rsplit('@', 1)[-1]}; {SUBSCRIPTIONS} due subscriptions", flush=True)
    one = run(1)
    two = run(2)
    print(f"second worker: {two / one:.2f}x the throughput of one")


if __name__ == "__main__":
    main()
