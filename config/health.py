"""Health endpoints: /healthz (the process answers, nothing else is touched) and /readyz
(PostgreSQL, the Celery broker and the age of beat's last heartbeat), both as JSON.

`HealthCheckMiddleware` comes right after the two middlewares that only add security headers
(they read no session and set no cookie) and answers before any other runs: a load balancer's
probe (plain HTTP, the instance's own address as Host) gets no HTTPS redirect, no
DisallowedHost, no session, CSRF or language cookie and no Vary, and costs no session lookup.
config/urls.py routes the same views, so they also answer without the middleware."""

import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

# Beat sends this task every five minutes (CELERY_BEAT_SCHEDULE) and django-celery-beat's
# DatabaseScheduler records when it last did: PeriodicTask.last_run_at, written to the database
# at least every beat sync (3 minutes). That record is beat's heartbeat.
HEARTBEAT_TASK = "config.celery.heartbeat"

logger = logging.getLogger(__name__)


def _answer(request: HttpRequest, body: dict, status: int) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"status": "method not allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
    else:
        response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving; no database, broker or cache is asked."""
    return _answer(request, {"status": "ok"}, 200)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check() or {}
        result["ok"] = result.get("ok", True)
    except Exception as exc:  # any failure is "not ready": say which kind, never the details
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def check_broker() -> dict:
    from config.celery import app

    # A new connection each time (a pooled one may look connected after the broker went away);
    # one try, no retry loop: a probe must answer within its own timeout.
    with app.connection_for_write(connect_timeout=settings.HEALTH_BROKER_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=0)
    return {}


def check_beat() -> dict:
    from django_celery_beat.models import PeriodicTask

    last = PeriodicTask.objects.filter(task=HEARTBEAT_TASK, enabled=True).aggregate(
        last=Max("last_run_at")
    )["last"]
    limit = settings.HEALTH_HEARTBEAT_MAX_AGE
    if last is None:
        return {"ok": False, "error": "no heartbeat recorded", "max_age_seconds": limit}
    age = (datetime.now(UTC) - last).total_seconds()
    return {
        "ok": age <= limit,
        "last_heartbeat": last.isoformat(),
        "age_seconds": round(age),
        "max_age_seconds": limit,
    }


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database and the broker answer and beat's heartbeat is recent; else 503."""
    checks = {"database": _timed(check_database), "broker": _timed(check_broker)}
    if checks["database"]["ok"]:
        checks["beat"] = _timed(check_beat)
    else:
        checks["beat"] = {"ok": False, "error": "database unavailable"}
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    response = _answer(request, body, 200 if ready else 503)
    if not ready:
        failing = ", ".join(name for name, check in checks.items() if not check["ok"])
        logger.warning("not ready: %s", failing, extra={"checks": checks})
        # Said once, as a warning: Django would log every probe's 503 as an ERROR (and Sentry
        # would make each one an event) while the monitor that probes is the one to alert.
        response._has_been_logged = True
    return response


VIEWS = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = VIEWS.get(request.path_info.rstrip("/"))
        if view is not None:
            return view(request)
        return self.get_response(request)
