"""Shared pytest set-up: browser tests drive Playwright's sync API inside pytest-django."""

import os

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
