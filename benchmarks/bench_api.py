"""The REST API's sales list under load: one producer with 10 000 paid sales (a 10 % cocreator on
every one, so each split has four lines), GET /api/v1/sales (the first page, 50 sales with
their splits) on gunicorn (2 sync workers, production settings, the per-token rate limit in
Redis), next to a hello-world view through the same middleware in the same run
(defined below, for the server). CLIENTS threads send requests back to back for SECONDS per target,
ROUNDS rounds alternating the targets; the medians are printed, then one summary line.

The limit of 600 reads a minute per token is kept: the load spreads over TOKENS tokens of the
producer, so the throttle's cost is measured and none of them is refused.

Usage: make bench-api (API_BENCH_ARGS="--sales 2000 --seconds 5", see --help). Its own database,
coprod_bench_api, on BENCH_DATABASE_URL's server (else DATABASE_URL's, else 127.0.0.1:5432),
built again each run."""

import argparse
import http.client
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from _setup import DEFAULT_URL, ROOT, analyze, django_on_bench_database, truncate, with_database

if os.environ.get("BENCH_API_SERVER"):
    # gunicorn's settings and URLs (DJANGO_SETTINGS_MODULE=bench_api): production's, plus a
    # hello-world view that runs every middleware a page does and nothing else.
    from config.settings.production import *  # noqa: F403

    ROOT_URLCONF = "bench_api"

    def __getattr__(name: str):
        # The URLs are read once the apps are ready (this module is the settings too).
        if name != "urlpatterns":
            raise AttributeError(name)
        from django.http import HttpResponse
        from django.urls import include, path

        def hello(request):
            return HttpResponse(b"Hello, world", content_type="text/plain")

        return [path("hello/", hello), path("", include("config.urls"))]


BIN = Path(sys.executable).parent
DATABASE = "coprod_bench_api"
HEADERS = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--tokens", type=int, default=40)
    return parser.parse_args(argv)


def database_url() -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    return with_database(base, DATABASE)


def server_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_api",
        "BENCH_API_SERVER": "1",
        "DATABASE_URL": url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GATEWAY_WEBHOOK_SECRET": secrets.token_hex(24),
        "PAYOUT_WEBHOOK_SECRET": secrets.token_hex(24),
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/13"),
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "SENTRY_DSN": "",
        "VAR_DIR": str(ROOT / "var" / "bench_api"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}",
    }


def build(count: int, tokens: int) -> list[str]:
    """Empty the tables, then the producer's `count` paid sales split by the ledger service
    (in batches), and `tokens` read-only tokens of theirs; returns the tokens' plaintexts."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from accounts import api_tokens
    from accounts.models import User
    from coproduction.models import Contract, TermsOfUse
    from coproduction.services.ledger import ledger_write_splits
    from products.models import Product, Sale

    truncate(
        "coproduction_ledgerentry",
        "products_refund",
        "products_sale",
        "coproduction_contract",
        "products_product",
        "accounts_apitoken",
        "accounts_user",
    )
    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Terms"})
    producer = User.objects.create_user(email="producer@bench.test", password=None)
    cocreator = User.objects.create_user(email="co@bench.test", password=None)
    buyer = User.objects.create_user(email="buyer@bench.test", password=None)
    product = Product.objects.create(producer=producer, name="Course", price_minor=9700)
    Contract.objects.create(
        product=product,
        cocreator=cocreator,
        role="expert",
        status="active",
        sales_scope="all",
        commission_percent=Decimal("10"),
        coproduction_model="revenue_share",
        terms=terms,
        accepted_at=timezone.now(),
    )
    now = timezone.now()
    batch = 2000
    for start in range(0, count, batch):
        sales = Sale.objects.bulk_create(
            Sale(
                product=product,
                buyer=buyer,
                amount_minor=9700,
                currency="BRL",
                method="card",
                country="BR",
                status=Sale.Status.PAID,
                checkout_key=uuid.uuid4().hex,
                created_at=now,
                paid_at=now - timedelta(seconds=30 * (count - start - i)),
            )
            for i in range(min(batch, count - start))
        )
        ledger_write_splits(sale_ids=[s.pk for s in sales])
    analyze()
    return [api_tokens.create(producer, f"bench {n}", "read")[1] for n in range(tokens)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, token: str = "") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = dict(HEADERS)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=sync",
            "--timeout=120",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            if get(port, "/hello/")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /hello/ within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def load(port: int, path: str, tokens: list[str], seconds: float, clients: int) -> dict:
    """`clients` threads, each sending GET `path` back to back for `seconds`; requests/s of
    200 answers, and any other status counted."""
    counts: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []

    def client(offset: int) -> None:
        n = offset
        mine: dict[int, int] = {}
        times = []
        while time.monotonic() < stop_at:
            token = tokens[n % len(tokens)] if tokens else ""
            n += clients
            started = time.perf_counter()
            status, _ = get(port, path, token)
            times.append(time.perf_counter() - started)
            mine[status] = mine.get(status, 0) + 1
        with lock:
            for status, number in mine.items():
                counts[status] = counts.get(status, 0) + number
            latencies.extend(times)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    return {"rps": counts.get(200, 0) / elapsed, "counts": counts, "p99_ms": p99}


def main(argv=None) -> int:
    args = parse_args(argv)
    url = database_url()
    env = server_env(url)
    names = (
        "SECRET_KEY",
        "GATEWAY_WEBHOOK_SECRET",
        "PAYOUT_WEBHOOK_SECRET",
        "CACHE_URL",
        "LOG_LEVEL",
    )
    for name in names:
        os.environ[name] = env[name]
    os.environ["VAR_DIR"] = env["VAR_DIR"]
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    django_on_bench_database(url=url)
    import logging

    logging.getLogger("coprod.money").setLevel(logging.WARNING)  # one line per 2 000 sales
    started = time.perf_counter()
    print(f"building {args.sales} paid sales with their splits…", flush=True)
    tokens = build(args.sales, args.tokens)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    from django.db import connections

    connections.close_all()

    port = free_port()
    server = start_gunicorn(env, port, args.workers, Path(env["VAR_DIR"]) / "gunicorn.log")
    targets = [("hello-world view", "/hello/", []), ("GET /api/v1/sales", "/api/v1/sales", tokens)]
    try:
        status, body = get(port, "/api/v1/sales", tokens[0])
        if status != 200 or body.count(b'"split"') != 50:
            raise SystemExit(f"/api/v1/sales answered {status}: {body[:300]!r}")
        for _ in range(args.workers * 3):  # every worker has loaded both once
            get(port, "/hello/")
            get(port, "/api/v1/sales", tokens[1])
        results: dict[str, list[dict]] = {name: [] for name, _path, _tokens in targets}
        for round_number in range(args.rounds):
            for name, path, keys in targets:
                result = load(port, path, keys, args.seconds, args.clients)
                results[name].append(result)
                print(
                    f"round {round_number + 1}: {name:20} {result['rps']:8.1f} req/s  "
                    f"p99 {result['p99_ms']:6.1f} ms  statuses {result['counts']}",
                    flush=True,
                )
    finally:
        stop(server)
    medians = {name: statistics.median(r["rps"] for r in rs) for name, rs in results.items()}
    refused = sum(
        number
        for rs in results.values()
        for r in rs
        for status, number in r["counts"].items()
        if status != 200
    )
    hello = medians["hello-world view"]
    api = medians["GET /api/v1/sales"]
    print(
        f"bench-api: GET /api/v1/sales (first page of 50, {args.sales} sales) {api:.0f} req/s, "
        f"hello-world view {hello:.0f} req/s ({api / hello:.0%} of it), gunicorn "
        f"{args.workers} sync workers, {args.clients} clients, median of {args.rounds} rounds; "
        f"non-200 answers: {refused}"
    )
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
