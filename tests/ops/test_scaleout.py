"""The scale-out run end to end at a tiny size (benchmarks/scaleout.py): 2 gunicorn instances,
3 Celery workers and beat as separate processes on PostgreSQL and Redis bill 300 due
subscriptions under web load, and every recurrence is charged exactly once. Needs Redis on
127.0.0.1:6379 (CI has it); uses its databases 12 (broker) and 13 (cache)."""

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection, connections

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "scaleout_test"
SUBSCRIPTIONS = 300


def _server_url(settings_dict: dict, name: str) -> str:
    user, host, port = settings_dict["USER"], settings_dict["HOST"], settings_dict["PORT"]
    if host.startswith("/"):  # the embedded server's Unix socket, as config/devdb.py names it
        return f"postgres://{user}@{quote(host, safe='')}/{name}"
    return f"postgres://{user}@{host}:{port or 5432}/{name}"


# The test database exists (and is migrated) for this test; nothing of it is read here.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server():
    """The test database's server, with `scaleout_test` as a copy of the migrated test
    database (a file copy: migrating a new one would take longer than the run itself)."""
    settings_dict = dict(connection.settings_dict)
    connections.close_all()  # a template must have no session
    admin = _server_url(settings_dict, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        # Another session on the test database: the script creates and migrates a new one.
        with contextlib.suppress(psycopg.errors.ObjectInUse):
            conn.execute(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{settings_dict["NAME"]}"')
    yield _server_url(settings_dict, DATABASE)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def test_scale_out_bills_every_recurrence_once_under_web_load(server):
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "benchmarks/scaleout.py",
            f"--subscriptions={SUBSCRIPTIONS}",
            f"--database={DATABASE}",
            "--redis-db=12",
            "--web-workers=1",
            "--connections=2",
            "--load-seconds=3",
            "--timeout=60",
        ],
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": server},
        capture_output=True,
        text=True,
        timeout=170,
    )
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"scale-out: {SUBSCRIPTIONS} subscriptions billed in \d+ s \([\d ]+/s\) by 3 workers, "
        r"one charge per recurrence: yes, web 2×gunicorn [\d ]+ req/s, 0 errors",  # noqa: RUF001
        summary,
    ), output
    check = next(line for line in output.splitlines() if line.startswith("check"))
    assert f"charged once: {SUBSCRIPTIONS}," in check, check
    assert "charged more than once: 0," in check, check
    assert "left scheduled or collecting: 0," in check, check
    readyz = [line for line in output.splitlines() if line.startswith("readyz")]
    assert len(readyz) == 2 and all(": 200 (database ok, broker ok, beat ok)" in r for r in readyz)
    print(f"scale-out test: {elapsed:.0f} s")
