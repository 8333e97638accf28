"""gunicorn's settings for the web process (Procfile: `gunicorn -c config/gunicorn.py
config.wsgi`): its own error and access logs go through config.logs like the app's (JSON lines
in production, LOG_FORMAT=text for readable ones), each access line with the request id the app
answered with (X-Request-ID), its status and its duration. Responses carry no Server header."""

import gc
import os

from gunicorn.http import wsgi

from config.logs import logging_config

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# gunicorn 25+ opens a control socket (for `gunicornc`) at one path per user, so a second
# instance on the host fails to bind it and logs an error. Off unless GUNICORN_CONTROL_SOCKET
# names a path of this instance's own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# No handler of gunicorn's own: its loggers reach the root handler configured below.
accesslog = None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
# As the settings do: JSON lines in production, readable lines elsewhere.
_production = os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
logconfig_dict = logging_config(
    fmt=os.environ.get("LOG_FORMAT", "json" if _production else "text"),
    level=os.environ.get("LOG_LEVEL", "INFO"),
)
logconfig_dict["loggers"] |= {
    "gunicorn.error": {"level": "INFO", "propagate": True},
    "gunicorn.access": {"level": "INFO", "propagate": True},
}


# The garbage collector: a worker's modules, models and URL patterns, loaded once, are set aside
# (gc.freeze) so that no collection walks them again, and the youngest generation is collected
# after 5 000 new objects instead of 700: a page that builds 50 rows of model instances and
# dicts triggered a collection every few hundred microseconds, ~3 ms of a 25 ms request
# (benchmarks/profile_web.py; ~1.3 ms with these). GC_THRESHOLD="" keeps Python's defaults.
GC_THRESHOLD = os.environ.get("GC_THRESHOLD", "5000,10,10")


def post_worker_init(worker):
    """gunicorn's hook, in each worker once the application is loaded."""
    if GC_THRESHOLD:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*(int(part) for part in GC_THRESHOLD.split(",")))


class _ResponseWithoutServer(wsgi.Response):
    """gunicorn writes `Server: gunicorn` on every response and has no setting to leave it out;
    naming the server tells a scanner which exploits to try, and no client needs it. Loaded
    here, in the master, before it forks its workers (tests/security/test_headers.py starts one)."""

    def default_headers(self):
        return [line for line in super().default_headers() if not line.startswith("Server:")]


wsgi.Response = _ResponseWithoutServer
