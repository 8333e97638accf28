"""One transition helper for every money state machine (Sale, Recurrence, PaymentAttempt,
Refund): it checks the model's TRANSITIONS table, writes the status and an event row. The
batch form checks every row's from-state in SQL (`WHERE status = from`)."""

from collections.abc import Sequence

from django.db import connection, models
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
    moved = model.objects.filter(pk__in=pks, status=from_).update(status=to, **values)
    _check_moved(model, moved, len(pks), from_)
    _write_events(model, pks, from_=from_, to=to, reason=reason, actor=actor)
    return moved


def transition_rows(
    model, fields: list[str], rows: list[tuple], *, from_: str, to: str, reason: str = ""
) -> int:
    """Set-based form with a value per row: rows are (pk, value of each of `fields`, ...).
    One UPDATE that also checks every row's from-state."""
    from config.db import update_rows

    if not rows:
        return 0
    _check(model, from_, to)
    moved = update_rows(
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
