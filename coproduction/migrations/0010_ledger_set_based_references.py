"""The ledger's references (sale, product, beneficiary, contract, affiliation, refund) checked
set-based, once per statement, instead of by six foreign keys.

A foreign key checks each inserted row on its own (one trigger call and one index probe with a
KEY SHARE lock per row and reference): six entries per charge made those checks most of the
database's time in writing the ledger (bench-ledger: about 2 800 charges/s with them, 5 000
without). The same rule is kept here, in PostgreSQL, for every writer:

- after each INSERT or COPY into the ledger, a statement trigger looks up the distinct ids each
  reference column holds in one index scan per referenced table, locking them FOR KEY SHARE as a
  foreign key's check does (so a concurrent DELETE of one waits for this transaction, then sees
  its entries), and refuses the statement if one is missing (SQLSTATE 23503,
  foreign_key_violation, as a foreign key would);
- after each DELETE on a referenced table, a statement trigger refuses it when an entry still
  refers to a deleted row (PROTECT, as the models say), and after a TRUNCATE of one while the
  ledger has entries (truncating both at once, as a whole-database reset does, is allowed: the
  ledger's own guard from 0005 then sees the sales gone too).

Referenced ids are never updated (they are identities), so UPDATE needs no guard; the ledger's
own rows are append-only (0004)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (column of the ledger, referenced table); every referenced key is the table's `id`.
REFERENCES = (
    ("sale_id", "products_sale"),
    ("product_id", "products_product"),
    ("beneficiary_id", "accounts_user"),
    ("contract_id", "coproduction_contract"),
    ("affiliation_id", "products_affiliation"),
    ("refund_id", "products_refund"),
)

CREATE = """
CREATE FUNCTION coproduction_ledger_check_references() RETURNS trigger AS $$
DECLARE
    wanted bigint[];
    present bigint[];
    ref record;
    missing bigint;
BEGIN
    -- Static statements, so PL/pgSQL plans them once per session. `= ANY (ARRAY(...))`: one
    -- scan of each referenced table's primary key for the statement's distinct ids, whatever
    -- the planner guesses of the transition table's size.
    SELECT ARRAY[%(wanted)s]
      INTO wanted FROM new_rows;
    SELECT ARRAY[
%(present)s
    ] INTO present;
    IF present IS DISTINCT FROM wanted THEN
        -- Which one: only on the way to refusing the statement.
        FOR ref IN SELECT * FROM unnest(TG_ARGV[0]::text[], TG_ARGV[1]::text[]) AS r(col, tbl) LOOP
            EXECUTE format(
                'SELECT n.%1$I FROM new_rows n
                  WHERE n.%1$I IS NOT NULL
                    AND NOT EXISTS (SELECT FROM %2$I t WHERE t.id = n.%1$I)
                  LIMIT 1',
                ref.col, ref.tbl) INTO missing;
            IF missing IS NOT NULL THEN
                RAISE EXCEPTION 'insert on coproduction_ledgerentry violates its reference: '
                                'key (%)=(%) is not present in table "%"',
                                ref.col, missing, ref.tbl
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER coproduction_ledger_check_references
    AFTER INSERT ON coproduction_ledgerentry
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION coproduction_ledger_check_references(%(columns)s, %(tables)s);

CREATE FUNCTION coproduction_ledger_keep_referenced() RETURNS trigger AS $$
DECLARE
    used bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT FROM coproduction_ledgerentry) THEN
            RAISE EXCEPTION 'TRUNCATE on "%" refused: ledger entries refer to it', TG_TABLE_NAME
                USING ERRCODE = 'foreign_key_violation',
                      HINT = 'Only a reset that also empties coproduction_ledgerentry may.';
        END IF;
        RETURN NULL;
    END IF;
    EXECUTE format(
        'SELECT o.id FROM old_rows o
          WHERE EXISTS (SELECT FROM coproduction_ledgerentry e WHERE e.%1$I = o.id)
          LIMIT 1',
        TG_ARGV[0]) INTO used;
    IF used IS NOT NULL THEN
        RAISE EXCEPTION 'delete on "%" violates the ledger''s reference: key (id)=(%) is still '
                        'referenced from table "coproduction_ledgerentry"', TG_TABLE_NAME, used
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

REFERENCED = """
CREATE TRIGGER coproduction_ledger_keep_referenced
    AFTER DELETE ON %(table)s
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coproduction_ledger_keep_referenced('%(column)s');
CREATE TRIGGER coproduction_ledger_keep_referenced_truncate
    AFTER TRUNCATE ON %(table)s
    FOR EACH STATEMENT EXECUTE FUNCTION coproduction_ledger_keep_referenced('%(column)s');
"""

DROP = """
DROP TRIGGER IF EXISTS coproduction_ledger_check_references ON coproduction_ledgerentry;
DROP FUNCTION IF EXISTS coproduction_ledger_check_references();
"""
UNREFERENCED = """
DROP TRIGGER IF EXISTS coproduction_ledger_keep_referenced ON %(table)s;
DROP TRIGGER IF EXISTS coproduction_ledger_keep_referenced_truncate ON %(table)s;
"""


def _array(values) -> str:
    return "'{" + ",".join(values) + "}'"


def _run(schema_editor, sql: str) -> None:
    # A plain cursor without parameters: the functions' % must reach PostgreSQL as is.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forwards(apps, schema_editor):
    wanted = ", ".join(f"count(DISTINCT {column})" for column, _ in REFERENCES)
    present = ",\n".join(
        f"        (SELECT count(*) FROM (SELECT FROM {table} t WHERE t.id = ANY (ARRAY("
        f"SELECT DISTINCT {column} FROM new_rows WHERE {column} IS NOT NULL)) "
        "FOR KEY SHARE OF t) x)"
        for column, table in REFERENCES
    )
    sql = (
        CREATE.replace("%(wanted)s", wanted)
        .replace("%(present)s", present)
        .replace(
            "%(columns)s, %(tables)s",
            f"{_array(c for c, _ in REFERENCES)}, {_array(t for _, t in REFERENCES)}",
        )
    )
    for column, table in REFERENCES:
        sql += REFERENCED.replace("%(table)s", table).replace("%(column)s", column)
    _run(schema_editor, sql)


def backwards(apps, schema_editor):
    sql = "".join(UNREFERENCED.replace("%(table)s", table) for _, table in REFERENCES)
    _run(
        schema_editor, sql + DROP + "DROP FUNCTION IF EXISTS coproduction_ledger_keep_referenced();"
    )
    # The foreign keys are back by now: the AlterFields after this one are reversed first.


class Migration(migrations.Migration):
    dependencies = [
        ("coproduction", "0009_ledger_fewer_indexes"),
        ("products", "0008_fewer_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="ledgerentry",
            name="affiliation",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="products.affiliation",
                verbose_name="affiliation",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="beneficiary",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_entries",
                to=settings.AUTH_USER_MODEL,
                verbose_name="beneficiary",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="contract",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_entries",
                to="coproduction.contract",
                verbose_name="contract",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="product",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="products.product",
                verbose_name="product",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="refund",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_entries",
                to="products.refund",
                verbose_name="refund",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="sale",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger",
                to="products.sale",
                verbose_name="sale",
            ),
        ),
    ]
