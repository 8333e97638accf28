"""Shared set-up for benchmarks: a throwaway PostgreSQL database, migrated and emptied."""

import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/coprod_bench"


def django_on_bench_database(*, migrate: bool = True) -> str:
    """Point Django at the benchmark database (created if missing) and migrate it."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    # Production settings, as a billing worker runs them (DEBUG off: no query log).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-used-for-anything-real")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("GATEWAY_WEBHOOK_SECRET", "benchmark-only-webhook-secret-not-real-0000")
    # Production wants a shared cache (rate limits); nothing measured here reads it.
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/15")
    sys.path.insert(0, str(ROOT))
    if migrate:
        _create_database(url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return url


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def truncate(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def analyze() -> None:
    """Statistics for the tables the set-up just filled, as a production database has them
    (autovacuum analyzes a table once a tenth of it changed). Without them PostgreSQL guesses
    row counts from the declared column widths, several times too low for 100 000 rows, and
    plans whole-table scans where one index probe per row is right. Part of the set-up, not
    timed; the tables the measured run fills are left as they are."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def peak_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
