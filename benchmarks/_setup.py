"""Shared set-up for benchmarks: a throwaway PostgreSQL database, migrated and emptied, and the
data builders more than one benchmark uses (due subscriptions for a billing run)."""

import os
import resource
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/coprod_bench"


def django_on_bench_database(*, migrate: bool = True, url: str | None = None) -> str:
    """Point Django at the benchmark database (`url`, else BENCH_DATABASE_URL's; created if
    missing) and migrate it."""
    url = url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    # Production settings, as a billing worker runs them (DEBUG off: no query log).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-used-for-anything-real")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("GATEWAY_WEBHOOK_SECRET", "benchmark-only-webhook-secret-not-real-0000")
    os.environ.setdefault(
        "PAYOUT_WEBHOOK_SECRET", "benchmark-only-payout-webhook-secret-not-real-0000"
    )
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


def with_database(url: str, name: str) -> str:
    """The same server's URL for database `name` (a Unix socket's ?host= is kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _create_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin_url = with_database(url, "postgres")
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


# What a billing run reads and writes, emptied before each build (children first).
BILLING_TABLES = (
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
# The plan's price: every due subscription is charged this once per run.
PRICE_MINOR = 4990


def build_due_subscriptions(count: int) -> None:
    """Empty the billing tables, then `count` active card subscriptions (approved test card) of
    one product with a 15 % cocreator contract, each with its second installment due today:
    a billing run creates one recurrence per subscription, charges it and splits it 3 ways."""
    from datetime import date, timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.utils import timezone

    from accounts.models import User
    from coproduction.models import Contract, TermsOfUse
    from products.models import Plan, Product
    from subscriptions.models import Subscription

    truncate(*BILLING_TABLES)
    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Terms"})
    producer = User.objects.create_user(email="producer@bench.test", password=None)
    product = Product.objects.create(producer=producer, name="Club", kind="subscription")
    plan = Plan.objects.create(product=product, name="Monthly", price_minor=PRICE_MINOR)
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
    # The date billing has reached in the subscriptions' zone (UTC): a due date is charged from
    # BILLING_LOCAL_HOUR there, so before 08:00 UTC that is yesterday.
    today = (timezone.now() - timedelta(hours=settings.BILLING_LOCAL_HOUR)).date()
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
            for i in range(count)
        ],
        batch_size=5000,
    )
    analyze()


def peak_mib() -> float:
    """Peak resident memory of this process itself: VmHWM, the high-water mark of its own
    address space. Not `ru_maxrss`: Linux keeps that across exec, so a worker started by the
    process that built the data set would report the builder's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
