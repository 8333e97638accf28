"""Error tracking with Sentry, switched on only by SENTRY_DSN (called from local.py and
production.py; test settings never call it).

Django and Celery errors are reported with the request id as a tag; the Celery integration's
`monitor_beat_tasks` turns every beat schedule into a Sentry cron monitor, so a beat that stops
sending (or a worker that stops running what it sends) raises an alert. No personal data is
sent (send_default_pii off)."""

import os


def init_sentry(*, dsn: str, environment: str) -> bool:
    """Initialise sentry-sdk when `dsn` is set; returns whether it did."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=os.environ.get("SENTRY_ENVIRONMENT", environment),
        release=os.environ.get("SENTRY_RELEASE") or None,
        send_default_pii=False,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=True)],
    )
    return True


def tag_request_id(request_id: str) -> None:
    """The request id on whatever Sentry reports from here on (a no-op without Sentry)."""
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        sentry_sdk.set_tag("request_id", request_id)
