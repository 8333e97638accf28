"""Sentry is switched on by SENTRY_DSN alone, with the Django and Celery integrations and beat's
schedules monitored; without it (and always in tests) nothing is initialised."""

import json
import os
import subprocess
import sys
from pathlib import Path

import sentry_sdk

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json, sentry_sdk; django.setup(); c = sentry_sdk.get_client(); "
    "celery = c.integrations.get('celery'); print(json.dumps({'active': c.is_active(), "
    "'integrations': sorted(c.integrations), 'environment': c.options['environment'], "
    "'pii': c.options['send_default_pii'], "
    "'beat': bool(celery and celery.monitor_beat_tasks)}))"
)


def settings_loaded(module: str, **env: str) -> dict:
    """What sentry-sdk looks like once Django has loaded `module` in a fresh process."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    environ.update(DJANGO_SETTINGS_MODULE=module, PYTHONPATH=str(ROOT), **env)
    environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tests_run_without_sentry():
    assert not sentry_sdk.get_client().is_active()


def test_without_a_dsn_sentry_stays_off():
    assert settings_loaded("config.settings.local")["active"] is False


def test_a_dsn_switches_on_django_celery_and_beat_monitoring():
    # Nothing is sent: no error happens in the probe, and this address answers nothing.
    state = settings_loaded("config.settings.local", SENTRY_DSN="http://key@127.0.0.1:9/1")

    assert state["active"] is True
    assert {"django", "celery"} <= set(state["integrations"])
    assert state["beat"] is True
    assert state["environment"] == "development"
    assert state["pii"] is False


PRODUCTION = {
    "SECRET_KEY": "p" * 50,
    "ALLOWED_HOSTS": "coprod.example.com",
    "GATEWAY_WEBHOOK_SECRET": "g" * 40,
    "PAYOUT_WEBHOOK_SECRET": "p" * 40,
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def test_production_reports_only_with_a_dsn():
    assert settings_loaded("config.settings.production", **PRODUCTION)["active"] is False
    state = settings_loaded(
        "config.settings.production", SENTRY_DSN="http://key@127.0.0.1:9/1", **PRODUCTION
    )
    assert state["active"] is True
    assert state["environment"] == "production"
    assert state["beat"] is True
