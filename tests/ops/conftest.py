"""Log capture through the project's own filter and JSON formatter (config.logs)."""

import io
import json
import logging

import pytest

from config.logs import JsonFormatter, RequestIdFilter


class JsonLines:
    def __init__(self):
        self.stream = io.StringIO()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def of(self, logger: str) -> list[dict]:
        return [line for line in self.lines if line["logger"] == logger]


@pytest.fixture
def json_logs():
    """Every record that reaches the root logger, as the production handler would write it."""
    capture = JsonLines()
    handler = logging.StreamHandler(capture.stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
