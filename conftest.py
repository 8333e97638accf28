"""Shared pytest set-up: browser tests drive Playwright's sync API inside pytest-django."""

import os

from hypothesis import settings as hypothesis_settings

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Property tests run services against PostgreSQL on shared CI machines: an example's time
# varies with the load, so no example has a deadline (a slow one is not a wrong one).
hypothesis_settings.register_profile("project", deadline=None)
hypothesis_settings.load_profile("project")


def pytest_configure(config):
    """Screens in pt-BR and es need compiled catalogs; `make` compiles them, a bare `pytest`
    after editing a .po file would otherwise test the old text."""
    from config.i18n import compile_stale

    compile_stale()


def pytest_runtest_logreport(report):
    """In CI a skipped browser test is a failure: they must really run there."""
    if os.environ.get("CI") and report.skipped and "tests/e2e/" in report.nodeid:
        _skipped_e2e.append(report.nodeid)


_skipped_e2e: list[str] = []


def pytest_sessionfinish(session, exitstatus):
    if _skipped_e2e:
        print(f"\nCI: browser tests were skipped, which counts as a failure: {_skipped_e2e}")
        session.exitstatus = 1
