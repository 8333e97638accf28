"""A request's id: taken from X-Request-ID when well-formed, else made; echoed; on every log line
the request causes; carried in the message of every task it enqueues and restored in the worker
that runs it."""

import logging
import re

import pytest
from celery.worker.request import Request
from django.http import HttpResponse
from django.test import RequestFactory

from config.celery import app
from config.request_id import HEADER, RequestIdMiddleware, request_id

pytestmark = pytest.mark.django_db

task_logger = logging.getLogger("tests.ops.task")


@app.task(name="tests.ops.log_inside_a_task")
def log_inside_a_task():
    task_logger.info("inside the task")


@pytest.fixture
def published():
    """Tasks really published (to the in-memory broker) instead of run eagerly; yields a
    function that takes the next message off the queue."""
    app.conf.task_always_eager = False
    connection = app.connection_for_read()
    queue = connection.SimpleQueue(app.conf.task_default_queue)
    queue.clear()
    try:
        yield lambda: queue.get(timeout=2)
    finally:
        app.conf.task_always_eager = True
        queue.close()
        connection.release()


def test_a_response_echoes_a_well_formed_incoming_id(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a2c91:01")

    assert response[HEADER] == "lb-7f3a2c91:01"


@pytest.mark.parametrize(
    "incoming", [None, "", "short", "has space 123", "x" * 129, "evil\r\nSet-Cookie: a=b"]
)
def test_a_missing_or_malformed_id_is_replaced_by_a_new_one(client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}

    response = client.get("/accounts/login/", **headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response[HEADER])


def test_two_requests_get_different_ids(client):
    assert client.get("/accounts/login/")[HEADER] != client.get("/accounts/login/")[HEADER]


def test_the_id_is_on_the_requests_log_lines_and_gone_after_it(client, json_logs):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-0001-abcdef")
    logging.getLogger("tests.ops").warning("after the request")

    not_found = json_logs.of("django.request")
    assert [(line["message"], line["request_id"]) for line in not_found] == [
        ("Not Found: /no-such-page/", "req-0001-abcdef")
    ]
    assert json_logs.of("tests.ops")[0]["request_id"] == "-"
    assert request_id.get() is None


def test_a_task_enqueued_by_a_request_carries_its_id_into_the_worker(published, json_logs):
    def view(request):
        log_inside_a_task.delay()
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(
        RequestFactory().get("/checkout/", HTTP_X_REQUEST_ID="req-checkout-42")
    )
    assert response[HEADER] == "req-checkout-42"
    assert request_id.get() is None  # the request is over; only the message knows the id

    message = published()
    assert message.headers["request_id"] == "req-checkout-42"
    Request(message, app=app, task=log_inside_a_task).execute()  # what the worker does

    [line] = json_logs.of("tests.ops.task")
    assert line["message"] == "inside the task"
    assert line["request_id"] == "req-checkout-42"
    assert line["task"] == "tests.ops.log_inside_a_task"
    assert request_id.get() is None  # and forgotten after the task


def test_a_task_beat_sends_gets_an_id_of_its_own(published, json_logs):
    log_inside_a_task.delay()  # no request around it, as beat sends it

    message = published()
    assert "request_id" not in message.headers
    Request(message, app=app, task=log_inside_a_task).execute()

    [line] = json_logs.of("tests.ops.task")
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])


def test_gunicorns_access_line_names_the_id_the_response_carried():
    from config.logs import JsonFormatter, RequestIdFilter

    atoms = {"h": "10.0.0.9", "m": "GET", "U": "/p/", "s": "200", "M": 12}
    atoms["{x-request-id}o"] = "req-access-77"
    record = logging.makeLogRecord(
        {"name": "gunicorn.access", "msg": '%(h)s "%(m)s %(U)s" %(s)s', "args": atoms}
    )
    RequestIdFilter().filter(record)

    line = JsonFormatter().format(record)
    assert '"request_id": "req-access-77"' in line
    assert '"status": "200"' in line and '"duration_ms": 12' in line
    assert '"message": "10.0.0.9 \\"GET /p/\\" 200"' in line


def test_celery_task_lines_never_carry_the_tasks_arguments():
    from config.logs import JsonFormatter

    record = logging.makeLogRecord(
        {
            "name": "celery.app.trace",
            "msg": "Task %(name)s[%(id)s] succeeded",
            "args": {"name": "accounts.send_email", "id": "t1"},
            "data": {
                "id": "t1",
                "name": "accounts.send_email",
                "runtime": 0.2,
                "args": [],
                "kwargs": {"to": "buyer@example.com", "text": "https://x/confirm/SIGNED"},
                "return_value": "secret",
            },
        }
    )

    line = JsonFormatter().format(record)
    assert "buyer@example.com" not in line and "SIGNED" not in line and "secret" not in line
    assert '"data": {"id": "t1", "name": "accounts.send_email", "runtime": 0.2}' in line
