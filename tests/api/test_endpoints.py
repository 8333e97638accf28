"""The other read endpoints and the affiliation decisions: what each returns, its filters,
and that each resource builder gives what the API gives."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from coproduction import api as coproduction_api
from subscriptions import api as subscriptions_api
from tests.api.conftest import api_as, error_code, producer_world
from tests.factories import PlanFactory, ProductFactory, UserFactory
from tests.sales.test_earnings import worked_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return producer_world()


def test_products_with_their_plans(world):
    PlanFactory(product=world.plan.product, name="Yearly", periodicity="yearly", price_minor=49900)
    body = api_as(world.producer).get("/products").json()
    by_id = {p["id"]: p for p in body["results"]}
    one_time = by_id[world.product.pk]
    assert one_time["price"] == {"amount_minor": 10000, "currency": "BRL"}
    assert one_time["plans"] == [] and one_time["kind"] == "one_time"
    assert one_time["affiliates_approved"] == 1 and one_time["affiliates_pending"] == 1
    plans = by_id[world.plan.product_id]["plans"]
    assert [(p["name"], p["price"]["amount_minor"]) for p in plans] == [
        ("Monthly", 4990),
        ("Yearly", 49900),
    ]
    assert by_id[world.plan.product_id]["price"] is None


def test_products_filter_active(world):
    ProductFactory(producer=world.producer, is_active=False)
    client = api_as(world.producer)
    assert len(client.get("/products", {"active": "false"}).json()["results"]) == 1
    assert len(client.get("/products", {"active": "true"}).json()["results"]) == 2


def test_earnings_by_month_are_in_the_callers_time_zone():
    # Paid at 02:00 UTC on 1 December: still November in São Paulo (UTC-3).
    with time_machine.travel(dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC), tick=False):
        case = worked_case()
    client = api_as(case.cocreator)
    case.cocreator.time_zone = "America/Sao_Paulo"
    case.cocreator.save(update_fields=["time_zone"])
    (row,) = client.get("/earnings/monthly").json()["results"]
    assert row["month"] == "2026-11"
    assert row["net"] == {"amount_minor": 582, "currency": "BRL"}
    case.cocreator.time_zone = "UTC"
    case.cocreator.save(update_fields=["time_zone"])
    assert client.get("/earnings/monthly").json()["results"][0]["month"] == "2026-12"


def test_earnings_show_refunds_as_reversed(world):
    from products.services.sales import sale_refund

    sale_refund(sale=world.sale, actor=world.producer, amount_minor=5000)
    (row,) = api_as(world.affiliate).get("/earnings/monthly").json()["results"]
    assert row["gross"]["amount_minor"] == 3136
    assert row["reversed"]["amount_minor"] == -1568
    assert row["net"]["amount_minor"] == 1568


def test_ledger_filters(world):
    from products.services.sales import sale_refund

    sale_refund(sale=world.sale, actor=world.producer, amount_minor=5000)
    client = api_as(world.cocreator)
    everything = client.get("/ledger").json()["results"]
    assert [e["entry_type"] for e in everything] == ["refund", "split"]
    assert {e["product"]["id"] for e in everything} == {world.product.pk}
    assert everything[0]["refund_id"] and everything[1]["contract_id"] == world.contract.pk
    splits = client.get("/ledger", {"entry_type": "split"}).json()["results"]
    assert [e["amount"]["amount_minor"] for e in splits] == [582]
    assert client.get("/ledger", {"currency": "EUR"}).json()["results"] == []
    assert client.get("/ledger", {"created_after": "2999-01-01"}).json()["results"] == []
    assert len(client.get("/ledger", {"created_before": "2999-01-01"}).json()["results"]) == 2


def test_subscriptions_and_recurrences(world):
    client = api_as(world.producer)
    (row,) = client.get("/subscriptions").json()["results"]
    assert row["id"] == world.subscription.pk
    assert row["status"] == "active"
    assert row["buyer_email"] == world.subscription.buyer.email
    assert row["plan"]["price"] == {"amount_minor": 4990, "currency": "BRL"}
    assert client.get(f"/subscriptions/{world.subscription.pk}").json() == row
    assert client.get("/subscriptions", {"status": "overdue"}).json()["results"] == []
    (charge,) = client.get(f"/subscriptions/{world.subscription.pk}/recurrences").json()["results"]
    assert charge["number"] == 1 and charge["status"] == "paid"
    assert charge["sale_id"] == world.recurrence.sale_id
    assert charge["amount"]["amount_minor"] == 4990
    # The builders give the same rows.
    assert subscriptions_api.subscription_resource(world.subscription, world.producer.pk) == row
    assert subscriptions_api.recurrence_resource(world.recurrence, world.producer.pk) == charge
    buyer_view = subscriptions_api.subscription_resource(
        world.subscription, world.subscription.buyer_id
    )
    assert buyer_view["your_role"] == "buyer"
    with pytest.raises(LookupError):
        subscriptions_api.subscription_resource(world.subscription, world.cocreator.pk)
    with pytest.raises(LookupError):
        subscriptions_api.recurrence_resource(world.recurrence, world.cocreator.pk)


def test_contracts_change_requests_and_history(world):
    for person, role in ((world.producer, "producer"), (world.cocreator, "cocreator")):
        client = api_as(person)
        (contract,) = client.get("/contracts").json()["results"]
        assert contract["your_role"] == role
        assert contract["status"] == "active"
        assert contract["commission_percent"] == "10.00"
        assert contract["cocreator_email"] == world.cocreator.email
        assert client.get(f"/contracts/{world.contract.pk}").json() == contract
        assert coproduction_api.contract_resource(world.contract, person.pk) == contract
        (change,) = client.get(f"/contracts/{world.contract.pk}/change-requests").json()["results"]
        assert change["after"] == {"commission_percent": "20.00"}
        assert change["requested_by_email"] == world.producer.email
        assert coproduction_api.change_request_resource(world.change, person.pk) == change
        history = client.get(f"/contracts/{world.contract.pk}/history").json()["results"]
        assert [e["action"] for e in history][:2] == ["invited", "active"]
        assert history[0]["label"] == "Invitation sent"
    assert api_as(world.producer).get("/contracts", {"status": "ended"}).json()["results"] == []
    stranger = UserFactory()
    for builder, row in (
        (coproduction_api.contract_resource, world.contract),
        (coproduction_api.change_request_resource, world.change),
    ):
        with pytest.raises(LookupError):
            builder(row, stranger.pk)


def test_history_pages_oldest_first(world):
    client = api_as(world.producer)
    first = client.get(f"/contracts/{world.contract.pk}/history", {"limit": 1}).json()
    assert first["results"][0]["action"] == "invited" and first["next_cursor"]
    second = client.get(
        f"/contracts/{world.contract.pk}/history", {"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert second["results"][0]["action"] == "active"


def test_withdrawal_resource_is_the_partys_only():
    from coproduction.models import Withdrawal
    from tests.factories import PayoutAccountFactory

    user = UserFactory(validated=True)
    account = PayoutAccountFactory(user=user)
    withdrawal = Withdrawal.objects.create(
        party=user,
        currency="BRL",
        amount_minor=6000,
        fee_minor=150,
        payout_account=account,
        idempotency_key="w-1",
    )
    (row,) = api_as(user).get("/withdrawals").json()["results"]
    assert row["net"] == {"amount_minor": 5850, "currency": "BRL"}
    assert coproduction_api.withdrawal_resource(withdrawal, user.pk) == row
    assert api_as(user).get("/withdrawals", {"status": "paid"}).json()["results"] == []
    with pytest.raises(LookupError):
        coproduction_api.withdrawal_resource(withdrawal, UserFactory().pk)


def test_affiliations_list_and_decisions(world):
    client = api_as(world.producer, "write")
    (pending,) = client.get("/affiliations", {"status": "pending"}).json()["results"]
    assert pending["id"] == world.pending.pk
    assert pending["affiliate_email"] == world.pending.affiliate.email
    response = client.post(f"/affiliations/{world.pending.pk}/approve")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["decided_at"]
    world.pending.refresh_from_db()
    assert world.pending.status == "approved"
    # Deciding again is a conflict, in the service's words.
    again = client.post(f"/affiliations/{world.pending.pk}/refuse")
    assert again.status_code == 409
    assert error_code(again) == "conflict"
    assert "cannot become" in again.json()["error"]["message"]


def test_refuse(world):
    response = api_as(world.producer, "write").post(f"/affiliations/{world.pending.pk}/refuse")
    assert response.status_code == 200
    world.pending.refresh_from_db()
    assert world.pending.status == "refused"


# ------------------------------------------------------------------------ rate limits, errors


@override_settings(API_RATE_LIMITS={"read": 3, "write": 1})
def test_rate_limits_per_token_answer_429_with_retry_after(world):
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 0, 15, tzinfo=dt.UTC), tick=False):
        client = api_as(world.producer, "write")
        for _ in range(3):
            assert client.get("/me").status_code == 200
        limited = client.get("/products")
        assert limited.status_code == 429
        assert error_code(limited) == "rate_limited"
        assert limited["Retry-After"] == "45"
        assert limited.json()["error"]["details"] == {"retry_after": 45}
        # Another token of the same person has its own count; writes have theirs.
        assert api_as(world.producer).get("/me").status_code == 200
        assert client.post(f"/affiliations/{world.pending.pk}/refuse").status_code == 200
        assert client.post(f"/affiliations/{world.pending.pk}/approve").status_code == 429
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 1, 1, tzinfo=dt.UTC), tick=False):
        assert client.get("/me").status_code == 200  # the next minute


def test_unknown_paths_and_methods_are_not_html(world):
    client = api_as(world.producer)
    response = client.get("/no/such/thing")
    assert response.status_code == 404 and error_code(response) == "not_found"
    response = client.client.delete("/api/v1/products", headers=client._headers())
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert response["Allow"] == "GET"
    response = client.client.get(f"/api/v1/sales/{world.sale.pk}/refund", headers=client._headers())
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_me(world):
    body = api_as(world.producer, "write").get("/me").json()
    assert body["email"] == world.producer.email
    assert body["token"]["scope"] == "write" and body["token"]["prefix"].startswith("cpd_")


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    refund = body["paths"]["/api/v1/sales/{sale_id}/refund"]["post"]["responses"]
    assert {"201", "401", "403", "404", "409", "422", "429"} <= set(refund)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
