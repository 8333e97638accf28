"""Money events: one line each, through config.money_log.money_event, with the ids and amounts
as fields (top-level keys in JSON) and the request id; a charge writes exactly one "charge"."""

import contextlib
import logging
import sys

import pytest

from accounts.exceptions import DomainError
from config.logs import JsonFormatter, RequestIdFilter, logging_config
from config.money_log import money_event
from config.request_id import request_id
from products.models import Sale
from products.services.sales import sale_pay, sale_start
from tests.factories import ProductFactory, UserFactory, checkout_token

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"


def money_lines(json_logs) -> list[dict]:
    return json_logs.of("coprod.money")


def test_a_money_event_is_one_line_with_its_fields_and_the_request_id(json_logs):
    token = request_id.set("req-money-0001")
    try:
        money_event("refund", refund=7, sale=3, amount_minor=1250, currency="BRL", status="sent")
    finally:
        request_id.reset(token)

    [line] = money_lines(json_logs)
    assert line["level"] == "INFO"
    assert line["message"] == "refund refund=7 sale=3 amount_minor=1250 currency=BRL status=sent"
    assert line["event"] == "refund"
    assert (line["refund"], line["sale"], line["amount_minor"], line["currency"]) == (
        7,
        3,
        1250,
        "BRL",
    )
    assert line["request_id"] == "req-money-0001"


def test_quarantine_is_a_warning_and_field_names_never_break_logging(json_logs):
    money_event("quarantine", sale=9, error="split failed", name="clashes with LogRecord.name")

    [line] = money_lines(json_logs)
    assert line["level"] == "WARNING"
    assert line["name_"] == "clashes with LogRecord.name"


def test_an_unknown_event_is_reported_and_never_raises(json_logs):
    money_event("chrage", sale=1)  # a typo must not stop the money from moving

    [line] = money_lines(json_logs)
    assert line["level"] == "ERROR"
    assert "unknown money event 'chrage'" in line["exc_info"]


def test_money_lines_are_written_whatever_the_root_level():
    config = logging_config(fmt="json", level="ERROR")

    assert config["loggers"]["coprod.money"]["level"] == "INFO"
    assert config["handlers"]["console"]["formatter"] == "json"
    assert config["handlers"]["console"]["stream"] == "ext://sys.stdout"
    with pytest.raises(ValueError):
        logging_config(fmt="xml")


def test_readable_lines_name_the_request_too():
    record = logging.makeLogRecord({"name": "x", "msg": "hello", "levelname": "INFO"})
    RequestIdFilter().filter(record)

    line = logging.Formatter(logging_config()["formatters"]["text"]["format"]).format(record)
    assert line.endswith("INFO x [-] hello")


def test_the_json_formatter_keeps_tracebacks():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.makeLogRecord(
            {"name": "x", "msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()}
        )
    RequestIdFilter().filter(record)

    line = JsonFormatter().format(record)
    assert '"message": "failed"' in line and "RuntimeError: boom" in line


def buy(token: str | None, method: str = "card") -> Sale:
    buyer = UserFactory()
    sale = sale_start(
        product=ProductFactory(),
        buyer=buyer,
        method=method,
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer, "form-1"),
    )
    if token is None:  # started, never paid
        return sale
    # A declined card is a DomainError for the buyer; the log is what is tested here.
    with contextlib.suppress(DomainError):
        sale_pay(sale=sale, token=token)
    return sale


@pytest.mark.django_db
@pytest.mark.parametrize(("token", "outcome"), [(APPROVED, "approved"), (DECLINED, "declined")])
def test_a_charge_writes_exactly_one_charge_line(json_logs, token, outcome):
    sale = buy(token)

    charges = [line for line in money_lines(json_logs) if line["event"] == "charge"]
    assert len(charges) == 1
    [charge] = charges
    assert charge["sale"] == sale.pk
    assert charge["amount_minor"] == sale.amount_minor
    assert charge["currency"] == sale.currency
    assert charge["outcome"] == outcome
    attempts = [line for line in money_lines(json_logs) if line["event"] == "charge_attempt"]
    assert [line["sale"] for line in attempts] == [sale.pk]


def events(json_logs) -> list[str]:
    return [line["event"] for line in money_lines(json_logs)]


@pytest.mark.django_db
def test_a_paid_sale_writes_its_ledger_line(json_logs):
    sale = buy(APPROVED)

    assert events(json_logs) == ["charge_attempt", "charge", "ledger"]
    ledger = money_lines(json_logs)[-1]
    assert (ledger["kind"], ledger["sales"]) == ("split", [sale.pk])


@pytest.mark.django_db
def test_a_refund_is_told_requested_sent_and_succeeded_with_its_reversal(json_logs):
    from products.services.refunds import sale_refund

    sale = buy(APPROVED)
    before = len(money_lines(json_logs))

    refund = sale_refund(sale=sale, actor=sale.product.producer, amount_minor=400)

    lines = money_lines(json_logs)[before:]
    assert [(line["event"], line.get("status") or line.get("kind")) for line in lines] == [
        ("refund", "requested"),
        ("refund", "sent"),
        ("ledger", "refund"),
        ("refund", "succeeded"),
    ]
    assert {line["refund"] for line in lines} == {refund.pk}
    assert lines[0]["amount_minor"] == 400 and lines[0]["currency"] == sale.currency
    assert lines[2]["amount_minor"] == -400


@pytest.mark.django_db
def test_a_gateway_webhook_is_one_line_with_its_result(json_logs):
    from subscriptions.services.webhooks import webhook_handle

    sale = buy("", method="boleto")
    reference = sale.attempts.get().gateway_reference
    before = len(money_lines(json_logs))

    webhook_handle(event_id="evt-ops-1", kind="payment.confirmed", reference=reference, payload={})

    lines = money_lines(json_logs)[before:]
    assert [line["event"] for line in lines] == ["ledger", "webhook"]
    webhook = lines[-1]
    assert (webhook["webhook"], webhook["kind"], webhook["sale"], webhook["result"]) == (
        "evt-ops-1",
        "payment.confirmed",
        sale.pk,
        "processed",
    )


@pytest.mark.django_db
def test_a_charge_that_cannot_be_recorded_is_a_quarantine_warning(json_logs):
    from django.utils import timezone

    from products.payments.services import payment_park

    sale = buy(None)  # e.g. approved by the gateway, then its split failed
    before = len(money_lines(json_logs))

    payment_park(sale=sale, error="split failed: share below zero", now=timezone.now())

    [line] = money_lines(json_logs)[before:]
    assert (line["event"], line["level"], line["sale"]) == ("quarantine", "WARNING", sale.pk)
    assert line["error"] == "split failed: share below zero"
