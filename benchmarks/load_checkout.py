"""Checkout under load: gunicorn (production settings, LOAD_WORKERS x LOAD_THREADS) on a fresh
database, LOAD_CONNECTIONS clients looping GET checkout page -> POST the form with the approved
test card for LOAD_SECONDS, each as a buyer drawn at random from LOAD_BUYERS (so a buyer now and
then pays in two tabs at once). All buy the same product (one cocreator contract: a 3-line split).

Prints requests/s, checkouts/s, status codes, PostgreSQL deadlocks during the run and the
recording check (every approved simulated charge has its attempt approved and its sale paid
with a split summing to the amount, each exactly once). Exit 1 on any 5xx, deadlock,
Traceback in gunicorn's log or recording mismatch. The database is dropped at the end.
Usage: make bench-checkout (BENCH_DATABASE_URL names the server; the database is coprod_load)."""

import collections
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _setup import DEFAULT_URL  # noqa: E402

SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("LOAD_CONNECTIONS", "16"))
BUYERS = int(os.environ.get("LOAD_BUYERS", "200"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
THREADS = int(os.environ.get("LOAD_THREADS", "4"))
DATABASE = "coprod_load"
APPROVED = "4242424242424242"
PRICE_MINOR = 9700

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL).rsplit("/", 1)[0]
URL = f"{SERVER_URL}/{DATABASE}"
ADMIN_URL = f"{SERVER_URL}/postgres"
WORK = Path(tempfile.mkdtemp(prefix="coprod-load-"))
GUNICORN_LOG = WORK / "gunicorn.log"

# The web processes and this one share these: production settings on the load database, no
# broker (receipts queue in memory and are never sent), plain HTTP on 127.0.0.1.
ENV = {
    "DATABASE_URL": URL,
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "load-test-only-secret-key-" + secrets.token_hex(16),
    "GATEWAY_WEBHOOK_SECRET": secrets.token_hex(24),
    "PAYOUT_WEBHOOK_SECRET": secrets.token_hex(24),
    "CELERY_BROKER_URL": "memory://",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "VAR_DIR": str(WORK),  # collectstatic writes the manifest under it
    "LOG_LEVEL": "WARNING",
}


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def deadlocks() -> int:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [DATABASE]
        ).fetchone()
    return int(row[0]) if row else 0


def setup_database() -> None:
    admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DATABASE}"')
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def seed() -> tuple[int, list[str]]:
    """One product with a cocreator contract, BUYERS buyers each with a session; returns the
    product's id and the buyers' session cookies."""
    from datetime import timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from accounts.models import AccountValidation, User
    from coproduction.models import Contract, TermsOfUse
    from products.models import Product

    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Terms"})
    producer = User.objects.create_user(email="producer@load.test", password=None)
    cocreator = User.objects.create_user(email="co@load.test", password=None)
    for user in (producer, cocreator):
        AccountValidation.objects.create(
            user=user,
            legal_name="Load Test",
            country="BR",
            tax_document="123.456.789-09",
            status=AccountValidation.Status.VALIDATED,
            decided_at=timezone.now(),
        )
    product = Product.objects.create(
        producer=producer, name="Course", kind=Product.Kind.ONE_TIME, price_minor=PRICE_MINOR
    )
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
    cookies = []
    for i in range(BUYERS):
        buyer = User.objects.create_user(email=f"buyer{i}@load.test", password=None)
        client = Client()
        client.force_login(buyer)  # a real session row, as a login would leave
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return product.pk, cookies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    log = GUNICORN_LOG.open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            f"--workers={WORKERS}",
            f"--threads={THREADS}",
            f"--bind=127.0.0.1:{port}",
            "--capture-output",
            "--log-level=warning",
            "--timeout=60",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}); see {GUNICORN_LOG}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 30 s; see {GUNICORN_LOG}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # the master only: it stops its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


FIELD = re.compile(r'name="(csrfmiddlewaretoken|checkout_key)" value="([^"]+)"')
COOKIE = re.compile(r"csrftoken=([^;]+)")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: collections.Counter = collections.Counter()
        self.requests = 0
        self.checkouts = 0
        self.problems: collections.Counter = collections.Counter()
        self.samples: list[str] = []

    def problem(self, kind: str, detail: str) -> None:
        detail = " ".join(re.sub(r"<[^>]+>", " ", detail).split())  # the page's text
        with self.lock:
            self.problems[kind] += 1
            if len(self.samples) < 5:
                self.samples.append(f"{kind}: {detail[:300]}")


def client_loop(port: int, product_pk: int, sessions: list[str], stop: float, stats: Stats):
    rng = random.Random()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    path = f"/p/{product_pk}/checkout/"

    def send(method, cookie, body=None):
        nonlocal conn
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for retry in (True, False):  # a kept-alive connection the server closed: once more
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response, response.read().decode()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                if not retry:
                    raise
        raise AssertionError("unreachable")

    while time.monotonic() < stop:
        cookie = f"sessionid={rng.choice(sessions)}"
        page, html = send("GET", cookie)
        with stats.lock:
            stats.requests += 1
            stats.statuses[f"GET {page.status}"] += 1
        fields = dict(FIELD.findall(html))
        if page.status != 200 or len(fields) != 2:
            stats.problem(
                "checkout page", f"{page.status} {page.getheader('Location')} {html[:200]}"
            )
            continue
        csrf = COOKIE.search(page.getheader("Set-Cookie") or "")
        if csrf:
            cookie += f"; csrftoken={csrf.group(1)}"
        form = {
            "country": "BR",
            "method": "card",
            "card_number": APPROVED,
            "checkout_key": fields["checkout_key"],
            "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
        }
        done, html = send("POST", cookie, urlencode(form))
        with stats.lock:
            stats.requests += 1
            stats.statuses[f"POST {done.status}"] += 1
        location = done.getheader("Location") or ""
        if done.status == 302 and "/purchases/" in location:
            with stats.lock:
                stats.checkouts += 1
        elif done.status >= 500:
            stats.problem("5xx", f"{done.status} {html[:300]}")
        else:
            errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>\s*([^<]+)', html)
            stats.problem("checkout refused", f"{done.status} {location} {errors[:2]}")
    conn.close()


def run_load(port: int, product_pk: int, sessions: list[str]) -> tuple[Stats, float]:
    stats = Stats()
    started = time.monotonic()
    stop = started + SECONDS
    failures: list[BaseException] = []

    def guarded():
        try:
            client_loop(port, product_pk, sessions, stop, stats)
        except BaseException as exc:  # a client that dies is a failure, not a silent gap
            failures.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for exc in failures:
        stats.problem("client error", f"{type(exc).__name__}: {exc}")
    return stats, elapsed


def recording_check() -> tuple[dict[str, int], list[str]]:
    """Every approved charge: its attempt approved, its sale paid, one split summing to the
    amount; each exactly once. Returns counts and the mismatches."""
    from django.db.models import Count, Sum

    from coproduction.models import LedgerEntry
    from products.models import PaymentAttempt, Sale, SimulatedGatewayCharge

    charges = list(
        SimulatedGatewayCharge.objects.filter(kind="charge", outcome="approved").values_list(
            "idempotency_key", "amount_minor"
        )
    )
    attempts = {
        a.idempotency_key: a
        for a in PaymentAttempt.objects.filter(idempotency_key__in=[k for k, _ in charges])
    }
    approved_per_sale = dict(
        PaymentAttempt.objects.filter(status=PaymentAttempt.Status.APPROVED)
        .values("sale_id")
        .annotate(n=Count("id"))
        .values_list("sale_id", "n")
    )
    splits = {
        row["sale_id"]: row
        for row in LedgerEntry.objects.filter(entry_type=LedgerEntry.EntryType.SPLIT)
        .values("sale_id")
        .annotate(total=Sum("amount_minor"), lines=Count("id"), roles=Count("role", distinct=True))
    }
    sales = {s.pk: s for s in Sale.objects.all()}
    mismatches = []
    counts = collections.Counter(charges=len(charges))
    seen_sales = set()
    for key, amount in charges:
        attempt = attempts.get(key)
        if attempt is None or attempt.status != PaymentAttempt.Status.APPROVED:
            mismatches.append(f"charge {key}: attempt {attempt and attempt.status}")
            continue
        counts["attempt approved"] += 1
        sale = sales[attempt.sale_id]
        if attempt.sale_id in seen_sales or approved_per_sale.get(sale.pk) != 1:
            mismatches.append(f"sale {sale.pk}: charged more than once")
            continue
        seen_sales.add(sale.pk)
        if sale.status != Sale.Status.PAID or amount != sale.amount_minor:
            mismatches.append(f"sale {sale.pk}: {sale.status}, charged {amount}")
            continue
        counts["sale paid"] += 1
        split = splits.get(sale.pk)
        if split is None or split["total"] != sale.amount_minor or split["lines"] != split["roles"]:
            mismatches.append(f"sale {sale.pk}: split {split}")
            continue
        counts["split = amount"] += 1
    by_status = collections.Counter(Sale.objects.values_list("status", flat=True))
    paid_without_charge = by_status[Sale.Status.PAID] - counts["sale paid"]
    if paid_without_charge:
        mismatches.append(f"{paid_without_charge} paid sales without an approved charge")
    if len(splits) != counts["split = amount"]:
        mismatches.append(f"{len(splits) - counts['split = amount']} splits of other sales")
    stuck = PaymentAttempt.objects.exclude(status=PaymentAttempt.Status.APPROVED)
    for status, n in collections.Counter(stuck.values_list("status", flat=True)).items():
        mismatches.append(f"{n} attempts left {status}")
    counts.update({f"sales {k}": v for k, v in by_status.items()})
    return dict(counts), mismatches


def main() -> int:
    print(
        f"load: {CONNECTIONS} connections x {SECONDS:.0f} s, gunicorn {WORKERS} workers x "
        f"{THREADS} threads, {BUYERS} buyers, database {DATABASE} on {SERVER_URL}",
        flush=True,
    )
    server = None
    failed = []
    try:
        setup_database()
        product_pk, sessions = seed()
        from django.db import connections

        connections.close_all()
        port = free_port()
        server = start_gunicorn(port)
        deadlocks_before = deadlocks()
        stats, elapsed = run_load(port, product_pk, sessions)
        stop_gunicorn(server)  # its backends exit and flush their statistics
        time.sleep(1.0)
        deadlocks_during = deadlocks() - deadlocks_before

        print(
            f"requests/s    {stats.requests / elapsed:8.1f}  ({stats.requests} in {elapsed:.1f} s)"
        )
        print(f"checkouts/s   {stats.checkouts / elapsed:8.1f}  ({stats.checkouts} paid)")
        print("status codes  " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items())))
        print(f"deadlocks     {deadlocks_during}")
        for kind, n in stats.problems.items():
            print(f"problem       {kind}: {n}")
        for sample in stats.samples:
            print(f"  e.g. {sample}")

        log = GUNICORN_LOG.read_text(errors="replace")
        for word in ("deadlock", "Traceback"):
            hits = log.count(word) if word == "Traceback" else log.lower().count(word)
            if hits:
                failed.append(f"gunicorn log: {hits} x {word!r}")
        fivexx = sum(v for k, v in stats.statuses.items() if k.split()[1].startswith("5"))
        if fivexx:
            failed.append(f"{fivexx} responses 5xx")
        if deadlocks_during:
            failed.append(f"{deadlocks_during} deadlocks")
        if stats.problems:
            failed.append("client problems: " + ", ".join(stats.problems))

        counts, mismatches = recording_check()
        print("recording     " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
        if counts.get("split = amount") != stats.checkouts:
            mismatches.append(
                f"{stats.checkouts} checkouts answered paid, {counts.get('split = amount')} "
                "recorded whole"
            )
        for mismatch in mismatches[:20]:
            print(f"  mismatch: {mismatch}")
        if mismatches:
            failed.append(f"{len(mismatches)} recording mismatches")
    finally:
        if server is not None:
            stop_gunicorn(server)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    if failed:
        print(f"FAILED: {'; '.join(failed)} (gunicorn log: {GUNICORN_LOG})")
        return 1
    shutil.rmtree(WORK, ignore_errors=True)  # kept on failure, for its gunicorn log
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
