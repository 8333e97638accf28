"""Scale-out on one machine: 2 gunicorn instances, 3 Celery workers and 1 beat as separate
processes (production settings, PostgreSQL and Redis over TCP on 127.0.0.1) bill N due
subscriptions while web load hits both instances; then checks that every due recurrence was
charged exactly once.

The billing cycle is triggered as beat triggers it: the billing entries of CELERY_BEAT_SCHEDULE
are sent through the broker by name, on a compressed clock (every half second instead of every
minute, while fewer messages wait than there are worker processes), and beat itself runs with
its real schedule beside it. Prints billing throughput, web requests/s and errors per instance,
task failures, /readyz, the one-charge-per-recurrence check and one summary line; exits 1 when
anything failed. Every process started is stopped at the end, on failure and on Ctrl-C.

Usage: make bench-scaleout [SCALEOUT_ARGS="--subscriptions 5000 --pgbouncer"]; the server is
BENCH_DATABASE_URL's (the database is `scaleout`, dropped and created), Redis 127.0.0.1:6379."""

import argparse
import collections
import http.client
import json
import os
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
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _setup import (  # noqa: E402
    DEFAULT_URL,
    PRICE_MINOR,
    build_due_subscriptions,
    django_on_bench_database,
    with_database,
)

BIN = Path(sys.executable).parent
# The beat entries of one billing cycle (CELERY_BEAT_SCHEDULE): create the due recurrences,
# then charge them.
BILLING_ENTRIES = ("create-due-recurrences", "collect-recurrences")
VISITOR = "visitor@bench.test"
# What the web load asks, in turn, on each connection: liveness, readiness, the login page
# (anonymous) and the dashboard (logged in).
PATHS = ("/healthz", "/readyz", "/accounts/login/", "/dashboard/")
LOGGED_IN = "/dashboard/"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=50_000)
    parser.add_argument("--web", type=int, default=2, help="gunicorn instances")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers each")
    parser.add_argument("--web-threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--workers", type=int, default=3, help="Celery worker instances")
    parser.add_argument("--concurrency", type=int, default=1, help="processes per worker")
    parser.add_argument("--connections", type=int, default=8, help="load connections each")
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=10,
        help="web load runs from the start of billing until it settles, and at least this long",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=30,
        help="after billing settled, how long the workers may work off the receipts",
    )
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for billing to settle")
    parser.add_argument("--database", default="scaleout", help="its name on the server")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="server (no db)")
    parser.add_argument(
        "--redis-db", type=int, default=10, help="the broker's database; the cache uses the next"
    )
    parser.add_argument("--pgbouncer", action="store_true", help="through a local PgBouncer")
    parser.add_argument(
        "--fresh", action="store_true", help="drop and create the database (else it is emptied)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = parser.parse_args(argv)
    if not args.database.startswith("scaleout"):
        parser.error("--database must start with 'scaleout' (it is dropped and created)")
    return args


def number(n: float) -> str:
    """50 000, as the summary prints counts."""
    return f"{round(n):,}".replace(",", " ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, *, cookie: str = "", timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Processes:
    """Every child this script starts, each in its own session (Ctrl-C in the terminal reaches
    only this script, which stops them in order) with its output in a log file."""

    def __init__(self, work: Path):
        self.work = work
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("w")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def exited(self) -> list[str]:
        return [f"{name} ({p.returncode})" for name, p in self.started if p.poll() is not None]

    def stop(self, timeout: float = 60) -> None:
        """TERM to each process's own PID (never its group: a prefork worker's main process
        stops its pool; signalled as a group it can hang in billiard's shutdown), then KILL
        what is still there after `timeout`. PgBouncer last: a worker finishes its task."""
        self._stop([(n, p) for n, p in self.started if n != "pgbouncer"], timeout)
        self._stop([(n, p) for n, p in self.started if n == "pgbouncer"], timeout)

    def _stop(self, chosen: list[tuple[str, subprocess.Popen]], timeout: float) -> None:
        for _, process in chosen:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, process in chosen:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class ScaleOut:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="coprod-scaleout-"))
        self.processes = Processes(self.work)
        server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
        self.url = with_database(server, args.database)
        self.admin_url = with_database(server, "postgres")
        self.broker = f"{args.redis}/{args.redis_db}"
        self.cache = f"{args.redis}/{args.redis_db + 1}"
        self.web_ports: list[int] = []
        self.app_url = self.url  # what web, workers and beat use: PgBouncer's with --pgbouncer
        # Production settings, as the Procfile's processes run them; plain HTTP on 127.0.0.1.
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "scaleout-only-" + secrets.token_hex(24),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": "http://127.0.0.1",
            "CELERY_BROKER_URL": self.broker,
            "CACHE_URL": self.cache,
            "GATEWAY_WEBHOOK_SECRET": secrets.token_hex(24),
            "PAYOUT_WEBHOOK_SECRET": secrets.token_hex(24),
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "TRUSTED_PROXY_COUNT": "0",  # reached directly, no proxy in front
            # Receipts are rendered and "sent" by the workers, to nowhere.
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "SENTRY_DSN": "",
            # collectstatic's files and manifest, read by gunicorn; kept for the next run.
            "VAR_DIR": str(ROOT / "var" / "scaleout"),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
        }

    # ----------------------------------------------------------------------------- set-up

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def prepare(self) -> str:
        """A fresh database with N due subscriptions, a logged-in visitor (returns its session
        cookie), static files collected, empty Redis databases and beat's entries as a
        deployment whose beat was stopped has them: last sent long ago."""
        import redis

        t0 = time.monotonic()
        for db in (self.broker, self.cache):
            redis.Redis.from_url(db).flushdb()
        if self.args.fresh:
            self.admin(f'DROP DATABASE IF EXISTS "{self.args.database}" WITH (FORCE)')
        os.environ.update(self.env)  # this process reads and checks with the same settings
        # The release's other step, beside migrating (it reads no database).
        static = subprocess.Popen(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
        )
        django_on_bench_database(url=self.url)
        from datetime import timedelta

        from django.conf import settings
        from django.db.models import F
        from django.test import Client
        from django.utils import timezone
        from django_celery_beat.models import PeriodicTask
        from django_celery_beat.schedulers import ModelEntry

        from accounts.models import User
        from config.celery import app
        from config.health import HEARTBEAT_TASK
        from subscriptions.models import Subscription

        if static.wait():
            raise SystemExit("collectstatic failed")
        print(f"database migrated, static files collected in {time.monotonic() - t0:.1f} s")
        started = time.monotonic()
        build_due_subscriptions(self.args.subscriptions)
        print(
            f"built {number(self.args.subscriptions)} due subscriptions in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
        visitor = User.objects.create_user(email=VISITOR, password=None)
        client = Client()
        client.force_login(visitor)  # a session row, as a login leaves it
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        # Not due until the run starts (then the date comes, as at midnight): beat's own
        # billing sends during start-up find nothing.
        Subscription.objects.update(next_charge_date=F("next_charge_date") + timedelta(days=1))
        # Beat's entries as a deployment whose beat was stopped a while has them: the heartbeat
        # last sent long ago, so the new beat sends it at once and /readyz is ready within
        # seconds (on a brand-new database it waits for the first */5 minute); the rest as
        # just sent, so they come on their schedule.
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            ModelEntry.from_entry(name, app=app, **entry)
        now = timezone.now()
        PeriodicTask.objects.update(last_run_at=now)
        PeriodicTask.objects.filter(task=HEARTBEAT_TASK).update(last_run_at=now - timedelta(days=1))
        from django.db import connections

        connections.close_all()
        return cookie

    def start_pgbouncer(self) -> None:
        """PgBouncer in transaction mode in front of the database (trust, as the server)."""
        exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(exe).exists():
            raise SystemExit("--pgbouncer: not installed (apt-get install pgbouncer)")
        target = urlsplit(self.url)
        if not target.hostname or unquote(target.hostname).startswith("/"):
            raise SystemExit("--pgbouncer needs the database server over TCP (host:port)")
        port = free_port()
        folder = self.work / "pgbouncer"
        folder.mkdir()
        user = target.username or "postgres"
        (folder / "users.txt").write_text(f'"{user}" ""\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{self.args.database} = host={target.hostname} port={target.port or 5432} "
            f"dbname={self.args.database}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {folder / 'users.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 20\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        command = [exe, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:  # it refuses to run as root
            shutil.chown(folder, "postgres")
            for path in folder.iterdir():
                shutil.chown(path, "postgres")
            command[1:1] = ["-u", "postgres"]
        self.processes.start("pgbouncer", command, self.env)
        user_part = target.netloc.rsplit("@", 1)[0] + "@" if "@" in target.netloc else ""
        self.app_url = urlunsplit(target._replace(netloc=f"{user_part}127.0.0.1:{port}"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"pgbouncer did not listen: {self.processes.log('pgbouncer')[-500:]}")

    def start(self) -> None:
        args = self.args
        env = {**self.env, "DATABASE_URL": self.app_url}
        for i in range(args.web):
            port = free_port()
            self.web_ports.append(port)
            # The Procfile's web command; the address and sizes on the command line.
            self.processes.start(
                f"web{i + 1}",
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    "config/gunicorn.py",
                    "config.wsgi",
                    f"--bind=127.0.0.1:{port}",
                    # Its own control socket: by default every instance on a host wants
                    # ~/.gunicorn/gunicorn.ctl, and the second one logs an error.
                    f"--control-socket={self.work / f'web{i + 1}.ctl'}",
                    f"--workers={args.web_workers}",
                    f"--threads={args.web_threads}",
                    "--timeout=60",
                ],
                env,
            )
        for i in range(args.workers):
            self.processes.start(
                f"worker{i + 1}",
                [
                    str(BIN / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "--loglevel=WARNING",
                    f"--concurrency={args.concurrency}",
                    f"--hostname=worker{i + 1}@%h",
                ],
                env,
            )
        self.processes.start(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel=WARNING",
                f"--pidfile={self.work / 'beat.pid'}",
                f"--schedule={self.work / 'beat-schedule'}",
            ],
            env,
        )

    def wait_ready(self, timeout: float = 120) -> float:
        """Until both instances answer /readyz 200 (database, broker, beat's heartbeat) and
        every worker answers a ping. Returns how long it took."""
        from config.celery import app

        started = time.monotonic()
        deadline = started + timeout
        waiting = "web"
        while time.monotonic() < deadline:
            if gone := self.processes.exited():
                raise SystemExit(f"exited during start-up: {', '.join(gone)} (logs: {self.work})")
            try:
                if waiting == "web" and all(
                    get(p, "/readyz", timeout=5)[0] == 200 for p in self.web_ports
                ):
                    waiting = "workers"
                if waiting == "workers":
                    replies = app.control.ping(timeout=1.0)
                    if len(replies) >= self.args.workers:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"not ready after {timeout:.0f} s (waiting for {waiting}; {self.work})")

    def warm_up(self, cookie: str) -> None:
        """Each path a few times on parallel connections, so that every gunicorn worker has
        loaded its templates and translations before the measured load (a first request costs
        seconds, not milliseconds)."""

        def visit(port: int) -> None:
            for path in PATHS:
                get(port, path, cookie=cookie if path == LOGGED_IN else "", timeout=60)

        threads = [
            threading.Thread(target=visit, args=(port,))
            for port in self.web_ports
            for _ in range(self.args.web_workers * self.args.web_threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # ----------------------------------------------------------------------------- the run

    def bill_under_load(self, cookie: str) -> dict:
        import psycopg
        import redis
        from django.conf import settings

        from config.celery import app

        entries = [settings.CELERY_BEAT_SCHEDULE[name] for name in BILLING_ENTRIES]
        slots = self.args.workers * self.args.concurrency
        queue = redis.Redis.from_url(self.broker)
        sent = collections.Counter()
        with psycopg.connect(self.url, autocommit=True) as conn:
            load = start_load(self.args, self.web_ports, cookie, self.work)
            # The due date comes: every subscription is due now.
            conn.execute(
                "UPDATE subscriptions_subscription SET next_charge_date = next_charge_date - 1"
            )
            started = time.monotonic()
            created_at = settled_at = None
            while True:
                now = time.monotonic()
                if now - started > self.args.timeout:
                    break
                if gone := self.processes.exited():
                    raise SystemExit(f"exited during the run: {', '.join(gone)} ({self.work})")
                # Beat's compressed clock: each billing entry, as beat sends it, while fewer
                # messages wait than there are worker processes to take them.
                if queue.llen("celery") < slots:
                    for entry in entries:
                        app.send_task(entry["task"], **entry.get("options", {}))
                        sent[entry["task"]] += 1
                created, open_ = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE status IN "
                    "('scheduled', 'collecting')) FROM subscriptions_recurrence"
                ).fetchone()
                if created_at is None and created >= self.args.subscriptions:
                    created_at = now
                if created >= self.args.subscriptions and open_ == 0:
                    settled_at = now
                    break
                time.sleep(0.5)
        billing_seconds = (settled_at or time.monotonic()) - started
        remaining = self.args.load_seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        web = load.stop()
        # What billing enqueued (receipts, one task per paid batch) is worked off for a while
        # before the workers stop, so task failures count it too; what is left is reported.
        drain_deadline = time.monotonic() + self.args.drain_seconds
        while queue.llen("celery") and time.monotonic() < drain_deadline:
            time.sleep(0.5)
        readyz = {}
        for i, port in enumerate(self.web_ports):
            try:
                status, body = get(port, "/readyz")
                readyz[f"web{i + 1}"] = (status, json.loads(body))
            except OSError as exc:
                readyz[f"web{i + 1}"] = (0, {"error": type(exc).__name__})
        return {
            "settled": settled_at is not None,
            "billing_seconds": billing_seconds,
            "create_seconds": (created_at - started) if created_at else None,
            "sent": dict(sent),
            "queue_left": queue.llen("celery"),
            "web": web,
            "readyz": readyz,
        }

    def task_failures(self) -> tuple[int, list[str]]:
        """ERROR records in the workers' and beat's logs (a task that raised, a row a billing
        batch could not handle) and tracebacks anywhere, with a few examples."""
        failures, samples = 0, []
        for name, _ in self.processes.started:
            if name == "pgbouncer" or name.startswith("web"):
                continue
            for line in self.processes.log(name).splitlines():
                try:
                    record = json.loads(line)
                    bad = record.get("level") in ("ERROR", "CRITICAL")
                    text = record.get("message", "")
                except ValueError:  # a line of Celery's own (its banner) or a raw traceback
                    bad = line.startswith("Traceback")
                    text = line
                if bad:
                    failures += 1
                    if len(samples) < 3:
                        samples.append(f"{name}: {text[:200]}")
        return failures, samples

    def web_log_errors(self) -> dict[str, int]:
        counts = {}
        for i in range(self.args.web):
            name = f"web{i + 1}"
            n = 0
            for line in self.processes.log(name).splitlines():
                try:
                    n += json.loads(line).get("level") in ("ERROR", "CRITICAL")
                except ValueError:
                    n += line.startswith("Traceback")
            counts[name] = n
        return counts

    def close(self, failed: bool) -> None:
        self.processes.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not failed and not self.args.keep_logs:
            shutil.rmtree(self.work, ignore_errors=True)


def one_charge_per_recurrence(url: str, due: int) -> tuple[dict, list[str]]:
    """SQL over the attempts and the simulated gateway's charges: every due subscription has
    its recurrence, each recurrence was charged exactly once (one approved charge on the
    gateway's side, found through its attempt's key), no key twice, none left collecting."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            WITH charged AS (
                SELECT r.id, r.status, count(c.id) AS charges,
                       count(c.id) FILTER (WHERE c.outcome = 'approved') AS approved
                FROM subscriptions_recurrence r
                LEFT JOIN subscriptions_paymentattempt a ON a.sale_id = r.sale_id
                LEFT JOIN subscriptions_simulatedgatewaycharge c
                       ON c.idempotency_key = a.idempotency_key AND c.kind = 'charge'
                GROUP BY r.id, r.status
            )
            SELECT count(*),
                   count(*) FILTER (WHERE charges = 1 AND approved = 1),
                   count(*) FILTER (WHERE charges = 0),
                   count(*) FILTER (WHERE charges > 1),
                   count(*) FILTER (WHERE status IN ('scheduled', 'collecting')),
                   count(*) FILTER (WHERE status = 'paid'),
                   (SELECT count(*) FROM subscriptions_subscription s WHERE NOT EXISTS (
                       SELECT 1 FROM subscriptions_recurrence r2 WHERE r2.subscription_id = s.id
                   )),
                   (SELECT count(*) FROM (SELECT idempotency_key
                       FROM subscriptions_simulatedgatewaycharge GROUP BY 1 HAVING count(*) > 1
                   ) d),
                   (SELECT count(*) FROM (SELECT idempotency_key
                       FROM subscriptions_paymentattempt GROUP BY 1 HAVING count(*) > 1
                   ) d),
                   (SELECT count(*) FROM (SELECT subscription_id, number
                       FROM subscriptions_recurrence GROUP BY 1, 2 HAVING count(*) > 1
                   ) d),
                   (SELECT coalesce(sum(amount_minor), 0) FROM coproduction_ledgerentry
                     WHERE entry_type = 'split')
            FROM charged
            """
        ).fetchone()
    keys = (
        "recurrences",
        "charged once",
        "never charged",
        "charged more than once",
        "left scheduled or collecting",
        "paid",
        "subscriptions without their recurrence",
        "duplicate gateway keys",
        "duplicate attempt keys",
        "duplicate recurrence numbers",
        "ledger split total",
    )
    counts = dict(zip(keys, row, strict=True))
    problems = []
    if counts["recurrences"] != due:
        problems.append(f"{counts['recurrences']} recurrences for {due} due subscriptions")
    for key in keys[1:2]:
        if counts[key] != due:
            problems.append(f"{key}: {counts[key]} of {due}")
    for key in keys[2:5] + keys[6:10]:
        if counts[key]:
            problems.append(f"{key}: {counts[key]}")
    if counts["paid"] != due:
        problems.append(f"paid: {counts['paid']} of {due}")
    if counts["ledger split total"] != due * PRICE_MINOR:
        problems.append(f"ledger split total {counts['ledger split total']} != {due * PRICE_MINOR}")
    return counts, problems


# --------------------------------------------------------------------------------- web load


class WrkLoad:
    """One wrk process per instance; its Lua script rotates through PATHS and counts every
    answer that is not 200 (a 302 from the dashboard means the session was lost)."""

    LUA = """
local paths = {%(paths)s}
local logged_in = "%(logged_in)s"
local cookie = "%(cookie)s"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  requests, n, not_ok = {}, 0, 0
  for i, path in ipairs(paths) do
    local headers = {}
    if path == logged_in then headers["Cookie"] = cookie end
    requests[i] = wrk.format("GET", path, headers)
  end
end
function request()
  n = n + 1
  return requests[(n %% #requests) + 1]
end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local not_ok = 0
  for _, thread in ipairs(threads) do not_ok = not_ok + thread:get("not_ok") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%.3f, "not_200": %%d, "socket_errors": %%d, "p99_ms": %%.1f}\\n',
    summary.requests, summary.duration / 1e6, not_ok,
    e.connect + e.read + e.write + e.timeout, latency:percentile(99) / 1000))
end
"""

    def __init__(self, args, ports: list[int], cookie: str, work: Path):
        script = work / "load.lua"
        script.write_text(
            self.LUA
            % {
                "paths": ", ".join(f'"{p}"' for p in PATHS),
                "logged_in": LOGGED_IN,
                "cookie": cookie,
            }
        )
        self.outputs = []
        self.processes = []
        for i, port in enumerate(ports):
            out = work / f"wrk{i + 1}.out"
            self.outputs.append(out)
            with out.open("w") as stdout:
                self.processes.append(
                    subprocess.Popen(
                        [
                            "wrk",
                            "-t1",
                            f"-c{args.connections}",
                            f"-d{int(args.timeout + args.load_seconds + 60)}s",
                            "--timeout=10s",
                            "-s",
                            str(script),
                            f"http://127.0.0.1:{port}",
                        ],
                        stdout=stdout,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

    def stop(self) -> dict[str, dict]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # wrk stops and reports
        results = {}
        for i, (process, out) in enumerate(zip(self.processes, self.outputs, strict=True)):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            lines = [ln for ln in out.read_text().splitlines() if ln.startswith("{")]
            if not lines:
                raise SystemExit(f"wrk reported nothing: {out.read_text()[-500:]}")
            r = json.loads(lines[-1])
            results[f"web{i + 1}"] = {
                "requests": r["requests"],
                "seconds": r["seconds"],
                "errors": r["not_200"] + r["socket_errors"],
                "not_200": r["not_200"],
                "socket_errors": r["socket_errors"],
                "p99_ms": r["p99_ms"],
            }
        return results

    def killall(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


class PythonLoad:
    """The fallback without wrk: keep-alive connections in threads, the same rotation."""

    def __init__(self, args, ports: list[int], cookie: str, work: Path):
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.stats = {p: collections.Counter() for p in ports}
        self.ports = ports
        self.started = time.monotonic()
        self.threads = [
            threading.Thread(target=self.loop, args=(port, cookie, i), daemon=True)
            for port in ports
            for i in range(args.connections)
        ]
        for thread in self.threads:
            thread.start()

    def loop(self, port: int, cookie: str, offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = offset
        while not self.stopping.is_set():
            path = PATHS[n % len(PATHS)]
            n += 1
            headers = {"Cookie": cookie} if path == LOGGED_IN else {}
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                kind = "ok" if response.status == 200 else "not_200"
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                kind = "socket_errors"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with self.lock:
                self.stats[port][kind] += 1
        conn.close()

    def stop(self) -> dict[str, dict]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=35)
        seconds = time.monotonic() - self.started
        results = {}
        for i, port in enumerate(self.ports):
            s = self.stats[port]
            results[f"web{i + 1}"] = {
                "requests": sum(s.values()),
                "seconds": seconds,
                "errors": s["not_200"] + s["socket_errors"],
                "not_200": s["not_200"],
                "socket_errors": s["socket_errors"],
            }
        return results

    def killall(self) -> None:
        self.stopping.set()


LOADS: list = []


def start_load(args, ports: list[int], cookie: str, work: Path):
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk"))
    if args.load == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--load wrk: wrk is not installed (apt-get install wrk)")
    load = (WrkLoad if use_wrk else PythonLoad)(args, ports, cookie, work)
    load.kind = "wrk" if use_wrk else "python"
    LOADS.append(load)
    return load


# ------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt  # the same clean-up as Ctrl-C

    signal.signal(signal.SIGTERM, stop_on_term)
    # Ctrl-C too, even when started in the background by a shell (which ignores it there).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run = ScaleOut(args)
    failed: list[str] = []
    try:
        print(
            f"scale-out: {number(args.subscriptions)} due subscriptions; {args.web} gunicorn x "
            f"{args.web_workers} workers x {args.web_threads} threads, {args.workers} Celery "
            f"workers x {args.concurrency}, 1 beat; database {args.database} on "
            f"{urlsplit(run.url).hostname or urlsplit(run.url).query}"
            f"{' through PgBouncer (transaction mode)' if args.pgbouncer else ''}, "
            f"Redis {run.broker} (broker), {run.cache} (cache)",
            flush=True,
        )
        cookie = run.prepare()
        if args.pgbouncer:
            run.start_pgbouncer()
        run.start()
        ready = run.wait_ready()
        run.warm_up(cookie)
        print(f"ready in {ready:.1f} s: /readyz 200 on every instance, every worker answers")
        result = run.bill_under_load(cookie)
        load_kind = LOADS[-1].kind
        run.processes.stop()  # workers finish their task; gunicorn and beat stop
        counts, problems = one_charge_per_recurrence(run.url, args.subscriptions)
        failures, samples = run.task_failures()
        log_errors = run.web_log_errors()
    except KeyboardInterrupt:
        print("interrupted: stopping every process", flush=True)
        for load in LOADS:
            load.killall()
        run.close(failed=True)
        return 130
    except BaseException:
        for load in LOADS:
            load.killall()
        run.close(failed=True)
        print(f"FAILED (logs kept in {run.work})", flush=True)
        raise

    seconds = result["billing_seconds"]
    rate = args.subscriptions / seconds if result["settled"] else 0
    if result["settled"]:
        create = result["create_seconds"]
        print(
            f"billing       {number(args.subscriptions)} recurrences settled in {seconds:.1f} s: "
            f"{number(rate)} recurrences/s (all created after {create:.1f} s); tasks sent "
            + ", ".join(f"{k} x {v}" for k, v in result["sent"].items())
        )
    else:
        failed.append(f"billing did not settle within {args.timeout:.0f} s")
        print(f"billing       not settled after {seconds:.0f} s")
    web = result["web"]
    total_requests = sum(w["requests"] for w in web.values())
    load_seconds = max(w["seconds"] for w in web.values())
    web_rate = total_requests / load_seconds if load_seconds else 0
    web_errors = sum(w["errors"] for w in web.values()) + sum(log_errors.values())
    for name, w in web.items():
        print(
            f"web           {name}: {w['requests'] / w['seconds']:.0f} req/s "
            f"({w['requests']} in {w['seconds']:.1f} s, {load_kind}), errors {w['errors']} "
            f"(not 200: {w['not_200']}, socket: {w['socket_errors']}, "
            f"logged: {log_errors[name]})"
            + (f", p99 {w['p99_ms']:.0f} ms" if "p99_ms" in w else "")
        )
    print(
        f"tasks         failures {failures}; {result['queue_left']} messages left in the queue "
        "(receipts and their emails, not yet sent when the workers stopped)"
    )
    for sample in samples:
        print(f"  e.g. {sample}")
    for name, (status, body) in result["readyz"].items():
        checks = ", ".join(
            f"{k} {'ok' if v.get('ok') else v.get('error', 'failed')}"
            for k, v in body.get("checks", {}).items()
        )
        print(f"readyz        {name}: {status} ({checks or body})")
        if status != 200:
            failed.append(f"/readyz {status} on {name}")
    print("check         " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for problem in problems:
        print(f"  problem: {problem}")
    once = not problems
    if not once:
        failed.append("one charge per recurrence: no")
    if web_errors:
        failed.append(f"{web_errors} web errors")
    if failures:
        failed.append(f"{failures} task failures")
    errors = web_errors + failures
    print(
        f"scale-out: {number(args.subscriptions)} subscriptions billed in {seconds:.0f} s "
        f"({number(rate)}/s) by {args.workers} workers, one charge per recurrence: "
        f"{'yes' if once else 'no'}, web {args.web}×gunicorn {number(web_rate)} req/s, "  # noqa: RUF001 (as the issue words it)
        f"{errors} errors",
        flush=True,
    )
    run.close(failed=bool(failed))
    if failed:
        print(f"FAILED: {'; '.join(failed)} (logs: {run.work})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
