"""One transition helper for every money state machine (Sale, Recurrence, PaymentAttempt,
Refund): it checks the model's TRANSITIONS table, writes the status and an event row. The
batch form checks every row's from-state in SQL (`WHERE status = from`)."""

from collections.abc import Iterable, Sequence
from operator import attrgetter

from django.db import connection, models
from django.db.models import BooleanField, F, Func
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.exceptions import InvalidTransition


def _check(model, current: str, to: str) -> None:
    table = model.TRANSITIONS
    if to not in table.get(model.Status(current), ()):
        raise InvalidTransition(
            f"A {model._meta.verbose_name} that is {model.Status(current).label.lower()} "
            f"cannot become {model.Status(to).label.lower()}."
        )


def transition(obj: models.Model, to: str, *, actor=None, reason: str = "", **values):
    """Move one (locked) row: check the table, set status and `values`, save, write the event."""
    from products.payments.models import StateEvent

    model = type(obj)
    current = obj.status
    _check(model, current, to)
    obj.status = to
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save(update_fields=["status", *values])
    StateEvent.objects.create(
        machine=model._meta.model_name,
        object_id=obj.pk,
        from_status=current,
        to_status=to,
        actor=actor,
        reason=reason[:200],
    )
    return obj


def transition_many(
    model, pks: Sequence[int], *, from_: str, to: str, reason: str = "", actor=None, **values
) -> int:
    """Set-based form: move every row in `pks` from `from_` to `to` in one UPDATE. Raises
    InvalidTransition (nothing written by the caller's savepoint) unless every row was in
    `from_`."""

    pks = list(dict.fromkeys(pks))
    if not pks:
        return 0
    _check(model, from_, to)
    moved = model.objects.filter(pk_any(pks), status=from_status(from_)).update(status=to, **values)
    _check_moved(model, moved, len(pks), from_)
    _write_events(model, pks, from_=from_, to=to, reason=reason, actor=actor)
    return moved


def transition_rows(
    model, fields: list[str], rows: list[tuple], *, from_: str, to: str, reason: str = ""
) -> int:
    """Set-based form with a value per row: rows are (pk, value of each of `fields`, ...).
    One UPDATE that also checks every row's from-state."""
    if not rows:
        return 0
    _check(model, from_, to)
    moved = rows_update(
        model, ["status", *fields], [(pk, to, *rest) for pk, *rest in rows], only_status=from_
    )
    _check_moved(model, moved, len(rows), from_)
    _write_events(model, [row[0] for row in rows], from_=from_, to=to, reason=reason, actor=None)
    return moved


def _check_moved(model, moved: int, expected: int, from_: str) -> None:
    if moved != expected:
        raise InvalidTransition(
            f"{expected - moved} of {expected} {model._meta.verbose_name_plural} were not "
            f"{model.Status(from_).label.lower()}."
        )


def _write_events(model, pks, *, from_: str, to: str, reason: str, actor) -> None:
    from products.payments.models import StateEvent

    now = timezone.now()
    machine = model._meta.model_name
    actor_id = actor.pk if actor is not None else None
    columns = ("machine", "object_id", "from_status", "to_status", "actor_id", "reason")
    # COPY: a billing batch writes thousands of events in one round trip.
    sql = f"COPY {StateEvent._meta.db_table} ({', '.join(columns)}, created_at) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for pk in pks:
            copy.write_row((machine, pk, from_, to, actor_id, reason[:200], now))


# --------------------------------------------------------------------------- set-based SQL
# A billing batch reads and writes hundreds of rows per statement. An IN list or a VALUES list
# costs one placeholder per value, each handled by Django, psycopg and PostgreSQL's parser; the
# forms below send one array per column instead.


def pk_any(ids: Iterable[int], field: str = "pk") -> Func:
    """A filter: `field = ANY(ids)`, one array parameter however many ids (bigint keys)."""
    return Func(
        F(field),
        RawSQL("%s::bigint[]", (int_array(ids),)),
        template="%(expressions)s)",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )


def from_status(value: str) -> RawSQL:
    """The from-state of a set-based transition, compared as a one-row subquery rather than
    a literal: PostgreSQL then never answers `pk = ANY(...) AND status = ...` by scanning a
    partial index on status (recurrence_to_collect holds every due row) but probes the
    primary key once per row, whatever its statistics say."""
    return RawSQL("SELECT %s::varchar", (value,), output_field=models.CharField())


def int_array(values: Iterable[int | None]) -> str:
    """An array of integers as PostgreSQL's text form, '{1,2,NULL}' (psycopg would adapt a
    list element by element in Python)."""
    values = list(values)
    if None not in values:
        return "{" + ",".join(map(str, map(int, values))) + "}"
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def text_array(values: Iterable) -> str:
    """Any other values as an array's text form, each element quoted and escaped (dates and
    times in ISO format, choices by their value), for PostgreSQL to cast to the column's type
    (psycopg would adapt a list element by element in Python)."""
    # A batch repeats values (its time, its status, its message): each is formatted once.
    seen: dict = {}
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
            continue
        key = (type(v), v)  # True and 1 are equal keys, not equal texts
        try:
            text = seen[key]
        except KeyError:
            text = seen[key] = _array_element(v)
        except TypeError:  # unhashable: formatted as it comes
            text = _array_element(v)
        parts.append(text)
    return "{" + ",".join(parts) + "}"


def _array_element(value) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rows_update(
    model, fields: list[str], rows: list[tuple], *, only_status: str | None = None
) -> int:
    """Update `fields` of many rows at once; each row is (pk, value, value, ...). With
    `only_status`, rows whose status is not that are left alone. Returns the rows updated.
    One UPDATE ... FROM unnest(one array per column)."""
    if not rows:
        return 0
    opts = model._meta
    targets = [opts.get_field(name) for name in fields]
    columns = [field.column for field in targets]
    types = [opts.pk.db_type(connection)] + [field.cast_db_type(connection) for field in targets]
    table = opts.db_table
    # unnest() wants plain element types: varchar(20)[] is written varchar[].
    arrays = ", ".join(f"%s::{t.split('(')[0]}[]" for t in types)
    sql = (
        f"UPDATE {table} SET "
        + ", ".join(f"{c} = v.{c}::{t}" for c, t in zip(columns, types[1:], strict=True))
        + f" FROM unnest({arrays}) AS v(pk, {', '.join(columns)})"
        + f" WHERE {table}.{opts.pk.column} = v.pk"
        # The keys once more as an array: the planner reads the table by its primary key
        # instead of hashing all of it, even before it has statistics.
        + f" AND {table}.{opts.pk.column} = ANY(%s::bigint[])"
    )
    params = [
        int_array(column) if t in _INTEGER_TYPES else text_array(column)
        for column, t in zip(zip(*rows, strict=True), types, strict=True)
    ]
    params.append(params[0])
    if only_status is not None:
        sql += f" AND {table}.status = (SELECT %s::varchar)"  # see from_status
        params.append(only_status)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


_INTEGER_TYPES = {"bigint", "integer", "smallint"}


def rows_insert(objs: Sequence[models.Model]) -> None:
    """bulk_create for a batch of unsaved objects of one model, with COPY (see values_insert);
    each object's pk is set. Values are written as set on the objects."""
    if not objs:
        return
    fields = type(objs[0])._meta.concrete_fields
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                field.pre_save(obj, add=True)
    values = attrgetter(*(field.attname for field in fields))
    ids = _copy_rows(type(objs[0]), [values(obj) for obj in objs], keep=[obj.pk for obj in objs])
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def values_insert(model, rows: Sequence[dict]) -> list[int]:
    """Insert rows given as {attname: value} without building model instances: a column a row
    does not name gets the field's default (computed once for the batch). Returns the new ids,
    in order. The ids are taken from the table's sequence first, then every row goes in one
    COPY (bulk_create prepares every value of every object through its field, in Python)."""
    if not rows:
        return []
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    defaults = [None if field.primary_key else field.get_default() for field in fields]
    full = [tuple(map(row.get, names, defaults)) for row in rows]
    return _copy_rows(model, full, keep=[row.get(model._meta.pk.attname) for row in rows])


_SEQUENCES: dict[tuple[str, str], str] = {}


def _sequence(cursor, table: str, column: str) -> str:
    """The sequence behind a table's key, looked up once per process (asked inside the
    nextval, PostgreSQL would look it up again for every id)."""
    if (table, column) not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        _SEQUENCES[table, column] = cursor.fetchone()[0]
    return _SEQUENCES[table, column]


def _copy_rows(model, rows: list[tuple], *, keep: list[int | None]) -> list[int]:
    """COPY `rows` (every concrete field, in order) into the model's table; a row whose key
    (`keep`) is None gets one from the table's sequence. Returns each row's key."""
    opts = model._meta
    table, pk_column = opts.db_table, opts.pk.column
    fields = opts.concrete_fields
    pk_index = fields.index(opts.pk)
    ids = list(keep)
    missing = [i for i, pk in enumerate(ids) if pk is None]
    with connection.cursor() as cursor:
        if missing:
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [_sequence(cursor, table, pk_column), len(missing)],
            )
            for i, (pk,) in zip(missing, sorted(cursor.fetchall()), strict=True):
                ids[i] = pk
        sql = f"COPY {table} ({', '.join(field.column for field in fields)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row, pk in zip(rows, ids, strict=True):
                copy.write_row((*row[:pk_index], pk, *row[pk_index + 1 :]))
    return ids
