"""The ledger: each paid sale's split written once as append-only entries, and reversing entries
for refunds and chargebacks. Works in batches so a billing run writes thousands of sales with a
handful of queries."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q

from coproduction.models import Contract, LedgerEntry
from coproduction.reversal import reverse_amounts
from coproduction.split import AFFILIATE, COCREATOR, PLATFORM, PRODUCER, platform_fee_settings
from coproduction.split import split_amount as split
from products.models import Refund, Sale

INSERT_BATCH = 2000


def ledger_write_splits(*, sale_ids: Sequence[int]) -> int:
    """Write the split of each paid sale that has none yet; returns how many sales were split.
    Safe to call twice or concurrently: sales are locked and a unique index on (sale, line)
    refuses a second split."""
    written = 0
    with transaction.atomic():
        sales = list(
            Sale.objects.select_for_update(of=("self",))
            .filter(pk__in=sale_ids, status__in=Sale.COUNTED, paid_at__isnull=False)
            .select_related("product", "affiliation", "subscription")
            .order_by("pk")
        )
        done = set(
            LedgerEntry.objects.filter(
                sale_id__in=[s.pk for s in sales], entry_type=LedgerEntry.EntryType.SPLIT
            ).values_list("sale_id", flat=True)
        )
        todo = [s for s in sales if s.pk not in done]
        contracts = _contracts_by_product({s.product_id for s in todo})
        rows: list[dict] = []
        for sale in todo:
            rows += split_entries(sale, applicable_contracts(sale, contracts[sale.product_id]))
            written += 1
        insert_entries(rows)
    return written


def _contracts_by_product(product_ids: Iterable[int]) -> dict[int, list[Contract]]:
    """Contracts that may apply to sales of these products: active ones, and closed ones with
    automatic sales recovery (they apply to recurrences only; see applicable_contracts)."""
    by_product: dict[int, list[Contract]] = defaultdict(list)
    queryset = (
        Contract.objects.filter(product_id__in=product_ids, accepted_at__isnull=False)
        .filter(
            Q(status=Contract.Status.ACTIVE)
            | Q(
                status__in=[Contract.Status.ENDED, Contract.Status.EXPIRED],
                automatic_sales_recovery=True,
            )
        )
        .select_related("cocreator")
        .prefetch_related("affiliates")
        .order_by("pk")
    )
    for contract in queryset:
        by_product[contract.product_id].append(contract)
    return by_product


def applicable_contracts(
    sale: Sale, contracts: Iterable[Contract]
) -> list[tuple[Contract, object]]:
    """(contract, percent) for every contract that pays on this sale, judged at its payment time:
    active contracts accepted before the payment whose end date has not passed and whose sales
    scope covers the sale (direct, or this affiliate); and, on subscription recurrences, closed
    contracts with automatic sales recovery (see _recovers)."""
    paid_at: datetime = sale.paid_at
    result = []
    for contract in contracts:
        if contract.status != Contract.Status.ACTIVE:
            if _recovers(contract, sale):
                percent = _percent_for(contract, sale)
                if percent:
                    result.append((contract, percent))
            continue
        if contract.accepted_at > paid_at:
            continue
        if contract.end_date is not None and contract.end_date < paid_at.date():
            continue
        percent = _percent_for(contract, sale)
        if percent:
            result.append((contract, percent))
    return result


def _recovers(contract: Contract, sale: Sale) -> bool:
    """Automatic sales recovery: an ended or expired contract keeps paying on recurrences of a
    subscription first sold while the contract was active."""
    subscription = sale.subscription
    if subscription is None or not contract.automatic_sales_recovery:
        return False
    sold_at = subscription.created_at
    return contract.accepted_at <= sold_at and (
        contract.closed_at is None or contract.closed_at > sold_at
    )


def _percent_for(contract: Contract, sale: Sale):
    if sale.affiliation_id is None:
        return contract.commission_percent if contract.covers_direct_sales else None
    if not contract.covers_affiliate_sales:
        return None
    if not contract.all_affiliates and sale.affiliation_id not in {
        a.pk for a in contract.affiliates.all()
    }:
        return None
    return contract.effective_affiliate_percent


def split_entries(sale: Sale, contracts: list[tuple[Contract, object]]) -> list[dict]:
    """The ledger rows (as column values) of one sale's split."""
    fee_percent, fee_fixed = platform_fee_settings(sale.currency)
    affiliation = sale.affiliation
    parts = split(
        sale.amount_minor,
        fee_percent=fee_percent,
        fee_fixed_minor=fee_fixed,
        affiliate_percent=affiliation.commission_percent if affiliation else None,
        cocreator_percents=[(contract, percent) for contract, percent in contracts],
    )
    rows = []
    for line, part in enumerate(parts):
        beneficiary_id = contract_id = affiliation_id = None
        if part.role == AFFILIATE:
            beneficiary_id, affiliation_id = affiliation.affiliate_id, affiliation.pk
        elif part.role == COCREATOR:
            beneficiary_id, contract_id = part.key.cocreator_id, part.key.pk
        elif part.role == PRODUCER:
            beneficiary_id = sale.product.producer_id
        else:
            assert part.role == PLATFORM
        rows.append(
            {
                "sale_id": sale.pk,
                "product_id": sale.product_id,
                "entry_type": LedgerEntry.EntryType.SPLIT.value,
                "line": line,
                "role": part.role,
                "beneficiary_id": beneficiary_id,
                "contract_id": contract_id,
                "affiliation_id": affiliation_id,
                "refund_id": None,
                "amount_minor": part.amount_minor,
                "currency": sale.currency,
                "created_at": sale.paid_at,
            }
        )
    return rows


COLUMNS = (
    "sale_id",
    "product_id",
    "entry_type",
    "line",
    "role",
    "beneficiary_id",
    "contract_id",
    "affiliation_id",
    "refund_id",
    "amount_minor",
    "currency",
    "created_at",
)


def insert_entries(rows: list[dict]) -> None:
    """Append rows to the ledger: PostgreSQL's COPY (one round trip, no per-row SQL), or
    bulk_create elsewhere. Constraints and the append-only trigger apply either way."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        sql = f"COPY {LedgerEntry._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in COLUMNS))
        return
    LedgerEntry.objects.bulk_create([LedgerEntry(**row) for row in rows], batch_size=INSERT_BATCH)


def ledger_write_reversal(*, sale: Sale, refund: Refund) -> list[LedgerEntry]:
    """Reversing entries for a refund or chargeback, in proportion to the original split.
    The caller holds the sale's row lock."""
    originals = list(
        LedgerEntry.objects.filter(sale=sale, entry_type=LedgerEntry.EntryType.SPLIT).order_by(
            "line"
        )
    )
    if not originals:
        return []
    returned: dict[int, int] = defaultdict(int)
    for line, amount in (
        LedgerEntry.objects.filter(sale=sale)
        .exclude(entry_type=LedgerEntry.EntryType.SPLIT)
        .values_list("line", "amount_minor")
    ):
        returned[line] += -amount
    amounts = reverse_amounts(
        [e.amount_minor for e in originals],
        [returned[e.line] for e in originals],
        refund.amount_minor,
    )
    entry_type = (
        LedgerEntry.EntryType.CHARGEBACK
        if refund.kind == Refund.Kind.CHARGEBACK
        else LedgerEntry.EntryType.REFUND
    )
    entries = [
        LedgerEntry(
            sale=sale,
            refund=refund,
            entry_type=entry_type,
            line=original.line,
            role=original.role,
            beneficiary_id=original.beneficiary_id,
            contract_id=original.contract_id,
            affiliation_id=original.affiliation_id,
            product_id=original.product_id,
            amount_minor=-amount,
            currency=original.currency,
            created_at=refund.created_at,
        )
        for original, amount in zip(originals, amounts, strict=True)
        if amount
    ]
    LedgerEntry.objects.bulk_create(entries)
    return entries
