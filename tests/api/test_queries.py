"""Every list endpoint costs the same number of queries for 1 row as for 50: each page is one
query plus its prefetches, whatever it holds."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import api_tokens
from coproduction.models import ContractEvent, Withdrawal
from products.models import Product, Sale
from subscriptions.models import Recurrence
from tests.api.conftest import ApiClient
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.factories import (
    AffiliationFactory,
    PayoutAccountFactory,
    PlanFactory,
    ProductFactory,
)
from tests.sales.test_earnings import co_produce, paid_sales, worked_case
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def world_of(n: int):
    """A producer with n of everything each list shows; the cocreator and the affiliate earn
    on n sales and the cocreator co-produces n products."""
    case = worked_case()
    if n > 1:
        paid_sales(case, n - 1)
    cocreator_products = [ProductFactory(producer=case.producer) for _ in range(n - 1)]
    for product in cocreator_products:
        co_produce(product, case.cocreator, "5")
    club = Product.objects.create(
        producer=case.producer, name="Club", kind="subscription", currency="BRL"
    )
    plan = PlanFactory(product=club)
    for _ in range(n):
        PlanFactory(product=plan.product, name=f"Plan {uuid.uuid4().hex[:6]}")
    for _ in range(n - 1):
        AffiliationFactory(product=case.product)
    subscriptions = [SubscriptionFactory(plan=plan, status="active") for _ in range(n)]
    today = timezone.localdate()
    first = subscriptions[0]
    sales = Sale.objects.bulk_create(
        Sale(
            product=plan.product,
            buyer=first.buyer,
            subscription=first,
            amount_minor=4990,
            currency="BRL",
            method="card",
            country="BR",
            checkout_key=uuid.uuid4().hex,
        )
        for _ in range(n)
    )
    Recurrence.objects.bulk_create(
        Recurrence(
            subscription=first,
            number=number,
            due_date=today,
            amount_minor=4990,
            sale=sale,
            window_closes_at=timezone.now() + dt.timedelta(days=5),
        )
        for number, sale in enumerate(sales, start=1)
    )
    for _ in range(n):
        ChangeRequestFactory(contract=case.contract, accepted=True)
    for _ in range(n - 1):
        ContractEvent.objects.create(contract=case.contract, action="resent")
    account = PayoutAccountFactory(user=case.cocreator)
    for index in range(n):
        Withdrawal.objects.create(
            party=case.cocreator,
            currency="BRL",
            amount_minor=1000,
            fee_minor=100,
            payout_account=account,
            idempotency_key=f"{uuid.uuid4().hex}-{index}",
        )
    for _ in range(n - 1):
        ContractFactory(product=ProductFactory(producer=case.producer), active=True)
    case.subscription = subscriptions[0]
    return case


def client_for(user) -> ApiClient:
    _token, plaintext = api_tokens.create(user, "q", "read")
    return ApiClient(plaintext)


def lists(case):
    """(who, path, params, expected rows)"""
    return [
        (case.producer, "/products", {}, None),
        (case.producer, "/sales", {}, None),
        (case.cocreator, "/sales", {"role": "cocreator"}, None),
        (case.affiliate, "/sales", {"role": "affiliate"}, None),
        (case.cocreator, "/ledger", {}, None),
        (case.cocreator, "/earnings/monthly", {}, None),
        (case.producer, "/affiliations", {}, None),
        (case.producer, "/subscriptions", {}, None),
        (case.producer, f"/subscriptions/{case.subscription.pk}/recurrences", {}, None),
        (case.producer, "/contracts", {}, None),
        (case.cocreator, "/contracts", {}, None),
        (case.producer, f"/contracts/{case.contract.pk}/change-requests", {}, None),
        (case.producer, f"/contracts/{case.contract.pk}/history", {}, None),
        (case.cocreator, "/withdrawals", {}, None),
    ]


def measure(case) -> dict[tuple[str, str], tuple[int, int]]:
    clients = {}
    result = {}
    for who, path, params, _ in lists(case):
        client = clients.get(who.pk) or clients.setdefault(who.pk, client_for(who))
        client.get("/me")  # the token's last use is written once a minute: not measured
        with CaptureQueriesContext(connection) as queries:
            paged = {} if path == "/earnings/monthly" else {"limit": 100}
            response = client.get(path, {**paged, **params})
        assert response.status_code == 200, response.content
        body = response.json()
        result[(who.email.split("@")[0] + path, str(params))] = (
            len(queries),
            len(body["results"]),
        )
    return result


def test_list_queries_do_not_grow_with_rows():
    small = measure(world_of(1))
    large = measure(world_of(50))
    for (key, small_value), large_value in zip(small.items(), large.values(), strict=True):
        small_queries, small_rows = small_value
        large_queries, large_rows = large_value
        assert small_queries == large_queries, (key, small_queries, large_queries)
        if "earnings" not in key[0]:  # one month, whatever the number of sales
            assert large_rows >= 50 > small_rows, (key, small_rows, large_rows)
