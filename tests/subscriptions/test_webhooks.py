"""The gateway's webhook: HMAC-signed, deduplicated by event id, confirming or expiring cash
slips and direct debits by their gateway reference."""

import json

import pytest
from django.urls import reverse

from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, WebhookEvent
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.webhooks import sign, signature_valid
from tests.subscriptions.factories import subscribe

pytestmark = pytest.mark.django_db

URL = reverse("subscriptions:webhook")
S = Subscription.Status
R = Recurrence.Status


def post(client, payload, *, signature: str | None = None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Gateway-Signature": signature if signature is not None else sign(body)},
    )


@pytest.fixture
def slip():
    """A boleto subscription waiting for its first slip to be paid."""
    subscription = subscribe(method="boleto", country="BR", token="")
    recurrence = subscription.recurrences.get()
    assert recurrence.status == R.PENDING
    return recurrence


def event(recurrence, *, kind="payment.confirmed", event_id="evt_1"):
    return {"id": event_id, "type": kind, "reference": recurrence.slip_code}


def state(recurrence) -> tuple:
    recurrence.refresh_from_db()
    subscription = Subscription.objects.get(pk=recurrence.subscription_id)
    return (
        recurrence.status,
        subscription.status,
        subscription.paid_count,
        PaymentAttempt.objects.get(sale=recurrence.sale_id).status,
        LedgerEntry.objects.count(),
        WebhookEvent.objects.count(),
    )


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"id": "x"}'
    assert sign(body).startswith("sha256=")
    assert signature_valid(body, sign(body))
    # Only the documented format: the bare digest, or another prefix, is refused.
    assert not signature_valid(body, sign(body).removeprefix("sha256="))
    assert not signature_valid(body, sign(body).upper())
    assert not signature_valid(body + b" ", sign(body))
    assert not signature_valid(body, "")
    assert not signature_valid(body, None)


@pytest.mark.parametrize("signature", ["", "sha256=deadbeef", "garbage"])
def test_bad_signature_is_refused_and_changes_nothing(client, slip, signature):
    before = state(slip)
    response = post(client, event(slip), signature=signature)
    assert response.status_code == 400
    assert state(slip) == before
    assert before[0] == R.PENDING


def test_signature_of_another_body_is_refused(client, slip):
    other = sign(json.dumps(event(slip, event_id="other")).encode())
    response = post(client, event(slip), signature=other)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_confirmation_pays_the_slip_and_activates(client, slip):
    response = post(client, event(slip), signature=sign(json.dumps(event(slip)).encode()))

    assert response.status_code == 200
    assert response.json() == {"result": "processed"}
    status, subscription_status, paid_count, attempt_status, ledger, events = state(slip)
    assert (status, subscription_status, paid_count, attempt_status) == (
        R.PAID,
        S.ACTIVE,
        1,
        PaymentAttempt.Status.APPROVED,
    )
    assert ledger > 0 and events == 1
    assert sum(LedgerEntry.objects.values_list("amount_minor", flat=True)) == slip.amount_minor


def test_replayed_event_is_a_duplicate_and_doubles_nothing(client, slip):
    assert post(client, event(slip)).json() == {"result": "processed"}
    after_first = state(slip)

    response = post(client, event(slip))

    assert response.status_code == 200
    assert response.json() == {"result": "duplicate"}
    assert state(slip) == after_first


def test_second_event_for_a_settled_payment_is_ignored(client, slip):
    post(client, event(slip))
    after_first = state(slip)
    response = post(client, event(slip, event_id="evt_2"))
    assert response.json() == {"result": "ignored"}
    assert state(slip)[:5] == after_first[:5]


def test_unknown_reference_is_ignored(client, slip):
    before = state(slip)
    response = post(client, {"id": "evt_9", "type": "payment.confirmed", "reference": "sim_nope"})
    assert response.status_code == 200
    assert response.json() == {"result": "ignored"}
    assert state(slip)[:5] == before[:5]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"a string"', b"\xff\xfe"])
def test_malformed_body_is_a_400(client, slip, raw):
    before = state(slip)
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert state(slip) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "evt_1", "type": "payment.refunded", "reference": "x"},
        {"id": "", "type": "payment.confirmed", "reference": "x"},
        {"id": "evt_1", "type": "payment.confirmed"},
        {},
    ],
)
def test_unknown_type_or_missing_fields_is_a_422(client, slip, payload):
    if payload.get("reference") == "x":
        payload["reference"] = slip.slip_code
    before = state(slip)
    response = post(client, payload)
    assert response.status_code == 422
    assert "Unknown event" in response.json()["error"]
    assert state(slip) == before


def test_expiry_makes_the_first_payment_unpaid_and_the_subscription_inactive(client, slip):
    response = post(client, event(slip, kind="payment.expired"))
    assert response.json() == {"result": "processed"}
    status, subscription_status, paid_count, attempt_status, ledger, _ = state(slip)
    assert (status, subscription_status, paid_count, attempt_status, ledger) == (
        R.UNPAID,
        S.INACTIVE,
        0,
        PaymentAttempt.Status.EXPIRED,
        0,
    )
    # Money for the expired slip of an inactive subscription is not applied: it is refunded.
    assert post(client, event(slip, event_id="late")).json() == {"result": "refunded"}
    assert state(slip)[0] == R.UNPAID


def test_direct_debit_confirmed_by_its_attempt_reference(client):
    subscription = subscribe(method="sepa", country="DE", token="")
    recurrence = subscription.recurrences.get()
    reference = recurrence.sale.attempts.get().gateway_reference
    assert reference and recurrence.slip_code == ""
    response = post(client, {"id": "d1", "type": "payment.confirmed", "reference": reference})
    assert response.json() == {"result": "processed"}
    recurrence.refresh_from_db()
    assert recurrence.status == R.PAID


def test_webhook_needs_no_login_or_csrf_but_only_post(client, slip):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, event(slip)).status_code == 200
    assert client.get(URL).status_code == 405
