"""The API tests' tools: a client that sends a token, tokens of each scope, and a clean rate
limit count for every test (the limits live in Django's cache)."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from accounts import api_tokens

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


class ApiClient:
    """Django's test client with `Authorization: Bearer …` (or none)."""

    def __init__(self, plaintext: str | None):
        self.client = Client()
        self.plaintext = plaintext

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.plaintext}"} if self.plaintext else {}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(API + path, params or {}, headers=self._headers())

    def post(self, path: str, body: dict | None = None):
        return self.client.post(
            API + path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(),
        )


def token_for(user, scope: str = "read", name: str = "test") -> str:
    return api_tokens.api_token_create(user=user, name=name, scope=scope)[1]


def api_as(user, scope: str = "read") -> ApiClient:
    return ApiClient(token_for(user, scope))


def error_code(response) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]["code"]


# ------------------------------------------------------------------------------- the world


def producer_world(producer=None):
    """One producer's whole business, through the real services: the SPEC's worked sale
    (100.00 through a 35 % affiliate with a 10 % cocreator), a pending affiliation request, a
    pending change of the contract's terms, and a subscription plan with one paying
    subscriber."""
    from types import SimpleNamespace

    from tests.coproduction.factories import ChangeRequestFactory
    from tests.factories import AffiliationFactory, PlanFactory, ProductFactory
    from tests.sales.test_earnings import worked_case
    from tests.subscriptions.factories import subscribe

    case = worked_case(producer=producer)
    pending = AffiliationFactory(product=case.product)
    change = ChangeRequestFactory(contract=case.contract)
    plan = PlanFactory(product=ProductFactory(producer=case.producer, subscription=True))
    subscription = subscribe(plan)
    subscription.refresh_from_db()
    return SimpleNamespace(
        **vars(case),
        pending=pending,
        change=change,
        plan=plan,
        subscription=subscription,
        recurrence=subscription.recurrences.get(number=1),
    )
