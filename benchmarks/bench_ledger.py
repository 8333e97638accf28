"""Split + ledger write for 10 000 paid charges (an affiliate and three cocreators each) on
PostgreSQL, through the same batch writer the app uses. Prints the figures; the last line is
the summary. Usage: make bench-ledger (BENCH_DATABASE_URL, BENCH_CHARGES, BENCH_BATCH)."""

import os
import time
from decimal import Decimal

from _setup import analyze, django_on_bench_database, peak_mib, truncate

CHARGES = int(os.environ.get("BENCH_CHARGES", "10000"))
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))


def build() -> list[int]:
    from django.utils import timezone

    from accounts.models import User
    from coproduction.models import Contract, TermsOfUse
    from products.models import Affiliation, Product, Sale

    truncate(
        "coproduction_ledgerentry",
        "products_refund",
        "subscriptions_paymentattempt",
        "products_sale",
        "coproduction_contract",
        "products_affiliation",
        "products_product",
        "accounts_user",
    )
    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Terms"})
    producer = User.objects.create_user(email="producer@bench.test", password=None)
    product = Product.objects.create(producer=producer, name="Course", price_minor=19790)
    affiliate = User.objects.create_user(email="affiliate@bench.test", password=None)
    affiliation = Affiliation.objects.create(
        product=product, affiliate=affiliate, status="approved", commission_percent=35
    )
    accepted = timezone.now() - timezone.timedelta(days=1)
    for n, percent in enumerate(["10", "7.5", "12.25"]):
        cocreator = User.objects.create_user(email=f"co{n}@bench.test", password=None)
        Contract.objects.create(
            product=product,
            cocreator=cocreator,
            role="expert",
            status="active",
            sales_scope="all",
            commission_percent=Decimal(percent),
            coproduction_model="revenue_share",
            terms=terms,
            accepted_at=accepted,
        )
    buyer = User.objects.create_user(email="buyer@bench.test", password=None)
    now = timezone.now()
    sales = Sale.objects.bulk_create(
        [
            Sale(
                product=product,
                buyer=buyer,
                affiliation=affiliation,
                amount_minor=19790 + (i % 997),
                currency="BRL",
                method="card",
                country="BR",
                status="paid",
                paid_at=now,
                checkout_key=f"bench-{i}",
            )
            for i in range(CHARGES)
        ],
        batch_size=2000,
    )
    analyze()
    return [sale.pk for sale in sales]


def main() -> None:
    url = django_on_bench_database()
    from django.db.models import Count, Sum

    from coproduction.models import LedgerEntry
    from coproduction.services.ledger import ledger_write_splits
    from products.models import Sale

    sale_ids = build()
    print(f"database: {url.rsplit('@', 1)[-1]}; {CHARGES} paid charges, batches of {BATCH}")
    started = time.perf_counter()
    for i in range(0, len(sale_ids), BATCH):
        ledger_write_splits(sale_ids=sale_ids[i : i + BATCH])
    elapsed = time.perf_counter() - started

    # A second run must write nothing (each split is written once).
    again = ledger_write_splits(sale_ids=sale_ids[:BATCH])
    totals = LedgerEntry.objects.aggregate(entries=Count("pk"), amount=Sum("amount_minor"))
    paid = Sale.objects.aggregate(amount=Sum("amount_minor"))["amount"]
    assert again == 0, "a second write must add nothing"
    assert totals["entries"] == CHARGES * 6, totals
    assert totals["amount"] == paid, (totals, paid)
    print(f"ledger entries: {totals['entries']} (6 per charge), sum equals amount paid: {paid}")
    print(
        f"{CHARGES} charges in {elapsed:.1f} s: {CHARGES / elapsed:.0f} charges/s, "
        f"peak {peak_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
