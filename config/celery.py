"""The Celery app; beat runs django-celery-beat's DatabaseScheduler with schedules from code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("coprod")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.celery.heartbeat")
def heartbeat() -> str:
    """Proves beat and a worker are alive; billing tasks join the schedule in later issues."""
    return "ok"
