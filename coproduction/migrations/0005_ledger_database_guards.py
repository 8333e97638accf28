"""PostgreSQL guards on the ledger beyond 0004's row trigger: TRUNCATE cannot empty the ledger
while sales remain, and at COMMIT every split must add up to its sale's amount and every
refund's or chargeback's reversing entries to minus the refund's amount.

The sum check is deferred to COMMIT, so a split may be written over several statements of one
transaction. A per-row constraint trigger on the ledger would run one check per entry (six per
charge) and cost about 20 µs each, a third of the ledger benchmark. Constraint triggers cannot be
statement-level, so instead a statement-level trigger (with its transition table) queues one row
per INSERT or COPY into coproduction_ledger_pending_check, holding the sales and refunds it
touched, and a deferred constraint trigger on that queue checks them set-based at COMMIT, then
removes the row. (SQLite relies on the split code and the ORM guard.)"""

from django.db import migrations

CREATE = """
CREATE FUNCTION coproduction_ledger_no_truncate() RETURNS trigger AS $$
BEGIN
    -- AFTER, not BEFORE: only once the statement has run can we see whether it emptied the
    -- sales too (a whole-database reset such as Django's flush), which leaves no sale without
    -- its ledger. Raising here still undoes the TRUNCATE.
    IF EXISTS (SELECT FROM products_sale) THEN
        RAISE EXCEPTION 'ledger entries are append-only: TRUNCATE refused on '
                        'coproduction_ledgerentry while sales remain'
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Only a reset that also empties products_sale may empty the ledger.';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER coproduction_ledger_no_truncate
    AFTER TRUNCATE ON coproduction_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION coproduction_ledger_no_truncate();

CREATE TABLE coproduction_ledger_pending_check (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sale_ids bigint[] NOT NULL,
    refund_ids bigint[] NOT NULL
);

CREATE FUNCTION coproduction_ledger_queue_check() RETURNS trigger AS $$
BEGIN
    INSERT INTO coproduction_ledger_pending_check (sale_ids, refund_ids)
    SELECT coalesce(array_agg(DISTINCT n.sale_id) FILTER (WHERE n.entry_type = 'split'), '{}'),
           coalesce(array_agg(DISTINCT n.refund_id) FILTER (WHERE n.entry_type <> 'split'), '{}')
      FROM new_rows n
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER coproduction_ledger_queue_check
    AFTER INSERT ON coproduction_ledgerentry
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coproduction_ledger_queue_check();

CREATE FUNCTION coproduction_ledger_check_sums() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    -- LATERAL keeps each sum on the (sale, line) and (refund, line) indexes whatever the size
    -- of the ledger.
    SELECT s.id, s.amount_minor AS expected, w.written INTO bad
      FROM products_sale s
     CROSS JOIN LATERAL (
           SELECT sum(e.amount_minor) AS written
             FROM coproduction_ledgerentry e
            WHERE e.sale_id = s.id AND e.entry_type = 'split') w
     WHERE s.id = ANY (NEW.sale_ids) AND w.written IS DISTINCT FROM s.amount_minor
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger split of sale % adds up to %, not to the sale amount %',
                        bad.id, bad.written, bad.expected
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT r.id, -r.amount_minor AS expected, w.written INTO bad
      FROM products_refund r
     CROSS JOIN LATERAL (
           SELECT sum(e.amount_minor) AS written
             FROM coproduction_ledgerentry e
            WHERE e.refund_id = r.id AND e.entry_type <> 'split') w
     WHERE r.id = ANY (NEW.refund_ids) AND w.written IS DISTINCT FROM -r.amount_minor
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger reversal of refund % adds up to %, not to minus the refund '
                        'amount %', bad.id, bad.written, bad.expected
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    DELETE FROM coproduction_ledger_pending_check WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER coproduction_ledger_check_sums
    AFTER INSERT ON coproduction_ledger_pending_check
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION coproduction_ledger_check_sums();
"""
DROP = """
DROP TRIGGER IF EXISTS coproduction_ledger_queue_check ON coproduction_ledgerentry;
DROP TABLE IF EXISTS coproduction_ledger_pending_check;
DROP FUNCTION IF EXISTS coproduction_ledger_check_sums();
DROP FUNCTION IF EXISTS coproduction_ledger_queue_check();
DROP TRIGGER IF EXISTS coproduction_ledger_no_truncate ON coproduction_ledgerentry;
DROP FUNCTION IF EXISTS coproduction_ledger_no_truncate();
"""


def _run(schema_editor, sql: str) -> None:
    # A plain cursor without parameters: the functions' % must reach PostgreSQL as is.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, CREATE)


def backwards(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):
    dependencies = [("coproduction", "0004_ledger_append_only_trigger")]
    operations = [migrations.RunPython(forwards, backwards)]
