"""The slip page (products:slip): a pending Boleto / Oxxo / Multibanco slip, its amount, due
time in the buyer's zone and the line to copy; only its buyer sees it; once paid or expired it
says so; the purchase and subscription pages link to it while it waits."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.locales import format_day, format_moment
from products.models import PaymentAttempt, Sale
from products.payments.gateway import GatewayResult, Outcome
from products.services.sales import sale_pay
from tests.factories import ProductFactory, SaleFactory, UserFactory, record_outcome
from tests.subscriptions.factories import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return UserFactory(time_zone="America/Sao_Paulo", language="en")


def boleto_sale(buyer):
    sale = SaleFactory(
        buyer=buyer, method="boleto", country="BR", product=ProductFactory(price_minor=12990)
    )
    return sale_pay(sale=sale, token="")


def test_a_pending_boleto_shows_amount_due_time_in_the_buyers_zone_and_the_line(client, buyer):
    sale = boleto_sale(buyer)
    attempt = sale.attempts.get()
    assert attempt.status == PaymentAttempt.Status.PENDING
    client.force_login(buyer)

    response = client.get(reverse("products:slip", args=[sale.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert attempt.gateway_reference in html
    assert 'data-copy="#slip-line"' in html
    assert "js/copy.js" in html
    assert "Payable line" in html
    assert sale.amount_display in html
    # Issued now, payable for 3 days, shown in São Paulo's time (UTC-3), not the server's.
    due = attempt.started_at + timedelta(days=3)
    with timezone.override(ZoneInfo("America/Sao_Paulo")), translation.override("en"):
        assert format_moment(due) in html
    with timezone.override(ZoneInfo("UTC")), translation.override("en"):
        assert format_moment(due) not in html


def test_the_slip_of_a_recurrence_uses_its_own_code_and_date(client, buyer):
    subscription = subscribe(buyer=buyer, method="boleto", country="BR", token="")
    recurrence = subscription.recurrences.get(number=1)
    assert recurrence.is_awaiting_slip
    client.force_login(buyer)

    response = client.get(reverse("products:slip", args=[recurrence.sale_id]))

    html = response.content.decode()
    assert recurrence.slip_code in html
    assert "Installment 1" in html
    assert reverse("subscriptions:detail", args=[subscription.pk]) in html


def test_an_oxxo_slip_is_a_reference_not_a_payable_line(client):
    buyer = UserFactory(time_zone="America/Mexico_City")
    sale = SaleFactory(
        buyer=buyer, method="oxxo", country="MX", product=ProductFactory(currency="MXN")
    )
    sale_pay(sale=sale, token="")
    client.force_login(buyer)
    html = client.get(reverse("products:slip", args=[sale.pk])).content.decode()
    assert "Payment reference" in html
    assert "Payable line" not in html


def test_a_paid_slip_says_so_and_links_to_the_purchase(client, buyer):
    sale = boleto_sale(buyer)
    attempt = sale.attempts.get()
    record_outcome(
        attempt=attempt, result=GatewayResult(Outcome.APPROVED, attempt.gateway_reference, "")
    )
    assert Sale.objects.get(pk=sale.pk).is_paid
    client.force_login(buyer)

    html = client.get(reverse("products:slip", args=[sale.pk])).content.decode()

    assert "This slip is paid" in html
    assert attempt.gateway_reference not in html
    assert reverse("products:purchase", args=[sale.pk]) in html


def test_a_slip_past_its_date_is_not_offered_for_payment(client, buyer):
    sale = boleto_sale(buyer)
    PaymentAttempt.objects.filter(sale=sale).update(started_at=timezone.now() - timedelta(days=4))
    client.force_login(buyer)
    html = client.get(reverse("products:slip", args=[sale.pk])).content.decode()
    assert "This slip expired" in html
    assert 'data-copy="#slip-line"' not in html


def test_a_card_sale_has_no_slip(client, buyer):
    sale = SaleFactory(buyer=buyer, paid=True)
    client.force_login(buyer)
    html = client.get(reverse("products:slip", args=[sale.pk])).content.decode()
    assert 'data-copy="#slip-line"' not in html


def test_only_the_buyer_sees_the_slip(client, buyer):
    sale = boleto_sale(buyer)
    url = reverse("products:slip", args=[sale.pk])

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(sale.product.producer)
    assert client.get(url).status_code == 404


def test_the_purchase_links_to_its_pending_slip_and_not_once_paid(client, buyer):
    sale = boleto_sale(buyer)
    client.force_login(buyer)
    slip_url = reverse("products:slip", args=[sale.pk])
    assert slip_url in client.get(reverse("products:purchase", args=[sale.pk])).content.decode()

    paid = SaleFactory(buyer=buyer, paid=True)
    html = client.get(reverse("products:purchase", args=[paid.pk])).content.decode()
    assert reverse("products:slip", args=[paid.pk]) not in html


def test_the_subscription_links_to_the_slip_and_waits_for_it_instead_of_a_next_charge(
    client, buyer
):
    subscription = subscribe(buyer=buyer, method="boleto", country="BR", token="")
    recurrence = subscription.recurrences.get(number=1)
    client.force_login(buyer)

    html = client.get(reverse("subscriptions:detail", args=[subscription.pk])).content.decode()

    assert reverse("products:slip", args=[recurrence.sale_id]) in html
    assert "Waiting for the slip to be paid until" in html


def test_a_card_subscription_shows_its_next_charge_and_no_slip(client, buyer):
    subscription = subscribe(buyer=buyer)
    client.force_login(buyer)
    html = client.get(reverse("subscriptions:detail", args=[subscription.pk])).content.decode()
    assert "Waiting for the slip to be paid until" not in html
    assert "/slip/" not in html
    assert format_day(subscription.next_charge_date) in html


def test_my_subscriptions_shows_the_slip_to_pay_instead_of_the_next_charge(client, buyer):
    cash = subscribe(buyer=buyer, method="boleto", country="BR", token="")
    card = subscribe(buyer=buyer)
    recurrence = cash.recurrences.get(number=1)
    client.force_login(buyer)

    html = client.get(reverse("subscriptions:mine")).content.decode()

    cash_row = html[html.index(reverse("products:slip", args=[recurrence.sale_id])) - 2000 :]
    assert "Slip to pay by" in html
    assert format_day(cash.next_charge_date) not in cash_row.split("</tr>")[0]
    assert format_day(card.next_charge_date) in html


def test_my_purchases_links_a_pending_slip(client, buyer):
    sale = boleto_sale(buyer)
    paid = SaleFactory(buyer=buyer, paid=True)
    client.force_login(buyer)
    html = client.get(reverse("products:purchases")).content.decode()
    assert reverse("products:slip", args=[sale.pk]) in html
    assert reverse("products:slip", args=[paid.pk]) not in html
