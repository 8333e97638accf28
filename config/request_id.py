"""One id per request, on every log line it causes and in every Celery task it enqueues.

The id is the incoming `X-Request-ID` when it is well-formed (a proxy or a client chose it),
else a new one; the response echoes it. Celery carries it in a message header
(`before_task_publish`) and the worker restores it while the task runs (`task_prerun`), so a
charge collected by a worker logs the id of the checkout that enqueued it. Beat's own tasks get
a fresh id per run. config.logs.RequestIdFilter puts it on the records."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING

from celery import signals

from config.sentry import tag_request_id

if TYPE_CHECKING:  # config/__init__ imports this (via the Celery app) before settings exist
    from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# Letters, digits and . _ : - only, 8 to 128 of them: enough for a UUID or a proxy's trace id,
# nothing that could forge a log line or a header.
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_name: ContextVar[str | None] = ContextVar("task_name", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The caller's id if it is well-formed, else a new one."""
    if value and WELL_FORMED.fullmatch(value):
        return value
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = accepted_request_id(request.headers.get(HEADER))
        request.request_id = rid
        token = request_id.set(rid)
        tag_request_id(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = rid
        return response


@signals.before_task_publish.connect(dispatch_uid="coprod.request_id.publish")
def _add_request_id_header(headers=None, **kwargs):
    rid = request_id.get()
    if rid and headers is not None:
        headers.setdefault(TASK_HEADER, rid)


_task_tokens: dict[str, tuple] = {}


@signals.task_prerun.connect(dispatch_uid="coprod.request_id.prerun")
def _restore_request_id(task_id=None, task=None, **kwargs):
    # Protocol 2 puts custom headers on the request itself; an eager apply (tests) keeps them in
    # `headers`, and runs in the caller's context anyway.
    rid = getattr(task.request, TASK_HEADER, None) or (task.request.headers or {}).get(TASK_HEADER)
    rid = accepted_request_id(rid or request_id.get())
    _task_tokens[task_id] = (request_id.set(rid), task_name.set(task.name))
    tag_request_id(rid)


@signals.task_postrun.connect(dispatch_uid="coprod.request_id.postrun")
def _forget_request_id(task_id=None, **kwargs):
    tokens = _task_tokens.pop(task_id, None)
    if tokens is None:
        return
    try:
        request_id.reset(tokens[0])
        task_name.reset(tokens[1])
    except ValueError:  # a pool that ran prerun in another context: forget the values instead
        request_id.set(None)
        task_name.set(None)
