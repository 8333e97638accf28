"""What PostgreSQL itself refuses on the ledger (migration 0005 and `grant_app_role`): the app's
role cannot change, empty or unguard the ledger; the owner cannot empty it while sales remain;
and no transaction commits a split or a reversal that does not add up."""

import io
import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coproduction.models import LedgerEntry
from coproduction.services.ledger import ledger_write_reversal, ledger_write_splits
from products.models import Refund, Sale
from tests.factories import SaleFactory

pytestmark = pytest.mark.django_db(transaction=True)

LEDGER = LedgerEntry._meta.db_table


def owner_sql(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def app_role():
    """A login role that owns nothing, given the app's privileges by the command."""
    role = f"coprod_app_test_{uuid.uuid4().hex[:12]}"
    owner_sql(f'CREATE ROLE "{role}" LOGIN')
    try:
        call_command("grant_app_role", role=role, stdout=io.StringIO())
        yield role
    finally:
        owner_sql(f'DROP OWNED BY "{role}"')  # its grants and default privileges
        owner_sql(f'DROP ROLE "{role}"')


@pytest.fixture
def as_app(app_role):
    """A psycopg connection to the test database as the app role (the local server trusts it)."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=app_role,
    ) as conn:
        yield conn


@pytest.fixture
def paid_sale():
    """A paid sale of 100.00 BRL with no split yet."""
    sale = SaleFactory(amount_minor=10000, currency="BRL")
    Sale.objects.filter(pk=sale.pk).update(status=Sale.Status.PAID, paid_at=timezone.now())
    return Sale.objects.get(pk=sale.pk)


@pytest.fixture
def split_sale(paid_sale):
    """The paid sale with its split written and committed by the service."""
    assert ledger_write_splits(sale_ids=[paid_sale.pk]) == 1
    return paid_sale


def split_rows(sale, amounts, *, first_line=0) -> list[LedgerEntry]:
    roles = ["platform"] + ["producer"] * (len(amounts) - 1)
    return [
        LedgerEntry(
            sale=sale,
            product_id=sale.product_id,
            entry_type=LedgerEntry.EntryType.SPLIT,
            line=first_line + n,
            role=role,
            amount_minor=amount,
            currency=sale.currency,
            available_on=timezone.now().date(),
        )
        for n, (role, amount) in enumerate(zip(roles, amounts, strict=True))
    ]


def ledger_of(sale) -> list[tuple[str, int, int]]:
    return list(
        LedgerEntry.objects.filter(sale=sale)
        .order_by("entry_type", "line")
        .values_list("entry_type", "line", "amount_minor")
    )


INSERT_SPLIT_LINE = (
    f"INSERT INTO {LEDGER} (sale_id, product_id, entry_type, line, role, amount_minor, currency, "
    "created_at, bucket, available_on) "
    "VALUES (%s, %s, 'split', %s, 'producer', %s, 'BRL', now(), 'earning', current_date)"
)


# --- the app role ------------------------------------------------------------------------------


def test_the_app_role_appends_a_split_that_adds_up(as_app, paid_sale):
    with as_app.transaction():
        for line, amount in enumerate([1040, 8960]):
            as_app.execute(INSERT_SPLIT_LINE, [paid_sale.pk, paid_sale.product_id, line, amount])

    assert ledger_of(paid_sale) == [("split", 0, 1040), ("split", 1, 8960)]


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {LEDGER} SET amount_minor = 0",
        f"DELETE FROM {LEDGER}",
        f"TRUNCATE {LEDGER}",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_app_role_may_not_change_or_empty_the_ledger(as_app, split_sale, statement):
    before = ledger_of(split_sale)

    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        as_app.execute(statement)

    assert ledger_of(split_sale) == before


@pytest.mark.parametrize(
    "statement",
    [
        f"ALTER TABLE {LEDGER} DISABLE TRIGGER ALL",
        f"ALTER TABLE {LEDGER} DISABLE TRIGGER coproduction_ledger_append_only",
        f"DROP TRIGGER coproduction_ledger_no_truncate ON {LEDGER}",
        "ALTER TABLE coproduction_ledger_pending_check DISABLE TRIGGER USER",
    ],
    ids=["disable-all", "disable-append-only", "drop-no-truncate", "disable-sum-check"],
)
def test_the_app_role_may_not_switch_the_guards_off(as_app, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
        as_app.execute(statement)


def test_the_app_role_writes_ordinary_tables(as_app, split_sale):
    with as_app.transaction():
        cursor = as_app.execute(
            "UPDATE products_sale SET country = 'PT' WHERE id = %s", [split_sale.pk]
        )
        assert cursor.rowcount == 1

    assert Sale.objects.get(pk=split_sale.pk).country == "PT"


def test_tables_a_later_migration_creates_reach_the_app_role(as_app):
    owner_sql("CREATE TABLE guards_later (id bigint GENERATED ALWAYS AS IDENTITY, note text)")
    try:
        with as_app.transaction():
            as_app.execute("INSERT INTO guards_later (note) VALUES ('a')")
            as_app.execute("UPDATE guards_later SET note = 'b'")
            assert as_app.execute("SELECT note FROM guards_later").fetchall() == [("b",)]
            as_app.execute("DELETE FROM guards_later")
    finally:
        owner_sql("DROP TABLE guards_later")


def test_the_app_role_cannot_skip_the_sum_check_by_emptying_its_queue(as_app, paid_sale):
    with (
        pytest.raises(psycopg.errors.IntegrityError, match="adds up to 9999"),
        as_app.transaction(),
    ):
        as_app.execute(INSERT_SPLIT_LINE, [paid_sale.pk, paid_sale.product_id, 0, 9999])
        deleted = as_app.execute("DELETE FROM coproduction_ledger_pending_check").rowcount
        assert deleted == 1

    assert ledger_of(paid_sale) == []


# --- grant_app_role ----------------------------------------------------------------------------


def privileges(role: str, table: str) -> set[str]:
    kinds = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("has_table_privilege(%s, %s, %s)" for _ in kinds),
            [value for kind in kinds for value in (role, table, kind)],
        )
        return {kind for kind, granted in zip(kinds, cursor.fetchone(), strict=True) if granted}


def test_grant_app_role_again_restores_the_same_privileges(app_role):
    expected = {
        LEDGER: {"SELECT", "INSERT"},
        "products_sale": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    }
    assert {table: privileges(app_role, table) for table in expected} == expected
    # Drift by hand, then run it again: it converges instead of adding up.
    owner_sql(f'GRANT UPDATE, TRUNCATE ON {LEDGER} TO "{app_role}"')
    owner_sql(f'GRANT TRIGGER ON products_sale TO "{app_role}"')

    call_command("grant_app_role", role=app_role, stdout=io.StringIO())

    assert {table: privileges(app_role, table) for table in expected} == expected


def test_grant_app_role_refuses_a_missing_role():
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grant_app_role", role=f"missing_{uuid.uuid4().hex[:8]}")


def test_grant_app_role_refuses_the_owner():
    # The test database's owner is the connecting role (a superuser locally, maybe not in CI).
    with pytest.raises(CommandError, match=r"superuser|owns the tables"):
        call_command("grant_app_role", role=connection.settings_dict["USER"])


# --- the owner ---------------------------------------------------------------------------------


def test_the_owner_cannot_truncate_the_ledger_while_sales_remain(split_sale):
    before = ledger_of(split_sale)

    with pytest.raises(IntegrityError, match="TRUNCATE refused"), transaction.atomic():
        owner_sql(f"TRUNCATE {LEDGER}")

    assert len(before) == 2
    assert ledger_of(split_sale) == before


def test_a_reset_that_empties_the_sales_too_may_empty_the_ledger(split_sale):
    # What Django's flush does between transactional tests: every table in one TRUNCATE.
    call_command("flush", interactive=False, verbosity=0)

    assert not LedgerEntry.objects.exists()
    assert not Sale.objects.exists()


def test_a_split_that_does_not_add_up_fails_at_commit(paid_sale):
    written_before_commit = None
    with (
        pytest.raises(
            IntegrityError,
            match=f"ledger split of sale {paid_sale.pk} adds up to 9999, "
            "not to the sale amount 10000",
        ),
        transaction.atomic(),
    ):
        LedgerEntry.objects.bulk_create(split_rows(paid_sale, [1040, 8959]))
        written_before_commit = len(ledger_of(paid_sale))

    assert written_before_commit == 2, "the rows are refused at COMMIT, not on INSERT"
    assert ledger_of(paid_sale) == []


def test_an_extra_line_on_a_split_sale_fails_at_commit(split_sale):
    before = ledger_of(split_sale)

    with pytest.raises(IntegrityError, match="adds up to 10001"), transaction.atomic():
        LedgerEntry.objects.bulk_create(split_rows(split_sale, [1], first_line=len(before)))

    assert ledger_of(split_sale) == before


def test_a_split_written_over_several_statements_commits_once_whole(paid_sale):
    with transaction.atomic():
        for row in split_rows(paid_sale, [1040, 8960]):
            LedgerEntry.objects.bulk_create([row])  # the first alone does not add up

    assert ledger_of(paid_sale) == [("split", 0, 1040), ("split", 1, 8960)]


def test_the_split_the_service_writes_commits(split_sale):
    amounts = [amount for _, _, amount in ledger_of(split_sale)]

    assert len(amounts) == 2
    assert sum(amounts) == split_sale.amount_minor


@pytest.fixture
def refund(split_sale):
    return Refund.objects.create(sale=split_sale, amount_minor=3000, kind=Refund.Kind.REFUND)


def test_the_reversal_the_service_writes_commits(split_sale, refund):
    with transaction.atomic():
        ledger_write_reversal(sale=split_sale, refund=refund)

    reversal = LedgerEntry.objects.filter(refund=refund).values_list("amount_minor", flat=True)
    assert len(reversal) == 2
    assert sum(reversal) == -3000


def test_a_reversal_that_does_not_add_up_fails_at_commit(split_sale, refund):
    with (
        pytest.raises(
            IntegrityError,
            match=f"ledger reversal of refund {refund.pk} adds up to -2999, "
            "not to minus the refund amount -3000",
        ),
        transaction.atomic(),
    ):
        LedgerEntry.objects.create(
            sale=split_sale,
            refund=refund,
            product_id=split_sale.product_id,
            entry_type=LedgerEntry.EntryType.REFUND,
            line=1,
            role="producer",
            amount_minor=-2999,
            currency=split_sale.currency,
            available_on=timezone.now().date(),
        )

    assert not LedgerEntry.objects.filter(refund=refund).exists()
