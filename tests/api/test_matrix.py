"""The authorization matrix, over every endpoint: producer A's token never sees producer B's
products, sales, subscribers, contracts (lists leave them out, details are 404); a cocreator's
token sees only their own share; no token, a wrong one or a revoked one is 401; a read-only
token cannot write (403); a write by someone who is not the producer is 404."""

import pytest

from accounts import api_tokens
from tests.api.conftest import ApiClient, api_as, error_code, producer_world, token_for

pytestmark = pytest.mark.django_db

# Every operation of the schema, with its path parameters filled from a world.
READS = [
    "/me",
    "/products",
    "/sales",
    "/sales/{sale}",
    "/earnings/monthly",
    "/ledger",
    "/affiliations",
    "/subscriptions",
    "/subscriptions/{subscription}",
    "/subscriptions/{subscription}/recurrences",
    "/contracts",
    "/contracts/{contract}",
    "/contracts/{contract}/change-requests",
    "/contracts/{contract}/history",
    "/withdrawals",
]
WRITES = [
    "/affiliations/{pending}/approve",
    "/affiliations/{pending}/refuse",
    "/sales/{sale}/refund",
]


def fill(path: str, world) -> str:
    return path.format(
        sale=world.sale.pk,
        subscription=world.subscription.pk,
        contract=world.contract.pk,
        pending=world.pending.pk,
    )


@pytest.fixture
def worlds():
    return producer_world(), producer_world()


def test_the_lists_cover_every_operation_of_the_schema():
    from config.api import api

    paths = {
        (method, path.removeprefix("/api/v1"))
        for path, item in api.get_openapi_schema()["paths"].items()
        for method in item
    }
    listed = {("get", p.replace("{sale}", "{sale_id}")) for p in READS} | {
        ("post", p) for p in WRITES
    }

    def shape(path: str) -> str:
        import re

        return re.sub(r"\{[^}]+\}", "{}", path)

    assert {(m, shape(p)) for m, p in paths} == {(m, shape(p)) for m, p in listed}


@pytest.mark.parametrize("path", READS + WRITES)
def test_no_token_a_wrong_one_or_a_revoked_one_is_401(worlds, path):
    a, _ = worlds
    token, plaintext = api_tokens.create(a.producer, "x", "write")
    api_tokens.revoke(token)
    for client in (ApiClient(None), ApiClient("cpd_wrong"), ApiClient(plaintext)):
        url = fill(path, a)
        response = client.post(url) if path in WRITES else client.get(url)
        assert response.status_code == 401, (path, response.content)
        assert error_code(response) == "unauthorized"
        assert response.json()["error"]["message"]
    # Another scheme in the header is no token either.
    client = ApiClient(None)
    send = client.client.post if path in WRITES else client.client.get
    response = send("/api/v1" + fill(path, a), headers={"Authorization": "Basic x"})
    assert response.status_code == 401


@pytest.mark.parametrize("path", WRITES)
def test_a_read_only_token_cannot_write(worlds, path):
    a, _ = worlds
    response = api_as(a.producer, "read").post(fill(path, a))
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
    a.pending.refresh_from_db()
    a.sale.refresh_from_db()
    assert a.pending.status == "pending" and a.sale.refunded_minor == 0


@pytest.mark.parametrize("path", WRITES)
def test_a_write_on_someone_elses_row_is_404(worlds, path):
    a, b = worlds
    for person in (b.producer, a.cocreator, a.affiliate, a.sale.buyer):
        response = api_as(person, "write").post(fill(path, a))
        assert response.status_code == 404, (person, response.content)
        assert error_code(response) == "not_found"
    a.pending.refresh_from_db()
    a.sale.refresh_from_db()
    assert a.pending.status == "pending" and a.sale.refunded_minor == 0


@pytest.mark.parametrize("path", [p for p in READS if "{" in p])
def test_producer_b_gets_404_for_producer_as_rows(worlds, path):
    a, b = worlds
    response = api_as(b.producer).get(fill(path, a))
    assert response.status_code == 404, response.content
    assert error_code(response) == "not_found"
    # And their own are found.
    assert api_as(b.producer).get(fill(path, b)).status_code == 200


def _ids(client, path, **params) -> set[int]:
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_producer_as_lists_hold_nothing_of_producer_b(worlds):
    a, b = worlds
    client = api_as(a.producer)
    assert _ids(client, "/products") == {a.product.pk, a.plan.product_id}
    assert _ids(client, "/sales") == {a.sale.pk, a.recurrence.sale_id}
    for role in ("cocreator", "affiliate"):
        assert _ids(client, "/sales", role=role) == set()
    assert _ids(client, "/affiliations") == {a.affiliation.pk, a.pending.pk}
    assert _ids(client, "/subscriptions") == {a.subscription.pk}
    assert _ids(client, "/subscriptions", role="buyer") == set()
    assert _ids(client, "/contracts") == {a.contract.pk}
    assert _ids(client, "/withdrawals") == set()
    ledger = client.get("/ledger").json()["results"]
    assert ledger and {e["sale_id"] for e in ledger} <= {a.sale.pk, a.recurrence.sale_id}
    assert {e["role"] for e in ledger} == {"producer"}
    b_ids = {b.product.pk, b.sale.pk, b.subscription.pk, b.contract.pk}
    every = client.get("/sales").content + client.get("/contracts").content
    assert b.producer.email.encode() not in every
    assert b.cocreator.email.encode() not in every
    assert b_ids  # the sets above are exact, so none of these is in them


def test_a_cocreator_sees_only_their_own_share_everywhere(worlds):
    a, _ = worlds
    client = api_as(a.cocreator)
    (sale,) = client.get("/sales", {"role": "cocreator"}).json()["results"]
    assert [line["beneficiary_email"] for line in sale["split"]] == [a.cocreator.email]
    assert client.get(f"/sales/{a.sale.pk}").json()["split"] == sale["split"]
    raw = client.get("/sales").content + client.get(f"/sales/{a.sale.pk}").content
    for other in (a.producer.email, a.affiliate.email, a.sale.buyer.email):
        assert other.encode() not in raw
    assert _ids(client, "/products") == set()
    assert _ids(client, "/subscriptions") == set()
    assert _ids(client, "/affiliations") == set()
    assert _ids(client, "/contracts") == {a.contract.pk}
    assert _ids(client, "/contracts", role="producer") == set()
    (entry,) = client.get("/ledger").json()["results"]
    assert entry["role"] == "cocreator" and entry["amount"]["amount_minor"] == 582
    # The contract's rows are the cocreator's to read.
    assert _ids(client, f"/contracts/{a.contract.pk}/change-requests") == {a.change.pk}
    assert client.get(f"/contracts/{a.contract.pk}/history").json()["results"]


def test_an_affiliate_sees_only_their_commission(worlds):
    a, _ = worlds
    client = api_as(a.affiliate)
    (sale,) = client.get("/sales").json()["results"]
    assert sale["role"] == "affiliate"
    assert sale["split"][0]["net"]["amount_minor"] == 3136
    assert len(sale["split"]) == 1
    assert _ids(client, "/contracts") == set()
    assert client.get(f"/contracts/{a.contract.pk}").status_code == 404


def test_the_buyer_sees_their_subscription_not_the_sales_split(worlds):
    a, _ = worlds
    buyer = a.subscription.buyer
    client = api_as(buyer)
    assert _ids(client, "/subscriptions", role="buyer") == {a.subscription.pk}
    assert _ids(client, "/subscriptions") == set()  # default: as producer
    detail = client.get(f"/subscriptions/{a.subscription.pk}").json()
    assert detail["your_role"] == "buyer"
    assert client.get(f"/subscriptions/{a.subscription.pk}/recurrences").status_code == 200
    for role in ("producer", "cocreator", "affiliate"):
        assert _ids(client, "/sales", role=role) == set()
    assert client.get(f"/sales/{a.recurrence.sale_id}").status_code == 404


def test_tokens_of_two_people_never_mix(worlds):
    a, b = worlds
    first = ApiClient(token_for(a.producer))
    second = ApiClient(token_for(b.producer))
    assert first.get("/me").json()["email"] == a.producer.email
    assert second.get("/me").json()["email"] == b.producer.email
