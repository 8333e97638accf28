"""The shipped gateway simulator and the payment-method tables it relies on: test cards and
wallet tokens, cash and debit methods pending, and one answer per idempotency key."""

import pytest

from products.models import SimulatedGatewayCharge
from products.payments.gateway import (
    MESSAGES,
    GatewayTimeout,
    Outcome,
    SimulatedGateway,
    get_gateway,
    normalize_token,
)
from products.payments.methods import (
    Family,
    Method,
    family_of,
    is_available,
    methods_for_country,
)

pytestmark = pytest.mark.django_db


def charge(key="key-1", token="4242424242424242", method="card", amount=10000):
    return SimulatedGateway().charge(
        idempotency_key=key, amount_minor=amount, currency="BRL", method=method, token=token
    )


@pytest.mark.parametrize(
    "token, outcome",
    [
        ("4242424242424242", Outcome.APPROVED),
        ("4242 4242 4242 4242", Outcome.APPROVED),
        ("4242-4242-4242-4242", Outcome.APPROVED),
        ("4000000000000002", Outcome.DECLINED),
        ("4000000000009995", Outcome.INSUFFICIENT_FUNDS),
        ("4000000000000119", Outcome.ERROR),
        ("tok_approved", Outcome.APPROVED),
        ("TOK_Approved", Outcome.APPROVED),
        ("tok_declined", Outcome.DECLINED),
        ("tok_insufficient_funds", Outcome.INSUFFICIENT_FUNDS),
        ("tok_error", Outcome.ERROR),
        ("1234567812345678", Outcome.DECLINED),  # unknown cards are declined, never approved
        ("", Outcome.DECLINED),
    ],
)
def test_card_outcome_follows_the_test_token(token, outcome):
    result = charge(token=token)

    assert result.outcome == outcome
    assert result.message == MESSAGES[outcome]
    assert result.paid is (outcome == Outcome.APPROVED)
    record = SimulatedGatewayCharge.objects.get()
    assert (record.kind, record.outcome, record.amount_minor) == ("charge", outcome, 10000)
    assert result.reference == record.reference
    assert record.reference.startswith("sim_")


@pytest.mark.parametrize("method", ["paypal", "google_pay", "samsung_pay"])
def test_wallets_are_cards_and_use_their_token(method):
    assert charge(method=method, token="tok_approved").outcome == Outcome.APPROVED
    assert charge(key="key-2", method=method, token="tok_declined").outcome == Outcome.DECLINED


@pytest.mark.parametrize("method", ["boleto", "oxxo", "multibanco", "sepa", "pse"])
def test_cash_and_debit_methods_are_pending_whatever_the_token(method):
    result = charge(method=method, token="4000000000000002")

    assert result.outcome == Outcome.PENDING
    assert not result.paid
    assert result.message == "Waiting for payment."


def test_a_repeated_key_gets_the_first_answer_and_charges_once():
    first = charge(key="same", token="4000000000000002")
    again = charge(key="same", token="4242424242424242", amount=1)

    assert again == first
    assert again.outcome == Outcome.DECLINED
    assert SimulatedGatewayCharge.objects.get().amount_minor == 10000


def test_different_keys_are_different_charges():
    one = charge(key="a")
    two = charge(key="b")

    assert one.reference != two.reference
    assert SimulatedGatewayCharge.objects.count() == 2


def test_the_timeout_card_charges_then_loses_the_answer_and_a_retry_reports_the_charge():
    with pytest.raises(GatewayTimeout, match="did not answer"):
        charge(key="lost", token="4000000000000259")
    record = SimulatedGatewayCharge.objects.get()
    assert record.outcome == Outcome.APPROVED

    retry = charge(key="lost", token="4000000000000259")

    assert retry.outcome == Outcome.APPROVED
    assert retry.reference == record.reference
    assert SimulatedGatewayCharge.objects.count() == 1


def test_refund_is_remembered_by_key():
    gateway = SimulatedGateway()
    first = gateway.refund(idempotency_key="refund-1", reference="sim_x", amount_minor=500)
    again = gateway.refund(idempotency_key="refund-1", reference="sim_x", amount_minor=500)

    assert first == again
    record = SimulatedGatewayCharge.objects.get()
    assert (record.kind, record.amount_minor) == ("refund", 500)


def test_get_gateway_builds_the_configured_class(settings):
    settings.PAYMENT_GATEWAY = "products.payments.gateway.SimulatedGateway"
    assert isinstance(get_gateway(), SimulatedGateway)


@pytest.mark.parametrize(
    "raw, normalized",
    [(" 4242 4242 4242 4242 ", "4242424242424242"), ("Tok_Error", "tok_error"), (None, "")],
)
def test_normalize_token(raw, normalized):
    assert normalize_token(raw) == normalized


@pytest.mark.parametrize(
    "country, present, absent",
    [
        ("BR", {"card", "paypal", "boleto"}, {"oxxo", "multibanco", "sepa", "pse"}),
        ("mx", {"card", "oxxo"}, {"boleto", "sepa"}),
        ("PT", {"card", "multibanco", "sepa"}, {"boleto", "oxxo", "pse"}),
        ("DE", {"card", "sepa"}, {"multibanco", "boleto"}),
        ("CO", {"card", "pse"}, {"boleto", "sepa"}),
        ("US", {"card", "paypal", "google_pay", "samsung_pay"}, {"boleto", "oxxo", "sepa"}),
        ("", {"card"}, {"boleto"}),
    ],
)
def test_methods_for_country(country, present, absent):
    methods = set(methods_for_country(country))

    assert present <= methods
    assert not (absent & methods)


def test_is_available_refuses_unknown_methods_and_wrong_countries():
    assert is_available("boleto", "BR")
    assert is_available("boleto", "br")
    assert not is_available("boleto", "US")
    assert not is_available("bitcoin", "BR")
    assert not is_available("", "BR")


def test_every_method_has_a_family():
    assert {family_of(m) for m in Method} == set(Family)
    assert family_of("boleto") == Family.CASH
    assert family_of("sepa") == Family.DEBIT
    assert family_of("paypal") == Family.CARD
