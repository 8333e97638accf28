"""Log records for people and for machines: one LOGGING shape for every environment, JSON lines
on stdout in production (LOG_FORMAT=json), readable lines elsewhere; every record carries the
request id (config.request_id) and, inside a Celery task, the task's name.

The standard library's logging plus a 30-line formatter: Django, Celery, gunicorn and
allauth all log through it already, and nothing else is needed to turn a record into JSON."""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=`.
RECORD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (or "-") and task name on the record (on the handler, so
    records from every logger get them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from config.request_id import request_id, task_name

        # Django logs a 4xx/5xx response after the middleware is done: its record names the
        # request, which still has its id.
        rid = request_id.get() or getattr(getattr(record, "request", None), "request_id", None)
        access = _access_atoms(record)
        if access:  # gunicorn's access line: the id the response carried
            rid = rid or access.get("{x-request-id}o")
        record.request_id = rid or "-"
        name = task_name.get()
        if name:
            record.task = name
        return True


def _access_atoms(record: logging.LogRecord) -> dict | None:
    """The values of a gunicorn access line (config/gunicorn.py), else None."""
    if record.name == "gunicorn.access" and isinstance(record.args, dict):
        return record.args
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the
    record's `extra` fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in RECORD_ATTRS and key not in entry:
                entry[key] = value
        if isinstance(entry.get("data"), dict) and record.name.startswith("celery"):
            # Celery's task lines carry the task's arguments and return value: an email's
            # address and text (with its signed links) must not reach the logs.
            entry["data"] = {k: v for k, v in entry["data"].items() if k in CELERY_DATA_KEPT}
        request = entry.pop("request", None)  # django.request's records carry the request
        if request is not None and hasattr(request, "path"):
            entry.setdefault("method", request.method)
            entry.setdefault("path", request.path)
        access = _access_atoms(record)
        if access:
            entry.update(
                method=access.get("m"),
                path=access.get("U"),
                status=access.get("s"),
                duration_ms=access.get("M"),
                remote_addr=access.get("h"),
            )
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


CELERY_DATA_KEPT = ("id", "name", "runtime", "exc", "hostname")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, fmt: str = "text", level: str = "INFO") -> dict:
    """LOGGING for the settings: `fmt` is "json" or "text"."""
    if fmt not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'text', not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "config.logs.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "filters": ["request_id"],
                "formatter": fmt,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Money events are always written, whatever LOG_LEVEL says (config.money_log).
            "coprod.money": {"level": "INFO"},
        },
    }
