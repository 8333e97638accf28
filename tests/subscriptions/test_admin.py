"""Django admin for subscriptions: every page opens with data in it, nothing can be added or
edited by hand, and Cancel as admin goes through the lifecycle service."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.exceptions import DomainError
from subscriptions.models import Subscription
from subscriptions.services.webhooks import webhook_handle
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.factories import DECLINED, subscribe

pytestmark = pytest.mark.django_db

S = Subscription.Status
PAYMENTS = {"paymentattempt", "simulatedgatewaycharge", "webhookevent", "stateevent"}
# "app_model" of the subscription models and the payment path's (products.payments).
OURS = sorted(
    f"{model._meta.app_label}_{model._meta.model_name}"
    for model in admin.site._registry
    if model._meta.app_label == "subscriptions" or model._meta.model_name in PAYMENTS
)
CHANGELIST = reverse("admin:subscriptions_subscription_changelist")


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def data():
    """A card subscription (paid), a split one, a cash one confirmed by webhook, a declined."""
    plan = PlanFactory(promo_first_price_minor=990, installments=12)
    card = subscribe(plan)
    subscribe(plan, second_token="tok_approved", second_amount_minor=100)
    cash = subscribe(plan, method="boleto", country="BR", token="")
    webhook_handle(
        event_id="evt-admin",
        kind="payment.confirmed",
        reference=cash.recurrences.get().slip_code,
        payload={"id": "evt-admin"},
    )
    with pytest.raises(DomainError):  # leaves an Initiated subscription behind
        subscribe(plan, token=DECLINED)
    return card


def test_every_subscription_model_is_registered():
    assert set(OURS) == {
        "products_paymentattempt",
        "subscriptions_recurrence",
        "products_simulatedgatewaycharge",
        "products_stateevent",
        "subscriptions_subscription",
        "products_webhookevent",
    }


@pytest.mark.parametrize("model", OURS)
def test_changelist_and_change_page_open(client, superuser, data, model):
    changelist = client.get(reverse(f"admin:{model}_changelist"))
    assert changelist.status_code == 200
    model_class = next(
        m for m in admin.site._registry if f"{m._meta.app_label}_{m._meta.model_name}" == model
    )
    obj = model_class.objects.first()
    assert obj is not None, "the fixture should make a row of every model"
    change = client.get(reverse(f"admin:{model}_change", args=[obj.pk]))
    assert change.status_code == 200


def test_changelist_search_and_filters(client, superuser, data):
    response = client.get(CHANGELIST, {"q": data.buyer.email})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    response = client.get(CHANGELIST, {"status__exact": S.INITIATED})
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize(
    "model",
    [
        "subscriptions_subscription",
        "subscriptions_recurrence",
        "products_paymentattempt",
        "products_webhookevent",
    ],
)
def test_rows_cannot_be_added_by_hand(client, superuser, model):
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403


def test_cancel_as_admin_action(client, superuser, data):
    other = subscribe()
    response = client.post(
        CHANGELIST,
        {"action": "cancel_as_admin", ACTION_CHECKBOX_NAME: [data.pk, other.pk]},
        follow=True,
    )
    assert response.status_code == 200
    data.refresh_from_db()
    other.refresh_from_db()
    assert data.status == other.status == S.CANCELED_BY_ADMIN
    event = data.events.get(to_status=S.CANCELED_BY_ADMIN)
    assert event.actor == superuser
    assert "2 subscriptions canceled" in response.content.decode()


def test_cancel_as_admin_warns_about_already_ended_ones(client, superuser, data):
    data.status = S.CANCELED_BY_CUSTOMER
    data.save(update_fields=["status"])
    response = client.post(
        CHANGELIST,
        {"action": "cancel_as_admin", ACTION_CHECKBOX_NAME: [data.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "already Canceled by the customer" in page
    data.refresh_from_db()
    assert data.status == S.CANCELED_BY_CUSTOMER


def test_staff_without_permission_cannot_open_the_admin_pages(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(CHANGELIST).status_code == 403
