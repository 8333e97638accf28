"""Give the role that web, worker and beat log in as exactly the privileges the app needs, on
PostgreSQL: run by the owner role after every migrate (README, "Database roles in production")."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from psycopg import sql

from coproduction.models import LedgerEntry

# Tables the app may only read and append to; the owner keeps everything else.
APPEND_ONLY_TABLES = (LedgerEntry._meta.db_table,)


def grant_statements(*, role: str, schema: str) -> list[sql.Composed]:
    """Statements that leave `role` with these privileges whatever it had before: read and write
    rows of every table and draw from every sequence in `schema`, only read and append on the
    append-only tables; the same for tables and sequences the owner creates later."""
    role_id, schema_id = sql.Identifier(role), sql.Identifier(schema)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id),
        # Revoke first so privileges granted by hand (TRUNCATE, TRIGGER, ...) do not linger.
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema_id, role_id),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            schema_id, role_id
        ),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema_id, role_id),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema_id, role_id),
    ]
    statements += [
        sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(
            sql.Identifier(schema, table), role_id
        )
        for table in APPEND_ONLY_TABLES
    ]
    # Default privileges cover tables the current (owner) role creates in later migrations; a
    # new append-only table still needs its REVOKE above, hence "run after every migrate".
    statements += [
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE "
            "ON TABLES TO {}"
        ).format(schema_id, role_id),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE ON SEQUENCES TO {}").format(
            schema_id, role_id
        ),
    ]
    return statements


class Command(BaseCommand):
    help = (
        "Grant the app's database role (which must not own the tables) read and write on every "
        "table, but only read and insert on the ledger. Run as the owner role after migrate; "
        "running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, help="the role web, worker and beat use")
        parser.add_argument("--schema", default="public")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *, role: str, schema: str, database: str, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role works on PostgreSQL only.")
        with transaction.atomic(using=database), connection.cursor() as cursor:
            _check_role(cursor, role=role, ledger=f"{schema}.{LedgerEntry._meta.db_table}")
            for statement in grant_statements(role=role, schema=schema):
                cursor.execute(statement.as_string(cursor.cursor))
        self.stdout.write(
            f"{role}: SELECT, INSERT, UPDATE, DELETE on the tables of {schema}, USAGE on its "
            f"sequences; only SELECT, INSERT on {', '.join(APPEND_ONLY_TABLES)}."
        )


def _check_role(cursor, *, role: str, ledger: str) -> None:
    """Privileges mean nothing to a superuser or to the tables' owner (or a member of it): refuse
    such a role rather than report a protection it would not have."""
    cursor.execute(
        "SELECT r.rolsuper, pg_has_role(r.oid, c.relowner, 'MEMBER') "
        "FROM pg_roles r, pg_class c WHERE r.rolname = %s AND c.oid = %s::regclass",
        [role, ledger],
    )
    row = cursor.fetchone()
    if row is None:
        raise CommandError(
            f'Role "{role}" does not exist: create it first '
            f"(CREATE ROLE {role} LOGIN PASSWORD '...')."
        )
    superuser, owns = row
    if superuser:
        raise CommandError(f'Role "{role}" is a superuser: it would bypass every privilege.')
    if owns:
        raise CommandError(
            f'Role "{role}" owns the tables (or is a member of their owner): the app must log in '
            "as a role that does not."
        )
