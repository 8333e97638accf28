"""Schemathesis against the served OpenAPI schema (/api/v1/openapi.json, through the WSGI
application): generated valid and invalid requests for every operation, sent with a
read-and-write token of a producer who has data; no answer is a 500, and every answer
conforms to the schema (status code, content type, body, headers). A second pass calls each
operation with the world's real ids, so the 200s are checked too, not only the 404s."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from tests.api.conftest import producer_world, token_for
from tests.factories import AffiliationFactory

pytestmark = pytest.mark.django_db

# ~25 examples per operation keep the whole run near half a minute on a CI machine; the same
# ones every run (derandomized), so CI's verdict does not depend on the draw. Run more, drawn
# afresh, with API_FUZZ_EXAMPLES=150 API_FUZZ_RANDOM=1 (150 passed twice when this was written).
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
DERANDOMIZE = not os.environ.get("API_FUZZ_RANDOM")


def _served_schema():
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


# Loaded once, when the tests are collected (the schema view reads no database).
schema = _served_schema()


@pytest.fixture
def api_schema():
    return schema


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through Django's whole WSGI handler, which closes the database connection
    after each one (the test's transaction with it); Django's test client keeps it open the
    same way, by not listening."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Schemathesis sends the Bearer scheme's credentials itself (so it also checks that leaving
# them out is refused); some cases are made while collecting, before any test's world exists,
# so they carry this stand-in, swapped for the world's token when the case is sent.
STAND_IN = "world-token"


@schema.auth()
class _Bearer:
    def get(self, case, context):
        return STAND_IN

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture
def world_token(db):
    return token_for(producer_world().producer, "write")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_conforms(case, world_token):
    # A cursor is opaque: any string fits its schema, but only those the API gave out are
    # cursors; the rest are a 422 (tests/api/test_sales.py), which this check would call a
    # valid request refused. Pages are walked with real cursors in test_sales.py.
    if case.query:
        case.query.pop("cursor", None)
    if case.headers and case.headers.get("Authorization") == f"Bearer {STAND_IN}":
        case.headers["Authorization"] = f"Bearer {world_token}"
    case.call_and_validate()


def test_every_operation_with_real_ids_conforms(api_schema):
    world = producer_world()
    second = AffiliationFactory(product=world.product)
    headers = {"Authorization": f"Bearer {token_for(world.producer, 'write')}"}
    ids = {
        "sale_id": world.sale.pk,
        "subscription_id": world.subscription.pk,
        "contract_id": world.contract.pk,
        "affiliation_id": world.pending.pk,
    }
    statuses = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        names = [p.name for p in operation.path_parameters]
        values = {**ids, "affiliation_id": second.pk} if "refuse" in operation.path else ids
        kwargs = {"path_parameters": {n: values[n] for n in names}} if names else {}
        if operation.method.upper() == "POST":
            kwargs["body"] = {}
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)
        response = case.call_and_validate(headers=headers)
        statuses[(operation.method.upper(), operation.path)] = response.status_code
    assert {k: v for k, v in statuses.items() if v not in (200, 201)} == {}
