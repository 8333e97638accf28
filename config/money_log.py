"""One log line per money event, all through `money_event`, on the logger "coprod.money".

Events (each named once here, so a search for one finds every line of it):
  charge_attempt  an attempt was recorded and is about to go to the gateway
  charge          the gateway's answer to an attempt was recorded (outcome=...)
  refund          a refund moved (requested, sent, succeeded, failed)
  webhook         a signed gateway webhook was received and stored
  ledger          a sale's split or a refund's reversal was written to the ledger
  quarantine      a charge was approved but could not be recorded: it needs attention
  payout          a withdrawal moved

Fields are the ids and amounts a person investigating needs (sale, attempt, amount_minor,
currency, outcome, ...), never card data or personal details. In JSON logs they are top-level
keys beside the request id; in readable logs `key=value` after the event's name.

A batch (a billing run's hundreds of charges) writes one line per batch, not one per row: its
ids as lists (`sales`, `attempts`) and its amounts added up (`charge`: one line per outcome and
currency; `charge_attempt`: the batch; `ledger`: the batch's splits). A single checkout keeps
`sale`/`attempt`. Every charge of sale 123, either way:
`jq 'select(.logger == "coprod.money" and (.sale == 123 or any(.sales[]?; . == 123)))'`."""

import logging

from config.logs import RECORD_ATTRS

logger = logging.getLogger("coprod.money")

EVENTS = frozenset(
    {"charge_attempt", "charge", "refund", "webhook", "ledger", "quarantine", "payout"}
)


def _plain(value):
    """Model instances by primary key, enum members by value; everything else as it is."""
    pk = getattr(value, "pk", None)
    if pk is not None:
        return pk
    return getattr(value, "value", value)


def money_event(event: str, /, **fields) -> None:
    """Write one line for a money event: `money_event("charge", sale=sale.pk, amount_minor=...,
    currency=..., outcome=...)`. Never raises: a log line must not stop money from moving."""
    try:
        if event not in EVENTS:
            raise ValueError(f"unknown money event {event!r}")
        # A field named like a LogRecord attribute ("name", "module") would make logging raise.
        values = {
            (f"{key}_" if key in RECORD_ATTRS else key): _plain(value)
            for key, value in fields.items()
        }
        text = " ".join(f"{key}={value}" for key, value in values.items())
        level = logging.WARNING if event == "quarantine" else logging.INFO
        logger.log(level, "%s %s", event, text, extra={"event": event, **values})
    except Exception:
        logger.exception("money event %r could not be logged", event)
