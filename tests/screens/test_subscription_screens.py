"""Subscription screens as a buyer reads them: a purchase and its subscription link to each
other; an ended subscription offers no payment form; a status and a plan are each said once."""

import pytest
from django.urls import reverse

from subscriptions.models import Subscription
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.factories import SubscriptionFactory, subscribe

pytestmark = pytest.mark.django_db

S = Subscription.Status


def html(client, name, *args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_a_purchase_links_to_its_subscription_and_the_subscription_back(client):
    buyer = UserFactory()
    subscription = subscribe(buyer=buyer)
    sale = subscription.recurrences.get(number=1).sale
    client.force_login(buyer)

    purchase = html(client, "products:purchase", sale.pk)
    detail = html(client, "subscriptions:detail", subscription.pk)

    assert reverse("subscriptions:detail", args=[subscription.pk]) in purchase
    assert "installment 1" in purchase
    assert reverse("products:purchase", args=[sale.pk]) in detail


def test_a_one_time_purchase_names_no_subscription(client):
    from tests.factories import SaleFactory

    sale = SaleFactory(paid=True)
    client.force_login(sale.buyer)
    assert "/subscriptions/" not in html(client, "products:purchase", sale.pk).split("<main")[1]


@pytest.mark.parametrize(
    "status", [S.CANCELED_BY_CUSTOMER, S.CANCELED_BY_SELLER, S.CANCELED_BY_ADMIN, S.EXPIRED]
)
def test_an_ended_subscription_offers_no_payment_form(client, status):
    subscription = SubscriptionFactory(status=status)
    client.force_login(subscription.buyer)
    page = html(client, "subscriptions:detail", subscription.pk)
    assert reverse("subscriptions:update_payment", args=[subscription.pk]) not in page
    assert 'name="card_number"' not in page
    assert "This subscription has ended" in page


def test_an_active_card_subscription_offers_the_payment_form(client):
    subscription = SubscriptionFactory(status=S.ACTIVE)
    client.force_login(subscription.buyer)
    page = html(client, "subscriptions:detail", subscription.pk)
    assert reverse("subscriptions:update_payment", args=[subscription.pk]) in page


def test_a_cash_subscription_has_no_card_form(client):
    subscription = SubscriptionFactory(status=S.ACTIVE, method="boleto", payment_label="")
    client.force_login(subscription.buyer)
    page = html(client, "subscriptions:detail", subscription.pk)
    assert 'name="card_number"' not in page
    assert "there is no card to update" in page


def test_an_ended_subscriptions_form_post_is_refused(client):
    subscription = SubscriptionFactory(status=S.CANCELED_BY_CUSTOMER)
    client.force_login(subscription.buyer)
    client.post(
        reverse("subscriptions:update_payment", args=[subscription.pk]),
        {"method": "card", "card_number": "4000000000000002"},
    )
    subscription.refresh_from_db()
    assert subscription.payment_token != "4000000000000002"


def test_the_status_is_said_once_when_the_reason_repeats_it(client):
    subscription = SubscriptionFactory(
        status=S.CANCELED_BY_CUSTOMER, end_reason="Canceled by the customer"
    )
    client.force_login(subscription.buyer)
    main = html(client, "subscriptions:detail", subscription.pk).split("<main")[1]
    details = main.split('class="details"')[1].split("</dl>")[0]
    assert details.count("Canceled by the customer") == 1


def test_a_reason_that_says_more_than_the_status_is_shown(client):
    subscription = SubscriptionFactory(
        status=S.CANCELED_BY_ADMIN, end_reason="5 consecutive unpaid recurrences"
    )
    client.force_login(subscription.buyer)
    page = html(client, "subscriptions:detail", subscription.pk)
    assert "5 consecutive unpaid installments" in page


def test_a_plan_named_after_its_periodicity_is_not_doubled(client):
    subscription = SubscriptionFactory(
        status=S.ACTIVE, plan=PlanFactory(name="Monthly", periodicity="monthly")
    )
    client.force_login(subscription.buyer)
    assert "Monthly · Monthly" not in html(client, "subscriptions:detail", subscription.pk)
    assert "Monthly · Monthly" not in html(client, "subscriptions:mine")
    client.force_login(subscription.product.producer)
    subscribers = html(client, "subscriptions:subscribers", subscription.product.pk)
    assert "Monthly · Monthly" not in subscribers
    assert "Monthly" in subscribers


def test_a_plan_with_its_own_name_also_says_its_periodicity(client):
    subscription = SubscriptionFactory(
        status=S.ACTIVE, plan=PlanFactory(name="Gold", periodicity="yearly")
    )
    client.force_login(subscription.buyer)
    assert "Gold · Yearly" in html(client, "subscriptions:detail", subscription.pk)
