"""A billing run over 100 000 due subscriptions on PostgreSQL with the simulated gateway:
create the due recurrences, charge them, split them into the ledger. In one invocation, each
on the same freshly built data set: the raw-SQL reference of the same writes
(benchmarks/billing_reference.py: COPY + one UPDATE … FROM (VALUES …) per table per batch),
the app with 1 worker process, then with 2 at once (SKIP LOCKED shares the work).

Prints a line per run, the ratio to the reference, each worker's own peak memory (VmHWM, read
by the worker itself), and one summary line at the end:
`billing: 0.52 of raw SQL, 1 worker 3 300 recurrences/s, peak 82 MiB per worker`.

Usage: make bench-billing (BENCH_DATABASE_URL, BENCH_SUBSCRIPTIONS; BENCH_RUNS="reference 1 2"
picks the runs, e.g. BENCH_RUNS=1 while profiling)."""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import PRICE_MINOR, build_due_subscriptions, django_on_bench_database, peak_mib

SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "100000"))
RUNS = os.environ.get("BENCH_RUNS", "reference 1 2").split()
HERE = Path(__file__).resolve().parent


def work(result_path: str) -> None:
    """One worker: run the beat tasks' services until nothing is left; write what it measured
    of itself (its stdout carries the app's log lines, as in production)."""
    django_on_bench_database(migrate=False)
    from subscriptions.services.billing import recurrences_collect, recurrences_create_due

    started = time.perf_counter()
    created = recurrences_create_due()
    middle = time.perf_counter()
    handled = recurrences_collect()
    ended = time.perf_counter()
    Path(result_path).write_text(
        json.dumps(
            {
                "peak_mib": peak_mib(),
                "cpu_s": _cpu_seconds(),
                "created": created,
                "handled": handled,
                "create_s": middle - started,
                "collect_s": ended - middle,
            }
        )
    )


def _cpu_seconds() -> float:
    """This process's own CPU time (user + system; counted from its fork, not inherited)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spawn(args: list[str], result: str) -> subprocess.Popen:
    # The log lines go where a production worker's go (a collector reading stdout); not into a
    # pipe this process would have to hold.
    return subprocess.Popen(
        [sys.executable, *args, result], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait(children: list[tuple[subprocess.Popen, str]]) -> list[dict]:
    results = []
    for child, path in children:
        _, err = child.communicate()
        if child.returncode:
            sys.stderr.write(err.decode(errors="replace")[-4000:])
            raise SystemExit(f"worker failed ({child.returncode})")
        results.append(json.loads(Path(path).read_text()))
    return results


def _check(expected: int) -> None:
    """Every due subscription charged once, paid, and split whole."""
    from django.db.models import Count, Sum

    from coproduction.models import LedgerEntry
    from products.models import SimulatedGatewayCharge
    from subscriptions.models import Recurrence

    paid = Recurrence.objects.filter(status="paid").count()
    charges = SimulatedGatewayCharge.objects.count()
    ledger = LedgerEntry.objects.aggregate(n=Count("pk"), total=Sum("amount_minor"))
    assert paid == expected == charges, (paid, charges)
    assert ledger["total"] == expected * PRICE_MINOR, ledger


def _fingerprint() -> dict:
    """Row counts of every table a billing run writes, to show the reference writes the same."""
    from django.db import connection

    tables = (
        "products_sale",
        "subscriptions_recurrence",
        "subscriptions_paymentattempt",
        "subscriptions_simulatedgatewaycharge",
        "products_stateevent",
        "coproduction_ledgerentry",
    )
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT sum(paid_count), sum(last_number) FROM subscriptions_subscription")
        counts["subscriptions (paid_count, last_number)"] = tuple(map(int, cursor.fetchone()))
        cursor.execute(
            "SELECT sum(settled_minor) FROM coproduction_balance"
            " UNION ALL SELECT sum(amount_minor) FROM coproduction_balancerelease"
        )
        counts["balances (settled, releases)"] = tuple(int(r[0]) for r in cursor.fetchall())
    return counts


def _reference_spec() -> dict:
    """What the reference needs of the app: the data set's split lines (ids and amounts, the
    same for every sale) and how long a share is held; computed with the app's own split."""
    from django.conf import settings

    from coproduction import balances
    from coproduction.models import Contract
    from coproduction.split import platform_fee_settings, split_amount
    from products.models import Product

    product = Product.objects.get()
    contracts = list(Contract.objects.filter(product=product).order_by("pk"))
    fee_percent, fee_fixed = platform_fee_settings(product.currency)
    parts = split_amount(
        PRICE_MINOR,
        fee_percent=fee_percent,
        fee_fixed_minor=fee_fixed,
        cocreator_percents=[((c.pk, c.cocreator_id), c.commission_percent) for c in contracts],
    )
    lines = []
    for line, part in enumerate(parts):
        beneficiary = contract = None
        if part.role == "cocreator":
            contract, beneficiary = part.key
        elif part.role == "producer":
            beneficiary = product.producer_id
        lines.append((line, part.role, beneficiary, contract, part.amount_minor))
    return {
        "lines": lines,
        "held_days": product.guarantee_days + balances.holding_days(product.currency),
        "billing_local_hour": settings.BILLING_LOCAL_HOUR,
    }


def run(workers: int | None, url: str, tmp: str) -> tuple[float, list[float], dict]:
    """One measured run on a freshly built data set: the reference (workers None) or the app
    with `workers` processes. Returns recurrences/s, each worker's peak MiB, the tables' counts."""
    build_due_subscriptions(SUBSCRIPTIONS)
    started = time.perf_counter()
    if workers is None:
        children = [(_spawn_reference(url, tmp), f"{tmp}/reference.json")]
    else:
        children = []
        for i in range(workers):
            path = f"{tmp}/worker-{i}.json"
            children.append((_spawn([str(Path(__file__)), "--worker"], path), path))
    results = _wait(children)
    elapsed = time.perf_counter() - started
    _check(SUBSCRIPTIONS)
    rate = SUBSCRIPTIONS / elapsed
    peaks = [r["peak_mib"] for r in results]
    if workers is None:
        label = "raw-SQL reference"
    else:
        label = f"{workers} worker{'s' if workers > 1 else ''}"
    phases = ""
    if workers is None:
        phases = f" (Python CPU {results[0]['cpu_s']:.1f} s)"
    else:
        phases = (
            " ("
            + ", ".join(
                f"create {r['create_s']:.1f} s + collect {r['collect_s']:.1f} s"
                f" = {r['created']}/{r['handled']} rows, Python CPU {r['cpu_s']:.1f} s"
                for r in results
            )
            + ")"
        )
    print(
        f"{label}: {SUBSCRIPTIONS} recurrences in {elapsed:.1f} s: {rate:.0f} recurrences/s, "
        f"peak {' / '.join(f'{p:.0f}' for p in peaks)} MiB{phases}",
        flush=True,
    )
    return rate, peaks, _fingerprint()


def _spawn_reference(url: str, tmp: str) -> subprocess.Popen:
    spec = json.dumps(_reference_spec())
    script = HERE / "billing_reference.py"
    return _spawn([str(script), url, spec], f"{tmp}/reference.json")


def _spaced(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


def main() -> None:
    if "--worker" in sys.argv:
        work(sys.argv[-1])
        return
    url = django_on_bench_database()
    print(f"database: {url.rsplit('@', 1)[-1]}; {SUBSCRIPTIONS} due subscriptions", flush=True)
    rates: dict[str, float] = {}
    peaks: list[float] = []
    prints: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-billing-") as tmp:
        for name in RUNS:
            rate, run_peaks, counts = run(None if name == "reference" else int(name), url, tmp)
            rates[name] = rate
            prints[name] = counts
            if name != "reference":
                peaks += run_peaks
    if len({json.dumps(p, sort_keys=True) for p in prints.values()}) > 1:
        print("rows written differ between runs:", json.dumps(prints, indent=1), flush=True)
    if "reference" in rates and "1" in rates:
        print(f"1 worker: {rates['1'] / rates['reference']:.2f} of the raw-SQL reference")
    if "1" in rates and "2" in rates:
        print(f"second worker: {rates['2'] / rates['1']:.2f}x the throughput of one")
    if "reference" in rates and "1" in rates:
        print(
            f"billing: {rates['1'] / rates['reference']:.2f} of raw SQL, "
            f"1 worker {_spaced(rates['1'])} recurrences/s, "
            f"peak {max(peaks):.0f} MiB per worker",
            flush=True,
        )


if __name__ == "__main__":
    main()
