"""The ledger's references, checked by PostgreSQL once per statement (migration 0010) instead of
by per-row foreign keys: an entry never names a sale, product, person, contract, affiliation or
refund that does not exist, and none of those can be deleted or truncated while an entry names
it, also when the two happen at once in different transactions."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coproduction.models import LedgerEntry
from coproduction.services.ledger import insert_entries, ledger_write_reversal
from products.models import Refund, Sale
from tests.coproduction.factories import ContractFactory, terms_of_use
from tests.factories import AffiliationFactory, SaleFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LEDGER = LedgerEntry._meta.db_table
COLUMNS = ("sale_id", "product_id", "beneficiary_id", "contract_id", "affiliation_id", "refund_id")
TABLES = {
    "sale_id": "products_sale",
    "product_id": "products_product",
    "beneficiary_id": "accounts_user",
    "contract_id": "coproduction_contract",
    "affiliation_id": "products_affiliation",
    "refund_id": "products_refund",
}
MISSING = 987_654_321


def sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def delete_person(pk: int) -> None:
    """Delete a person with raw SQL, their email address first (its own foreign key)."""
    sql("DELETE FROM account_emailaddress WHERE user_id = %s", [pk])
    sql("DELETE FROM accounts_user WHERE id = %s", [pk])


@pytest.fixture
def world():
    """A paid sale of 100.00 with no split, and a person, a contract and an affiliation that
    nothing but the ledger will refer to (so only the ledger's guard can refuse deleting them)."""
    sale = SaleFactory(amount_minor=10000, currency="BRL")
    Sale.objects.filter(pk=sale.pk).update(status=Sale.Status.PAID, paid_at=timezone.now())
    terms_of_use()  # a transactional test's flush removed the migration's rows
    contract = ContractFactory(product=sale.product)
    return {
        "sale": Sale.objects.get(pk=sale.pk),
        "person": UserFactory(),
        "contract": contract,
        "affiliation": AffiliationFactory(product=sale.product, approved=True),
    }


def split_line(world, line: int, amount: int, **override) -> tuple:
    """A split row in COLUMNS order of insert_entries (coproduction.services.ledger.COLUMNS)."""
    sale = world["sale"]
    values = {
        "sale_id": sale.pk,
        "product_id": sale.product_id,
        "entry_type": "split",
        "line": line,
        "role": "producer",
        "beneficiary_id": world["person"].pk,
        "contract_id": world["contract"].pk,
        "affiliation_id": world["affiliation"].pk,
        "refund_id": None,
        "amount_minor": amount,
        "currency": "BRL",
        "created_at": timezone.now(),
        "withdrawal_id": None,
        "bucket": "earning",
        "available_on": timezone.now().date(),
    }
    values.update(override)
    return tuple(values.values())


def write_split(world) -> None:
    """A split of the sale whose second line names every reference (and adds up: 10000)."""
    with transaction.atomic():
        insert_entries(
            [[split_line(world, 0, 1000, beneficiary_id=None), split_line(world, 1, 9000)]]
        )


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "refund_id"])
def test_a_split_naming_a_missing_row_is_refused(world, column):
    rows = [split_line(world, 0, 1000), split_line(world, 1, 9000, **{column: MISSING})]

    with (
        pytest.raises(
            IntegrityError,
            match=rf'key \({column}\)=\({MISSING}\) is not present in table "{TABLES[column]}"',
        ),
        transaction.atomic(),
    ):
        insert_entries([rows])

    assert not LedgerEntry.objects.exists()


def test_a_reversal_naming_a_missing_refund_is_refused(world):
    write_split(world)
    row = split_line(world, 1, -100, entry_type="refund", refund_id=MISSING)

    with pytest.raises(IntegrityError, match=r"key \(refund_id\)"), transaction.atomic():
        insert_entries([[row]])


def test_one_bad_row_in_a_batch_refuses_the_whole_statement(world):
    """A billing batch is one COPY: the guard refuses it whole, as a foreign key would."""
    other = SaleFactory(amount_minor=500, currency="BRL", product=world["sale"].product)
    good = [split_line(world, 0, 1000), split_line(world, 1, 9000)]
    bad = [split_line(world, 0, 500, sale_id=other.pk, beneficiary_id=MISSING)]

    with pytest.raises(IntegrityError, match="beneficiary_id"), transaction.atomic():
        insert_entries([good, bad])

    assert not LedgerEntry.objects.exists()


def test_an_orm_insert_is_checked_too(world):
    with pytest.raises(IntegrityError, match="contract_id"), transaction.atomic():
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    sale=world["sale"],
                    product_id=world["sale"].product_id,
                    entry_type="split",
                    line=0,
                    role="cocreator",
                    contract_id=MISSING,
                    amount_minor=10000,
                    currency="BRL",
                    available_on=timezone.now().date(),
                )
            ]
        )


@pytest.fixture
def refund(world):
    write_split(world)
    refund = Refund.objects.create(sale=world["sale"], amount_minor=3000, kind=Refund.Kind.REFUND)
    with transaction.atomic():
        ledger_write_reversal(sale=world["sale"], refund=refund)
    return refund


@pytest.mark.parametrize("column", COLUMNS)
def test_a_row_the_ledger_names_cannot_be_deleted(world, refund, column):
    referenced = {
        "sale_id": world["sale"].pk,
        "product_id": world["sale"].product_id,
        "beneficiary_id": world["person"].pk,
        "contract_id": world["contract"].pk,
        "affiliation_id": world["affiliation"].pk,
        "refund_id": refund.pk,
    }[column]
    entries = LedgerEntry.objects.count()

    with (
        pytest.raises(
            IntegrityError, match='still referenced from table "coproduction_ledgerentry"'
        ),
        transaction.atomic(),
    ):
        sql(f"DELETE FROM {TABLES[column]} WHERE id = %s", [referenced])

    assert sql(f"SELECT count(*) FROM {TABLES[column]} WHERE id = %s", [referenced]) == [(1,)]
    assert LedgerEntry.objects.count() == entries


def test_rows_the_ledger_does_not_name_can_be_deleted(world, refund):
    unused = UserFactory()

    delete_person(unused.pk)

    assert not sql("SELECT 1 FROM accounts_user WHERE id = %s", [unused.pk])


@pytest.mark.parametrize("table", ["products_sale", "accounts_user"])
def test_a_cascading_truncate_cannot_orphan_the_ledger(world, table):
    """TRUNCATE … CASCADE follows foreign keys; the ledger has none now, so its guard refuses."""
    write_split(world)

    with pytest.raises(IntegrityError, match="ledger entries refer to it"), transaction.atomic():
        sql(f"TRUNCATE {table} CASCADE")

    assert LedgerEntry.objects.count() == 2
    assert Sale.objects.filter(pk=world["sale"].pk).exists()


def in_thread(work):
    """Run work() on its own connection in a thread; returns (thread, outcome dict)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = work()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_delete_racing_a_split_that_names_the_row_waits_then_is_refused(world):
    """The split locks what it names (FOR KEY SHARE): the DELETE waits for its commit, then sees
    the entries and is refused. Without the lock both would commit and leave an orphan."""
    written = threading.Event()
    person = world["person"].pk

    def split_then_commit_slowly():
        with transaction.atomic():
            insert_entries([[split_line(world, 0, 1000), split_line(world, 1, 9000)]])
            written.set()
            time.sleep(1.0)

    def delete_the_person():
        assert written.wait(10)
        with transaction.atomic():
            started = time.monotonic()
            try:
                delete_person(person)
            finally:
                waited.append(time.monotonic() - started)

    waited: list[float] = []
    writer, wrote = in_thread(split_then_commit_slowly)
    deleter, deleted = in_thread(delete_the_person)
    writer.join(30)
    deleter.join(30)

    assert "error" not in wrote, wrote
    assert isinstance(deleted.get("error"), IntegrityError), deleted
    assert waited[0] > 0.5, "the DELETE waited for the split's transaction"
    assert sql("SELECT 1 FROM accounts_user WHERE id = %s", [person]) == [(1,)]
    assert LedgerEntry.objects.filter(beneficiary_id=person).count() == 2


def test_a_split_racing_the_delete_of_a_row_it_names_waits_then_is_refused(world):
    deleted = threading.Event()
    person = world["person"].pk

    def delete_then_commit_slowly():
        with transaction.atomic():
            delete_person(person)
            deleted.set()
            time.sleep(1.0)

    def split():
        assert deleted.wait(10)
        with transaction.atomic():
            insert_entries([[split_line(world, 0, 1000), split_line(world, 1, 9000)]])

    deleter, removed = in_thread(delete_then_commit_slowly)
    writer, wrote = in_thread(split)
    deleter.join(30)
    writer.join(30)

    assert "error" not in removed, removed
    assert isinstance(wrote.get("error"), IntegrityError), wrote
    assert "beneficiary_id" in str(wrote["error"])
    assert not LedgerEntry.objects.exists()
