"""Set-based writes the ORM lacks: many rows, different values, one statement."""

from django.db import connection


def update_rows(
    model, fields: list[str], rows: list[tuple], *, only_status: str | None = None
) -> int:
    """Update `fields` of many rows at once; each row is (pk, value, value, ...). With
    `only_status`, rows whose status is not that are left alone. Returns the rows updated.

    One PostgreSQL UPDATE ... FROM (VALUES ...) statement (bulk_update writes a CASE per field)."""
    if not rows:
        return 0
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
    params = [value for row in rows for value in row]
    if only_status is not None:
        sql += f" AND {table}.status = %s"
        params.append(only_status)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
