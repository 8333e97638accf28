"""The Celery app; beat runs django-celery-beat's DatabaseScheduler with schedules from code."""

import os

from celery import Celery

# Request ids travel with the tasks a request enqueues (signal receivers, connected on import).
import config.request_id  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("coprod")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.celery.heartbeat")
def heartbeat() -> str:
    """Beat sends this every five minutes; the DatabaseScheduler records when it last did
    (PeriodicTask.last_run_at of the "heartbeat" entry), which /readyz reads as beat's heartbeat
    (config.health). Sentry's beat monitoring checks that a worker ran it."""
    return "ok"
