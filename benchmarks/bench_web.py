"""Every page a producer, a cocreator and a buyer use, loaded at a big producer's scale
(benchmarks/web_data.py: 20 products, 30 cocreators on one, 5 000 one-time sales, 3 000
subscriptions with 6 recurrences, 10 affiliates; `--scale 10` for ten times the sales and
subscriptions), on gunicorn with 2 sync workers and production settings, with
`wrk -t2 -c8 --latency`. Each round loads a hello-world view (same middleware), the login page
and every page; the table shows the medians of the rounds and each page's req/s as a ratio to
the login page's, and a summary line ends the run.

Usage: make bench-web (WEB_ARGS="--scale 10", "--duration 5", "--rebuild"; see --help).
Its own database, coprod_web (coprod_web_x10 at scale 10), on BENCH_DATABASE_URL's server
(else DATABASE_URL's, else 127.0.0.1:5432); the data set is kept there and reused while its
parameters stay the same."""

import argparse
import http.client
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import DEFAULT_URL, ROOT, django_on_bench_database, with_database

BIN = Path(sys.executable).parent
DATABASE = "coprod_web"
# p99 and req/s targets (issue 14): at scale 1, and the p99 at scale 10.
P99_TARGET_MS = {1: 100, 10: 250}
RATIO_TARGET = 0.25


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="times the sales and subscriptions")
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per page")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--only", default="", help="comma-separated page names to load")
    parser.add_argument("--check", action="store_true", help="check the pages, load none")
    return parser.parse_args(argv)


def ensure_wrk() -> str:
    """wrk from Debian's packages when it is missing (as root, else sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's package", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def database_url(scale: int) -> str:
    """coprod_web (coprod_web_x10 for --scale 10…): each scale's data set is kept."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    return with_database(base, DATABASE if scale == 1 else f"{DATABASE}_x{scale}")


def server_env(url: str) -> dict[str, str]:
    """What gunicorn runs with: production settings (plus /hello/), reached directly over
    HTTP (the HTTPS redirect is left on: requests say they came through the TLS proxy)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.web_settings",
        "DATABASE_URL": url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GATEWAY_WEBHOOK_SECRET": secrets.token_hex(24),
        "PAYOUT_WEBHOOK_SECRET": secrets.token_hex(24),
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/14"),
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "SENTRY_DSN": "",
        "VAR_DIR": str(ROOT / "var" / "bench_web"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "2",
        "PYTHONPATH": str(ROOT),
    }


HEADERS = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}


def sessions(people) -> dict[str, str]:
    """A session cookie per person, as a login leaves it (the auth keys in a session row)."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    cookies = {}
    for role, pk in (
        ("producer", people.producer),
        ("cocreator", people.cocreator),
        ("buyer", people.buyer),
    ):
        client = Client()
        client.force_login(User.objects.get(pk=pk), backend=settings.AUTHENTICATION_BACKENDS[0])
        value = client.cookies[settings.SESSION_COOKIE_NAME].value
        cookies[role] = f"{settings.SESSION_COOKIE_NAME}={value}"
    cookies[""] = ""
    return cookies


def pages(people) -> list[tuple[str, str, str]]:
    """(name, who, path) of every page measured; who "" is anonymous."""
    from django.urls import reverse

    return [
        ("hello-world view", "", "/hello/"),
        ("login", "", reverse("account_login")),
        ("Subscribers", "producer", reverse("subscriptions:subscribers", args=[people.club])),
        ("Sales", "producer", reverse("products:sales")),
        ("Sales (cocreator)", "cocreator", reverse("products:sales") + "?role=cocreator"),
        ("Earnings", "producer", reverse("products:earnings")),
        ("Earnings (cocreator)", "cocreator", reverse("products:earnings")),
        ("Invite cocreator", "producer", reverse("coproduction:invite", args=[people.course])),
        ("co-productions list", "producer", reverse("coproduction:index")),
        ("product's contracts", "producer", reverse("coproduction:product", args=[people.course])),
        ("I am a cocreator", "cocreator", reverse("coproduction:cocreator")),
        (
            "confirmed co-productions",
            "cocreator",
            reverse("coproduction:cocreator") + "?tab=confirmed",
        ),
        ("Change History", "cocreator", reverse("coproduction:history", args=[people.contract])),
        ("My purchases", "buyer", reverse("products:purchases")),
        ("My subscriptions", "buyer", reverse("subscriptions:mine")),
        ("public product page", "", reverse("products:public", args=[people.course])),
        ("checkout form", "buyer", reverse("products:checkout", args=[people.course])),
        ("dashboard (producer)", "producer", reverse("dashboard")),
        ("dashboard (cocreator)", "cocreator", reverse("dashboard")),
        ("inbox", "producer", reverse("accounts:inbox")),
        ("Balance", "producer", reverse("coproduction:balance")),
        ("Balance (cocreator)", "cocreator", reverse("coproduction:balance")),
        ("Statements", "producer", reverse("coproduction:statement")),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, cookie: str, timeout: float = 60) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = dict(HEADERS, **({"Cookie": cookie} if cookie else {}))
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Location") or ""
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
            if get(port, "/healthz", "", timeout=2)[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(wrk: str, args, port: int, path: str, cookie: str) -> dict:
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout=10s",
    ]
    for name, value in dict(HEADERS, **({"Cookie": cookie} if cookie else {})).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    latency = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if rate is None or len(latency) != 2:
        raise SystemExit(f"wrk on {path}: unexpected output\n{out}")
    rate = float(rate.group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise SystemExit(f"wrk on {path}: {bad.group(0)}\n{out}")
    # Requests still unanswered after wrk's 10 s timeout are left out of its latencies: a page
    # that slow is reported as timing out, not as fast.
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", out)
    timeouts = int(timeouts.group(1)) if timeouts else 0
    return {
        "rate": rate,
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "timeouts": timeouts,
    }


def number(value: float, digits: int = 0) -> str:
    return f"{value:_.{digits}f}".replace("_", " ")


def main(argv=None) -> None:
    args = parse_args(argv)
    wrk = ensure_wrk()
    url = database_url(args.scale)
    env = server_env(url)
    # This process builds the data and the sessions with the settings the server runs.
    for name in (
        "SECRET_KEY",
        "GATEWAY_WEBHOOK_SECRET",
        "PAYOUT_WEBHOOK_SECRET",
        "CACHE_URL",
        "LOG_LEVEL",
        "LOG_FORMAT",
    ):
        os.environ[name] = env[name]
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    os.environ["VAR_DIR"] = env["VAR_DIR"]
    static = subprocess.Popen(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env
    )
    django_on_bench_database(url=url)
    import web_data

    from config.i18n import compile_stale

    compile_stale()
    # The ledger's per-batch money log would print every sale id the set-up splits.
    logging.getLogger("coprod.money").setLevel(logging.WARNING)
    people = None if args.rebuild else web_data.cached(args.scale)
    if people is None:
        started = time.perf_counter()
        print(f"building the big producer's data set (scale {args.scale})…", flush=True)
        people = web_data.build(args.scale)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    else:
        print(f"data set of scale {args.scale} reused (--rebuild builds it again)")
    cookies = sessions(people)
    measured = pages(people)
    if args.only:
        wanted = {"hello-world view", "login", *args.only.split(",")}
        measured = [p for p in measured if p[0] in wanted]
    from django.db import connections

    connections.close_all()
    if static.wait():
        raise SystemExit("collectstatic failed")

    port = free_port()
    work = ROOT / "var" / "bench_web"
    work.mkdir(parents=True, exist_ok=True)
    server = start_gunicorn(env, port, args.workers, work / "gunicorn.log")
    try:
        sizes = {}
        # Every page answers 200 to its person (not a redirect to the login page), and each
        # worker has loaded it once before it is timed.
        for name, who, path in measured:
            for _ in range(args.workers * 2):
                status, body, location = get(port, path, cookies[who])
            if status != 200:
                raise SystemExit(f"{name} ({path}) answered {status} {location}")
            sizes[name] = len(body)
        if args.check:
            for name, _who, path in measured:
                print(f"{name:24} {path:40} 200 {sizes[name]:>9} bytes")
            return
        rounds: dict[str, list[dict]] = {name: [] for name, _who, _path in measured}
        print(
            f"load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
            f"{args.rounds} rounds of {len(measured)} pages, gunicorn {args.workers} sync "
            f"workers (about {args.rounds * len(measured) * args.duration // 60 + 1} min)",
            flush=True,
        )
        for round_number in range(args.rounds):
            for name, who, path in measured:
                result = run_wrk(wrk, args, port, path, cookies[who])
                rounds[name].append(result)
            print(f"  round {round_number + 1} done", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    report(args, measured, rounds, sizes)


def report(args, measured, rounds, sizes) -> None:
    median = {
        name: {key: statistics.median(r[key] for r in results) for key in ("rate", "p50", "p99")}
        for name, results in rounds.items()
    }
    for name, results in rounds.items():
        if any(r["timeouts"] or not r["rate"] for r in results):
            median[name]["p99"] = median[name]["p50"] = float("inf")
    login = median["login"]["rate"]
    print()
    print(
        f"bench-web: scale {args.scale}, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s, medians of {args.rounds} rounds"
    )
    header = f"{'page':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9} {'vs login':>9}"
    print(header)
    print("-" * len(header))
    for name, _who, _path in measured:
        m = median[name]
        if m["p99"] == float("inf"):
            latency = f"{'timeouts (> 10 s)':>17}"
        else:
            latency = f"{m['p50']:>8.1f} {m['p99']:>8.1f}"
        print(
            f"{name:24} {number(m['rate'], 1):>8} {latency} "
            f"{number(sizes[name]):>9} {m['rate'] / login:>9.2f}"
        )
    pages_only = [name for name, _who, _path in measured[2:]]
    if not pages_only:
        return
    worst = max(pages_only, key=lambda n: median[n]["p99"])
    lowest = min(pages_only, key=lambda n: median[n]["rate"])
    p99_target = P99_TARGET_MS.get(args.scale)
    failing = [
        n
        for n in pages_only
        if (p99_target and median[n]["p99"] >= p99_target)
        or (args.scale == 1 and median[n]["rate"] / login < RATIO_TARGET)
    ]
    if failing:
        print(f"\nmissing the targets: {', '.join(failing)}")
    worst_p99 = median[worst]["p99"]
    worst_text = "> 10 000" if worst_p99 == float("inf") else f"{worst_p99:.0f}"
    print(
        f"\nweb: worst p99 {worst_text} ms ({worst}), lowest ratio to login "
        f"{median[lowest]['rate'] / login:.2f} ({lowest})"
    )


if __name__ == "__main__":
    main()
