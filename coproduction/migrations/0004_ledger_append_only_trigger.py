"""On PostgreSQL the database itself refuses to update or delete a ledger entry.
(The ORM guard in LedgerEntry / AppendOnlyQuerySet says so earlier, in Python.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION coproduction_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused on entry %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER coproduction_ledger_append_only
    BEFORE UPDATE OR DELETE ON coproduction_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION coproduction_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS coproduction_ledger_append_only ON coproduction_ledgerentry;
DROP FUNCTION IF EXISTS coproduction_ledger_append_only();
"""


def _run(schema_editor, sql: str) -> None:
    # A plain cursor without parameters: the function body's % must reach PostgreSQL as is.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, CREATE)


def backwards(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):
    dependencies = [("coproduction", "0003_ledger")]
    operations = [migrations.RunPython(forwards, backwards)]
