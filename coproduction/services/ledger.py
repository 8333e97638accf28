"""The ledger: each paid sale's split written once as append-only entries, and reversing entries
for refunds and chargebacks. Works in batches so a billing run writes thousands of sales with a
handful of queries."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q

from config.money_log import money_event
from coproduction import balances
from coproduction.dates import (
    contract_in_force_until,
    producer_zone,
    subscription_first_payments,
)
from coproduction.models import Contract, LedgerEntry
from coproduction.reversal import reverse_amounts
from coproduction.split import (
    AFFILIATE,
    COCREATOR,
    PLATFORM,
    PRODUCER,
    platform_fee_settings,
)
from coproduction.split import split_amount as split
from products.models import Affiliation, Product, Refund, Sale
from products.payments.states import pk_any

SPLIT = LedgerEntry.EntryType.SPLIT.value
EARNING = LedgerEntry.Bucket.EARNING.value


@dataclass(slots=True)
class PaidSale:
    """What a split reads of a paid sale. The batch writer loads these (a few columns per
    sale, its product and affiliation shared) instead of a model instance per row; a `Sale`
    works wherever one is taken."""

    pk: int
    product_id: int
    affiliation_id: int | None
    subscription_id: int | None
    amount_minor: int
    currency: str
    paid_at: datetime
    product: Product
    affiliation: Affiliation | None
    subscription: object = None  # with created_at, loaded for automatic sales recovery


# What the batch writer reads of each sale, in PaidSale's order.
_PAID_COLUMNS = (
    "pk",
    "product_id",
    "affiliation_id",
    "subscription_id",
    "amount_minor",
    "currency",
    "paid_at",
)


def ledger_write_splits(
    *, sale_ids: Sequence[int] = (), locked: Sequence[Sale] | None = None
) -> int:
    """Write the split of each paid sale that has none yet; returns how many sales were split.
    Safe to call twice or concurrently: sales are locked and a unique index on (sale, line)
    refuses a second split. Set-based: what the splits need is read in a fixed number of
    queries, whatever the number of sales.

    `locked`: sales the caller already holds locked in this transaction, as it has them
    (settling a batch just marked them paid); they are used as they are, not read again, and
    the caller's savepoint covers the writes (no savepoint of its own: two round trips less
    per batch)."""
    with transaction.atomic(savepoint=locked is None):
        if locked is not None:
            columns = attrgetter(*_PAID_COLUMNS)
            locked = [
                columns(s)
                for s in sorted(locked, key=attrgetter("pk"))
                if s.status in Sale.COUNTED and s.paid_at is not None
            ]
        else:
            locked = list(
                Sale.objects.select_for_update(of=("self",))
                .filter(pk_any(sale_ids), status__in=Sale.COUNTED, paid_at__isnull=False)
                .order_by("pk")
                .values_list(*_PAID_COLUMNS)
            )
        # Read after the locks are held, so a split a concurrent writer committed is seen.
        done = set(
            LedgerEntry.objects.filter(
                pk_any([row[0] for row in locked], "sale_id"),
                entry_type=LedgerEntry.EntryType.SPLIT,
            )
            .order_by()  # no Meta.ordering (it joins the sale to sort)
            .values_list("sale_id", flat=True)
        )
        todo = _paid_sales([row for row in locked if row[0] not in done])
        contracts, windows = _contracts_by_product(todo)
        recovering = {
            c.product_id for cs in contracts.values() for c in cs if c.automatic_sales_recovery
        }
        first_payments = _first_payments([s for s in todo if s.product_id in recovering])
        if todo:
            # Which contracts apply depends on the sale's product, affiliation, time of payment
            # and (recovery) its subscription's first payment: a batch has a handful of those.
            applying: dict[tuple, list[tuple[Contract, object]]] = {}

            def contracts_for(sale: PaidSale) -> list[tuple[Contract, object]]:
                first_paid = (
                    first_payments.get(sale.subscription_id)
                    if sale.product_id in recovering and sale.subscription_id is not None
                    else None
                )
                shape = (sale.product_id, sale.affiliation_id, sale.paid_at, first_paid)
                if shape not in applying:
                    applying[shape] = applicable_contracts(
                        sale,
                        contracts[sale.product_id],
                        windows=windows,
                        first_payments=first_payments,
                    )
                return applying[shape]

            # Streamed: the database stores the first rows while the next splits are made.
            insert_entries(
                (split_entries(sale, contracts_for(sale)) for sale in todo),
                savepoint=locked is None,
            )
            money_event("ledger", kind="split", sales=[sale.pk for sale in todo])
    return len(todo)


def _paid_sales(rows: Sequence[tuple]) -> list[PaidSale]:
    """PaidSale per locked row, with the few products and affiliations they share."""
    if not rows:
        return []
    products = Product.objects.only(
        "producer_id", "cocreators_may_be_affiliates", "guarantee_days"
    ).in_bulk({row[1] for row in rows})
    affiliations = Affiliation.objects.only("affiliate_id", "commission_percent").in_bulk(
        {row[2] for row in rows if row[2] is not None}
    )
    return [
        PaidSale(*row, products[row[1]], affiliations[row[2]] if row[2] is not None else None)
        for row in rows
    ]


def _first_payments(sales: Sequence[PaidSale]) -> dict[int, datetime | None]:
    """First payment of the subscriptions of these sales (coproduction.dates)."""
    subscription_ids = {s.subscription_id for s in sales if s.subscription_id is not None}
    if not subscription_ids:
        return {}
    subscription_model = Sale._meta.get_field("subscription").related_model
    subscriptions = subscription_model.objects.only("created_at").in_bulk(subscription_ids)
    for sale in sales:
        if sale.subscription_id is not None:
            sale.subscription = subscriptions[sale.subscription_id]
    return subscription_first_payments(s for s in sales if s.subscription_id is not None)


def _contracts_by_product(
    sales: Sequence[Sale],
) -> tuple[dict[int, list[Contract]], dict[int, datetime | None]]:
    """Contracts that may apply to these sales, by product, and when each stops being in force.

    Every accepted contract may: whether it applies is decided by its dates, not its status
    (an active contract past its end date is expired; an ended one still pays for a sale paid
    before its termination whose split is written later). Closed contracts without automatic
    sales recovery are left out once closed a day (any zone's offset) before the earliest
    payment: they cannot apply."""
    by_product: dict[int, list[Contract]] = defaultdict(list)
    if not sales:
        return by_product, {}
    earliest = min(sale.paid_at for sale in sales) - timedelta(days=1)
    queryset = (
        Contract.objects.filter(
            product_id__in={sale.product_id for sale in sales}, accepted_at__isnull=False
        )
        .filter(
            Q(status=Contract.Status.ACTIVE)
            | Q(automatic_sales_recovery=True)
            | Q(closed_at__gte=earliest)
        )
        .select_related("cocreator", "product__producer__validation")
        .order_by("pk")
    )
    # A contract's affiliate list is read only for affiliate sales (_percent_for).
    if any(sale.affiliation_id is not None for sale in sales):
        queryset = queryset.prefetch_related("affiliates")
    windows: dict[int, datetime | None] = {}
    zones: dict[int, ZoneInfo] = {}
    for contract in queryset:
        by_product[contract.product_id].append(contract)
        if contract.product_id not in zones:
            zones[contract.product_id] = producer_zone(contract.product.producer)
        windows[contract.pk] = contract_in_force_until(contract, zones[contract.product_id])
    return by_product, windows


def applicable_contracts(
    sale: Sale,
    contracts: Iterable[Contract],
    *,
    windows: Mapping[int, datetime | None] | None = None,
    first_payments: Mapping[int, datetime | None] | None = None,
) -> list[tuple[Contract, object]]:
    """(contract, percent) for every contract that pays on this sale, judged by the dates of
    its payment and of the contract (coproduction.dates), never by the contract's status:

    - a contract in force when the sale was paid (accepted by then, and not past the end of
      its end date in the producer's zone or its agreed termination) whose sales scope covers
      the sale (direct, or this affiliate), with the affiliate-specific percentage on
      affiliate sales;
    - automatic sales recovery: on a subscription installment paid after the contract
      stopped, a contract with recovery pays when the subscription's first payment was made
      while it was in force.

    `windows` (contract id → end of force) and `first_payments` (subscription id → first
    payment) come from the batch writer; without them they are looked up here."""
    paid_at: datetime = sale.paid_at
    result = []
    for contract in contracts:
        accepted_at = contract.accepted_at
        if accepted_at is None or paid_at < accepted_at:
            continue
        until = windows[contract.pk] if windows is not None else contract_in_force_until(contract)
        in_force = until is None or paid_at < until
        if not in_force and not _recovers(contract, sale, until, first_payments):
            continue
        percent = _percent_for(contract, sale)
        if percent:
            result.append((contract, percent))
    return result


def _recovers(
    contract: Contract,
    sale: Sale,
    until: datetime,
    first_payments: Mapping[int, datetime | None] | None,
) -> bool:
    """Automatic sales recovery: a contract no longer in force keeps paying on installments of
    a subscription whose first payment was made while it was in force."""
    if sale.subscription_id is None or not contract.automatic_sales_recovery:
        return False
    if first_payments is None:
        first_payments = subscription_first_payments([sale])
    first_paid = first_payments.get(sale.subscription_id)
    return first_paid is not None and contract.accepted_at <= first_paid < until


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


def split_entries(sale: Sale | PaidSale, contracts: list[tuple[Contract, object]]) -> "SplitRows":
    """The ledger rows (tuples of COLUMNS) of one sale's split, `contracts` being the ones that
    apply to it (applicable_contracts).

    "Cocreators may also be affiliates" is decided here, at every split: where the product
    forbids it and the sale's affiliate is the cocreator of one of `contracts`, that person is
    paid one share only, the cocreator's. The sale stays an affiliate sale for the contracts
    (their affiliate scope and affiliate percentage apply, on what remains after the
    affiliate's commission, as on any affiliate sale), but the affiliate line is not written:
    the commission it would have paid goes to the producer. So no cocreator's share depends on
    who the affiliate was. An affiliate whose contract does not apply to the sale is paid as
    the affiliate.

    Every row but the sale's id depends only on the values named in `_split_lines`' key; a
    billing batch repeats a few of them, so each is split (and formatted for COPY) once."""
    fee_percent, fee_fixed = platform_fee_settings(sale.currency)
    affiliation = sale.affiliation
    product = sale.product
    return SplitRows(
        sale.pk,
        _split_lines(
            sale.amount_minor,
            sale.currency,
            sale.paid_at,
            sale.product_id,
            product.producer_id,
            product.cocreators_may_be_affiliates,
            product.guarantee_days + balances.holding_days(sale.currency),
            fee_percent,
            fee_fixed,
            None
            if affiliation is None
            else (affiliation.pk, affiliation.affiliate_id, affiliation.commission_percent),
            tuple((c.pk, c.cocreator_id, percent) for c, percent in contracts),
        ),
    )


@dataclass(frozen=True, slots=True)
class _Lines:
    """One split's rows without the sale id (`tails`), the same rows as COPY text with
    `{0}` where the sale id goes (`template`), and what they add to balances (`earnings`:
    (party, currency, release day, amount) per row)."""

    tails: tuple[tuple, ...]
    template: str
    earnings: tuple[tuple, ...]


@lru_cache(maxsize=4096)
def _split_lines(
    amount_minor: int,
    currency: str,
    paid_at: datetime,
    product_id: int,
    producer_id: int,
    cocreators_may_be_affiliates: bool,
    held_days: int,  # the guarantee and the currency's holding period (balances.release_day)
    fee_percent: Decimal,
    fee_fixed_minor: int,
    affiliation: tuple[int, int, Decimal] | None,  # (pk, affiliate's id, commission)
    contracts: tuple[tuple[int, int, object], ...],  # (pk, cocreator's id, percent) each
) -> _Lines:
    """The rows of a split from exactly what they depend on (all plain values, so a cached
    result is right for any sale with the same ones). Raises SplitRefused as split_amount."""
    parts = split(
        amount_minor,
        fee_percent=fee_percent,
        fee_fixed_minor=fee_fixed_minor,
        affiliate_percent=affiliation[2] if affiliation else None,
        cocreator_percents=[((pk, cocreator_id), p) for pk, cocreator_id, p in contracts],
    )
    commission_to_producer = (
        affiliation is not None
        and not cocreators_may_be_affiliates
        and any(cocreator_id == affiliation[1] for _, cocreator_id, _ in contracts)
    )
    if commission_to_producer:
        commission = sum(part.amount_minor for part in parts if part.role == AFFILIATE)
        parts = [part for part in parts if part.role != AFFILIATE]
    available_on = balances.release_after(paid_at, held_days)
    tails = []
    for line, part in enumerate(parts):
        beneficiary_id = contract_id = affiliation_id = None
        amount = part.amount_minor
        if part.role == AFFILIATE:
            affiliation_id, beneficiary_id = affiliation[0], affiliation[1]
        elif part.role == COCREATOR:
            contract_id, beneficiary_id = part.key
        elif part.role == PRODUCER:
            beneficiary_id = producer_id
            if commission_to_producer:
                amount += commission
        else:
            assert part.role == PLATFORM
        # In COLUMNS order, without the sale id.
        tails.append(
            (
                product_id,
                SPLIT,
                line,
                part.role,
                beneficiary_id,
                contract_id,
                affiliation_id,
                None,
                amount,
                currency,
                paid_at,
                None,
                EARNING,
                available_on,
            )
        )
    template = "".join(
        "{0}\t" + "\t".join(map(_copy_text, tail)).replace("{", "{{").replace("}", "}}") + "\n"
        for tail in tails
    )
    earnings = tuple((tail[4], currency, available_on, tail[8]) for tail in tails)
    return _Lines(tuple(tails), template, earnings)


class SplitRows(Sequence):
    """One sale's split: a sequence of rows (tuples of COLUMNS), and `copy_text()`, the same
    rows in COPY's text format, made from its split's cached template."""

    __slots__ = ("_lines", "sale_id")

    def __init__(self, sale_id: int, lines: _Lines):
        self.sale_id, self._lines = sale_id, lines

    def __len__(self) -> int:
        return len(self._lines.tails)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        return (self.sale_id, *self._lines.tails[index])

    def __iter__(self):
        sale_id = self.sale_id
        return ((sale_id, *tail) for tail in self._lines.tails)

    def __repr__(self) -> str:
        return f"SplitRows({list(self)!r})"

    def copy_text(self) -> str:
        return self._lines.template.format(int(self.sale_id))

    @property
    def earnings(self) -> tuple[tuple, ...]:
        return self._lines.earnings


def _copy_text(value) -> str:
    """A value in COPY's text format (what psycopg's write_row sends for it)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


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
    "withdrawal_id",
    "bucket",
    "available_on",
)
_BENEFICIARY, _AMOUNT, _CURRENCY = (
    COLUMNS.index("beneficiary_id"),
    COLUMNS.index("amount_minor"),
    COLUMNS.index("currency"),
)
_BUCKET, _AVAILABLE_ON = COLUMNS.index("bucket"), COLUMNS.index("available_on")


def insert_entries(splits: Iterable[Sequence[tuple]], *, savepoint: bool = True) -> None:
    """Append splits (each a sequence of rows in COLUMNS order, as split_entries gives) to the
    ledger with PostgreSQL's COPY (one statement, no per-row SQL), sent in blocks of about
    64 KiB, and add them to the parties' balances (coproduction.balances.apply) in the same
    transaction. Constraints and the ledger's triggers apply as to any insert. An exception
    raised while `splits` is consumed aborts the COPY: nothing is appended.

    Every ledger writer goes through here, so no entry is ever missing from a balance.
    `savepoint=False`: the caller's own savepoint already covers this (a billing batch)."""
    sql = f"COPY {LedgerEntry._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
    deltas = balances.Deltas()
    # psycopg's own cursor does the COPY; its errors reach callers as Django's (IntegrityError…),
    # as from any other query.
    with (
        transaction.atomic(savepoint=savepoint),
        connection.cursor() as cursor,
        connection.wrap_database_errors,
    ):
        with cursor.cursor.copy(sql) as copy:
            block: list[str] = []
            size = 0
            for rows in splits:
                if isinstance(rows, SplitRows):
                    text = rows.copy_text()
                    deltas.add_earnings(rows.earnings)
                else:
                    text = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
                    for row in rows:
                        deltas.add(
                            row[_BENEFICIARY],
                            row[_CURRENCY],
                            row[_BUCKET],
                            row[_AVAILABLE_ON],
                            row[_AMOUNT],
                        )
                block.append(text)
                size += len(text)
                if size > 65536:
                    copy.write("".join(block))
                    block, size = [], 0
            if block:
                copy.write("".join(block))
        balances.apply(deltas)


def ledger_write_reversal(*, sale: Sale, refund: Refund) -> list[tuple]:
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
    # Still pending: the reversal is released on the same day as what it reverses (so nothing
    # of a refunded share is ever released); already released: it counts against available
    # from the day of the refund.
    refunded_on = refund.created_at.astimezone(balances.UTC).date()
    rows = [
        (
            sale.pk,
            original.product_id,
            entry_type,
            original.line,
            original.role,
            original.beneficiary_id,
            original.contract_id,
            original.affiliation_id,
            refund.pk,
            -amount,
            original.currency,
            refund.created_at,
            None,
            EARNING,
            max(original.available_on, refunded_on),
        )
        for original, amount in zip(originals, amounts, strict=True)
        if amount
    ]
    insert_entries([rows])
    money_event(
        "ledger",
        kind=entry_type,
        sale=sale.pk,
        refund=refund.pk,
        amount_minor=-refund.amount_minor,
        currency=sale.currency,
        entries=len(rows),
    )
    return rows
