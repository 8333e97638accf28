"""The admin's changelists that grow: at most 100 rows a page, a date hierarchy on their main
date, no second full COUNT(*) on the ledger-like tables; drilling down and filtering work."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

# model label → its main date
DATED = {
    "products.product": "created_at",
    "products.affiliation": "requested_at",
    "products.sale": "created_at",
    "products.refund": "created_at",
    "products.paymentattempt": "started_at",
    "products.simulatedgatewaycharge": "created_at",
    "products.webhookevent": "received_at",
    "products.stateevent": "created_at",
    "coproduction.contract": "invited_at",
    "coproduction.changerequest": "requested_at",
    "coproduction.contractevent": "created_at",
    "coproduction.termsacceptance": "accepted_at",
    "coproduction.emaillink": "created_at",
    "coproduction.ledgerentry": "created_at",
    "coproduction.withdrawal": "requested_at",
    "subscriptions.subscription": "created_at",
    "subscriptions.recurrence": "due_date",
    "accounts.user": "date_joined",
    "accounts.accountvalidation": "submitted_at",
    "accounts.notification": "created_at",
}
# One row per charge, attempt, event or message: never counted twice a page.
LEDGER_LIKE = {
    "products.paymentattempt",
    "products.simulatedgatewaycharge",
    "products.webhookevent",
    "products.stateevent",
    "products.sale",
    "coproduction.contractevent",
    "coproduction.emaillink",
    "coproduction.ledgerentry",
    "subscriptions.recurrence",
    "accounts.notification",
}


def registered():
    return {
        model._meta.label_lower: model_admin for model, model_admin in admin.site._registry.items()
    }


def test_every_changelist_shows_at_most_a_hundred_rows_a_page():
    too_long = {
        label: model_admin.list_per_page
        for label, model_admin in registered().items()
        if model_admin.list_per_page > 100
    }
    assert too_long == {}


@pytest.mark.parametrize("label", sorted(DATED))
def test_growing_changelists_have_a_date_hierarchy_on_their_main_date(label):
    assert registered()[label].date_hierarchy == DATED[label]


@pytest.mark.parametrize("label", sorted(LEDGER_LIKE))
def test_ledger_like_changelists_skip_the_full_count(label):
    assert registered()[label].show_full_result_count is False


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("label", sorted(DATED))
def test_each_dated_changelist_opens_drilled_down_and_filtered(client, superuser, label):
    SaleFactory(paid=True)  # a sale, its attempt, state events and ledger lines
    app, model = label.split(".")
    url = reverse(f"admin:{app}_{model}_changelist")
    field = DATED[label]

    assert client.get(url).status_code == 200
    # A lookup the admin does not accept would redirect to ?e=1 instead.
    drilled = client.get(url, {f"{field}__year": "2026", f"{field}__month": "12"})
    assert drilled.status_code == 200
    assert '<nav class="toplinks">' in drilled.content.decode()


def test_sales_filtered_by_status_and_month_list_only_those(client, superuser):
    paid = SaleFactory(paid=True)
    pending = SaleFactory()
    url = reverse("admin:products_sale_changelist")
    moment = paid.created_at

    response = client.get(
        url,
        {
            "status__exact": "paid",
            "created_at__year": str(moment.year),
            "created_at__month": str(moment.month),
        },
    )

    assert response.status_code == 200
    shown = [sale.pk for sale in response.context["cl"].result_list]
    assert shown == [paid.pk] and pending.pk not in shown
    # The hierarchy offers the month's days, back to the year.
    assert '<nav class="toplinks">' in response.content.decode()
    assert 'class="date-back"' in response.content.decode()
