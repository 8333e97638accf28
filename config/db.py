"""Set-based writes the ORM lacks: many rows, different values, one statement."""

from django.db import connection


def update_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """Update `fields` of many rows at once; each row is (pk, value, value, ...).

    One PostgreSQL UPDATE ... FROM (VALUES ...) statement (bulk_update writes a CASE per field)."""
    if not rows:
        return
    opts = model._meta
    columns = [opts.get_field(name).column for name in fields]
    types = [opts.pk.db_type(connection)] + [
        opts.get_field(name).cast_db_type(connection) for name in fields
    ]
    row_sql = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
    table = opts.db_table
    sql = (
        f"UPDATE {table} SET "
        + ", ".join(f"{c} = v.{c}" for c in columns)
        + f" FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v(pk, {', '.join(columns)})"
        + f" WHERE {table}.{opts.pk.column} = v.pk"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
