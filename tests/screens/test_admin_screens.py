"""The admin as an admin reads it: amounts as money, stored status codes by their label, card
tokens masked on every page (lists, change pages, read-only fields), one Accounts section."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.services import validation_submit
from products.services.sales import sale_refund
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.factories import PlanFactory, ProductFactory, SaleFactory, UserFactory
from tests.subscriptions.factories import APPROVED, subscribe

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def data():
    plan = PlanFactory(price_minor=4990)
    card = subscribe(plan, token=APPROVED)
    subscribe(plan, method="boleto", country="BR", token="")
    sale = SaleFactory(product=ProductFactory(price_minor=12345), paid=True)
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=1000, reason="test")
    ChangeRequestFactory(contract=ContractFactory(active=True))
    return {"subscription": card, "sale": sale}


def pages(client, model):
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    yield changelist
    first = model._default_manager.order_by("pk").first()
    if first is not None:
        yield client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
        )


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_no_admin_page_shows_a_whole_card_number(client, superuser, data, model):
    for response in pages(client, model):
        assert response.status_code == 200
        assert APPROVED not in response.content.decode()


def test_the_subscription_shows_its_card_token_masked(client, superuser, data):
    subscription = data["subscription"]
    html = client.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    ).content.decode()
    assert "•••• 4242" in html
    assert APPROVED not in html


def test_amounts_are_money_in_lists_and_change_pages(client, superuser, data):
    sale = data["sale"]
    sale_page = client.get(reverse("admin:products_sale_change", args=[sale.pk])).content.decode()
    assert "R$123.45" in sale_page  # the amount
    assert "R$10.00" in sale_page  # refunded, and the refund inline
    assert ">12345<" not in sale_page
    for name in (
        "products_paymentattempt",
        "products_refund",
        "subscriptions_recurrence",
        "coproduction_ledgerentry",
    ):
        html = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert re.search(r"R\$\d", html), name
    recurrences = client.get(reverse("admin:subscriptions_recurrence_changelist"))
    assert ">4990<" not in recurrences.content.decode()


def test_event_statuses_and_methods_are_labels(client, superuser, data):
    events = client.get(reverse("admin:products_stateevent_changelist")).content.decode()
    assert "Waiting for payment" in events
    assert '<td class="field-to_status_label">pending</td>' not in events
    subscription = data["subscription"]
    page = client.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    ).content.decode()
    assert "Active" in page  # the event inline's "to status"
    sales = client.get(reverse("admin:products_sale_changelist")).content.decode()
    assert "Credit card" in sales


def test_validation_events_are_labels(client, superuser):
    user = UserFactory()
    validation_submit(user=user, legal_name="Ana Lima", country="BR", tax_document="52998224725")
    html = client.get(
        reverse("admin:accounts_accountvalidation_change", args=[user.validation.pk])
    ).content.decode()
    assert "Pending review" in html


def test_one_accounts_section_in_the_admin_index(client, superuser):
    html = client.get(reverse("admin:index")).content.decode()
    captions = re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', html)
    assert captions.count("Accounts") == 1, captions
    accounts = html.split('class="app-accounts')[1].split("</table>")[0]
    assert "Email addresses" in accounts  # allauth's model, in our section
    assert "Users" in accounts
