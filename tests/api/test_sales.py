"""GET /sales and /sales/{id}: each role sees the sales and shares its Sales screen shows (the
producer every line of the split, a cocreator or an affiliate only their own), filtered,
paged by cursor; sale_resource gives the same thing; POST /sales/{id}/refund refunds as the
producer's refund screen does."""

import datetime as dt

import pytest
import time_machine

from products import api as products_api
from products.models import Sale
from tests.api.conftest import api_as, error_code
from tests.sales.test_earnings import paid_sales, worked_case

pytestmark = pytest.mark.django_db


def _money(amount, currency="BRL"):
    return {"amount_minor": amount, "currency": currency}


def test_the_producer_sees_every_share_of_the_worked_sale():
    case = worked_case()
    response = api_as(case.producer).get("/sales")
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    (sale,) = body["results"]
    assert sale["id"] == case.sale.pk
    assert sale["role"] == "producer"
    assert sale["amount"] == _money(10000)
    assert sale["channel"] == "affiliate"
    assert sale["buyer_email"] == case.sale.buyer.email
    assert sale["affiliate_email"] == case.affiliate.email
    assert sale["product"] == {"id": case.product.pk, "name": case.product.name}
    split = {(line["role"], line["beneficiary_email"]): line["net"] for line in sale["split"]}
    assert split == {
        ("platform", None): _money(1040),
        ("affiliate", case.affiliate.email): _money(3136),
        ("cocreator", case.cocreator.email): _money(582),
        ("producer", case.producer.email): _money(5242),
    }
    assert sale["paid_at"].endswith("Z")


@pytest.mark.parametrize(
    ("who", "role", "amount"), [("cocreator", "cocreator", 582), ("affiliate", "affiliate", 3136)]
)
def test_a_cocreator_or_affiliate_sees_only_their_own_share(who, role, amount):
    case = worked_case()
    person = getattr(case, who)
    client = api_as(person)
    (sale,) = client.get("/sales", {"role": role}).json()["results"]
    assert sale["role"] == role
    assert sale["buyer_email"] is None and sale["affiliate_email"] is None
    assert sale["split"] == [
        {
            "role": role,
            "beneficiary_email": person.email,
            "gross": _money(amount),
            "reversed": _money(0),
            "net": _money(amount),
        }
    ]
    # The default role is theirs, and the detail is the same row.
    assert client.get("/sales").json()["results"] == [sale]
    assert client.get(f"/sales/{case.sale.pk}").json() == sale
    # Not as producer: nothing listed, and the detail in that role is not found.
    assert client.get("/sales", {"role": "producer"}).json()["results"] == []
    assert client.get(f"/sales/{case.sale.pk}", {"role": "producer"}).status_code == 404


def test_sale_resource_equals_the_api_for_each_viewer():
    case = worked_case()
    for person in (case.producer, case.cocreator, case.affiliate):
        api = api_as(person).get(f"/sales/{case.sale.pk}").json()
        assert products_api.sale_resource(case.sale, person.pk) == api
    with pytest.raises(LookupError):
        products_api.sale_resource(case.sale, case.sale.buyer_id)


def test_refunds_show_in_the_split():
    case = worked_case()
    client = api_as(case.producer, "write")
    response = client.post(f"/sales/{case.sale.pk}/refund", {"amount_minor": 5000, "reason": "x"})
    assert response.status_code == 201, response.content
    refund = response.json()
    assert refund["status"] == "succeeded"
    assert refund["amount"] == _money(5000)
    assert refund["sale"]["status"] == "partially_refunded"
    assert refund["sale"]["refunded"] == _money(5000)
    lines = {line["role"]: line for line in refund["sale"]["split"]}
    assert lines["cocreator"]["reversed"] == _money(-291)
    assert lines["cocreator"]["net"] == _money(291)
    mine = api_as(case.cocreator).get(f"/sales/{case.sale.pk}").json()["split"][0]
    assert mine["reversed"] == _money(-291) and mine["net"] == _money(291)


def test_refund_the_rest_then_nothing_is_left():
    case = worked_case()
    client = api_as(case.producer, "write")
    response = client.post(f"/sales/{case.sale.pk}/refund")
    assert response.status_code == 201
    assert response.json()["amount"] == _money(10000)
    again = client.post(f"/sales/{case.sale.pk}/refund")
    assert again.status_code == 409
    assert error_code(again) == "conflict"
    assert "Nothing is left" in again.json()["error"]["message"]
    case.sale.refresh_from_db()
    assert case.sale.refunded_minor == 10000


def test_refund_more_than_is_left_is_a_validation_error():
    case = worked_case()
    response = api_as(case.producer, "write").post(
        f"/sales/{case.sale.pk}/refund", {"amount_minor": 10001}
    )
    assert response.status_code == 422
    assert error_code(response) == "validation_error"
    assert "At most" in response.json()["error"]["message"]
    case.sale.refresh_from_db()
    assert case.sale.refunded_minor == 0


@pytest.mark.parametrize(
    "body",
    [{"amount_minor": 0}, {"amount_minor": -5}, {"amount_minor": "x"}, {"reason": "a\x00b"}],
)
def test_bad_refund_bodies_are_422(body):
    case = worked_case()
    response = api_as(case.producer, "write").post(f"/sales/{case.sale.pk}/refund", body)
    assert response.status_code == 422
    assert error_code(response) == "validation_error"


def test_a_body_that_is_not_json_is_422():
    case = worked_case()
    client = api_as(case.producer, "write")
    response = client.client.post(
        f"/api/v1/sales/{case.sale.pk}/refund",
        "{not json",
        content_type="application/json",
        headers=client._headers(),
    )
    assert response.status_code in (400, 422)
    assert error_code(response) in ("validation_error", "bad_request")


def test_filters_by_status_and_paid_dates():
    with time_machine.travel(dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC), tick=False):
        case = worked_case()
    with time_machine.travel(dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC), tick=False):
        (later,) = paid_sales(case, 1)
    Sale.objects.filter(pk=later.pk).update(status=Sale.Status.CHARGED_BACK)
    client = api_as(case.producer)

    def ids(**params):
        response = client.get("/sales", params)
        assert response.status_code == 200, response.content
        return [s["id"] for s in response.json()["results"]]

    assert ids() == [later.pk, case.sale.pk]
    assert ids(paid_after="2026-11-01") == [later.pk]
    assert ids(paid_before="2026-11-01") == [case.sale.pk]
    assert ids(paid_after="2026-10-10T12:00:00Z", paid_before="2026-10-10T12:00:01Z") == [
        case.sale.pk
    ]
    assert ids(status="charged_back") == [later.pk]
    assert ids(status="paid") == [case.sale.pk]
    assert ids(product_id=case.product.pk + 1000) == []


def test_cursor_pages_walk_every_sale_once():
    case = worked_case()
    paid_sales(case, 6)  # same paid_at: the id breaks the tie
    client = api_as(case.producer)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/sales", params).json()
        assert len(body["results"]) <= 3
        seen += [s["id"] for s in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = list(
        Sale.objects.filter(product=case.product)
        .order_by("-paid_at", "-pk")
        .values_list("pk", flat=True)
    )
    assert seen == expected and len(seen) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "nope"},
        {"cursor": "WzEsMl0"},  # [1,2]: a number where a time belongs is fine, a bad id is not
        {"cursor": "eyJ0IjoxfQ"},
        {"limit": 0},
        {"limit": 101},
        {"paid_after": "yesterday"},
        {"paid_before": "2026-13-01"},
        {"status": "pending"},
        {"role": "buyer"},
        {"product_id": "x"},
        {"paid_afer": "2026-01-01"},  # a misspelt filter is not "every sale"
        {"paid_after": "0.5"},  # not read as a Unix time
    ],
)
def test_bad_queries_are_422_json(params):
    case = worked_case()
    response = api_as(case.producer).get("/sales", params)
    assert response.status_code == 422, response.content
    assert error_code(response) == "validation_error"
    assert response.json()["error"]["details"]


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01"]
)
def test_dates_at_the_ends_of_the_calendar_are_no_500(value):
    case = worked_case()
    for name in ("paid_after", "paid_before"):
        response = api_as(case.producer).get("/sales", {name: value})
        assert response.status_code in (200, 422), response.content
        assert response.json()


def test_an_unknown_sale_is_404_json():
    case = worked_case()
    for path in ("/sales/999999999", "/sales/9223372036854775807", "/nowhere"):
        response = api_as(case.producer).get(path)
        assert response.status_code == 404
        assert error_code(response) == "not_found"
