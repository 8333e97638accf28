"""A billing run over 100 000 due subscriptions on PostgreSQL with the simulated gateway:
create the due recurrences, charge them, split them into the ledger. Measured with 1 worker,
then with 2 worker processes at once (SKIP LOCKED shares the work). Prints a line per run.
Usage: make bench-billing (BENCH_DATABASE_URL, BENCH_SUBSCRIPTIONS)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import PRICE_MINOR, build_due_subscriptions, django_on_bench_database, peak_mib

SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "100000"))


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

    build_due_subscriptions(SUBSCRIPTIONS)
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
    assert ledger["total"] == SUBSCRIPTIONS * PRICE_MINOR, ledger
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
