"""Settings that let several instances share a host and a connection pooler (README, several
hosts): gunicorn opens no per-user control socket that a second instance would collide on,
and PgBouncer's transaction mode can turn server-side cursors off."""

import os
import runpy
import subprocess
import sys

from django.conf import settings


def gunicorn_config(**env) -> dict:
    saved = dict(os.environ)
    os.environ.pop("GUNICORN_CONTROL_SOCKET", None)
    os.environ.update(env)
    try:
        return runpy.run_path(str(settings.BASE_DIR / "config" / "gunicorn.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_gunicorn_opens_no_control_socket_unless_given_its_own():
    assert gunicorn_config().get("control_socket_disable") is True

    own = gunicorn_config(GUNICORN_CONTROL_SOCKET="/run/coprod/web1.ctl")
    assert own["control_socket"] == "/run/coprod/web1.ctl"
    assert "control_socket_disable" not in own


def server_side_cursors_disabled(**env) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS'])",
        ],
        env=environment,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=True,
    ).stdout.strip()


def test_server_side_cursors_can_be_turned_off_for_pgbouncer():
    assert server_side_cursors_disabled() == "False"
    assert server_side_cursors_disabled(DB_DISABLE_SERVER_SIDE_CURSORS="1") == "True"


def test_each_gunicorn_worker_sets_its_loaded_code_aside_from_the_garbage_collector():
    import gc

    saved = gc.get_threshold()
    try:
        before = gc.get_freeze_count()
        gunicorn_config()["post_worker_init"](worker=None)
        assert gc.get_threshold() == (5000, 10, 10)
        assert gc.get_freeze_count() > before
        gc.unfreeze()
        gc.set_threshold(*saved)
        gunicorn_config(GC_THRESHOLD="")["post_worker_init"](worker=None)
        assert gc.get_threshold() == saved
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
