"""/healthz and /readyz: what each checks, the 503s, and that probes skip the rest of the stack
(no host check, no HTTPS redirect, no cookies, no caching, no session query)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from kombu import Connection
from kombu.exceptions import OperationalError as BrokerError

from config.health import HEARTBEAT_TASK
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def beat_heartbeat(age: timedelta) -> PeriodicTask:
    """The row django-celery-beat's DatabaseScheduler keeps for the heartbeat entry."""
    return PeriodicTask.objects.create(
        name="heartbeat",
        task=HEARTBEAT_TASK,
        crontab=CrontabSchedule.objects.create(minute="*/5"),
        last_run_at=timezone.now() - age,
    )


def assert_never_cached(response):
    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]
    assert not response.cookies
    assert "Vary" not in response


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert_never_cached(response)


def test_readyz_is_ready_with_database_broker_and_a_recent_heartbeat(
    client, django_assert_num_queries
):
    beat_heartbeat(timedelta(minutes=4))

    # SELECT 1 and the heartbeat's row: no session, user or locale query.
    with django_assert_num_queries(2):
        response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "beat": True,
    }
    assert 230 <= body["checks"]["beat"]["age_seconds"] <= 250
    assert body["checks"]["beat"]["max_age_seconds"] == 15 * 60
    assert_never_cached(response)


def test_readyz_is_503_when_the_heartbeat_is_older_than_the_limit(client, settings):
    settings.HEALTH_HEARTBEAT_MAX_AGE = 10 * 60
    beat_heartbeat(timedelta(minutes=11))

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["beat"]["ok"] is False
    assert body["checks"]["beat"]["max_age_seconds"] == 600
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert_never_cached(response)

    settings.HEALTH_HEARTBEAT_MAX_AGE = 12 * 60  # the same heartbeat, within a longer limit
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_beat_never_sent_a_heartbeat(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {
        "ok": False,
        "error": "no heartbeat recorded",
        "max_age_seconds": 15 * 60,
        "ms": mock.ANY,
    }


def test_a_disabled_heartbeat_entry_does_not_count(client):
    beat_heartbeat(timedelta(minutes=1))
    PeriodicTask.objects.update(enabled=False)

    assert client.get("/readyz").status_code == 503


def test_readyz_is_503_when_the_broker_is_down(client):
    beat_heartbeat(timedelta(minutes=1))

    with mock.patch.object(
        Connection, "ensure_connection", side_effect=BrokerError("Connection refused")
    ) as connect:
        response = client.get("/readyz")

    connect.assert_called_once_with(max_retries=0)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["error"] == "OperationalError"
    assert checks["database"]["ok"] and checks["beat"]["ok"]


def test_readyz_is_503_when_the_database_is_down(client):
    broken = mock.MagicMock()
    broken.cursor.side_effect = OperationalError("could not connect to server")

    with mock.patch("config.health.connection", broken):
        response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError", "ms": mock.ANY}
    assert checks["beat"] == {"ok": False, "error": "database unavailable"}
    assert checks["broker"]["ok"] is True


def test_probes_skip_the_host_check_and_the_https_redirect(client, settings):
    """A load balancer probes the instance over plain HTTP at its own address."""
    settings.ALLOWED_HOSTS = ["coprod.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    beat_heartbeat(timedelta(minutes=1))

    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # the rest of the site
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/", HTTP_HOST="coprod.example.com").status_code == 301


def test_probes_ignore_a_session_and_set_no_cookie(client, django_assert_num_queries):
    client.force_login(UserFactory())

    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert not response.cookies
    assert "X-Request-ID" not in response  # answered before any other middleware


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_only_answer_get_and_head(client, path):
    assert client.post(path).status_code == 405
    assert client.head(path).status_code in (200, 503)


def test_the_url_names_resolve_to_the_same_views():
    from django.urls import resolve, reverse

    from config import health

    assert reverse("healthz") == "/healthz"
    assert resolve("/readyz").func is health.readyz


def test_not_ready_is_one_warning_not_an_error_per_probe(client, json_logs):
    response = client.get("/readyz")  # no heartbeat yet

    assert response.status_code == 503
    lines = [line for line in json_logs.lines if line["level"] in ("WARNING", "ERROR")]
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("config.health", "WARNING", "not ready: beat")
    ]
