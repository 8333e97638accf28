"""Django admin: every registered model's pages open, and the validate/reject actions work."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse

from accounts import outgoing_webhooks
from accounts.api_tokens import api_token_create
from accounts.models import AccountValidation, WebhookAttempt
from products.models import WebhookEvent
from products.services.sales import sale_refund
from tests.factories import (
    AccountValidationFactory,
    AffiliationFactory,
    PayoutAccountFactory,
    PlanFactory,
    ProductFactory,
    SaleFactory,
    UserFactory,
)
from tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

REGISTERED = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry
)
OURS = [(app, name) for app, name in REGISTERED if app in {"accounts", "products"}]
CHANGELIST = reverse("admin:accounts_accountvalidation_changelist")


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def data():
    """One row of each of our models so every list column is rendered."""
    AccountValidationFactory(rejected=True)
    validation = AccountValidationFactory(validated=True)
    validation.events.create(to_status="validated", reason="Seen")
    PlanFactory(promo_first_price_minor=990, installments=12)
    ProductFactory()
    sale = SaleFactory(paid=True)
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=100, reason="Partial")
    WebhookEvent.objects.create(event_id="evt-1", kind="payment.confirmed", payload={})
    PayoutAccountFactory()
    endpoint = WebhookEndpointFactory()
    outgoing_webhooks.emit("sale.approved", key=1, user_ids=[endpoint.user_id], data={})
    WebhookAttempt.objects.create(delivery=endpoint.deliveries.get(), status_code=200)
    api_token_create(user=endpoint.user, name="script", scope="read")
    return AffiliationFactory(approved=True)


def test_our_models_are_registered():
    assert {
        ("accounts", "user"),
        ("accounts", "accountvalidation"),
        ("products", "product"),
        ("products", "plan"),
        ("products", "affiliation"),
    } <= set(REGISTERED)


@pytest.mark.parametrize(("app", "model"), REGISTERED, ids=[f"{a}.{m}" for a, m in REGISTERED])
def test_every_changelist_opens_for_a_superuser(client, superuser, data, app, model):
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= (1 if (app, model) in OURS else 0)


@pytest.mark.parametrize(("app", "model"), OURS, ids=[f"{a}.{m}" for a, m in OURS])
def test_every_change_page_of_ours_opens(client, superuser, data, app, model):
    model_class = next(m for m in admin.site._registry if m._meta.model_name == model)
    obj = model_class.objects.first()

    response = client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))

    assert response.status_code == 200


def test_the_changelist_search_and_filters_work(client, superuser, data):
    validation = AccountValidation.objects.filter(status="rejected").get()

    response = client.get(CHANGELIST, {"status__exact": "rejected", "q": validation.user.email})

    assert list(response.context["cl"].result_list) == [validation]


def test_a_staff_user_without_permissions_cannot_see_validations(client):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(CHANGELIST)

    assert response.status_code == 403


def test_validations_cannot_be_added_by_hand(client, superuser):
    response = client.get(reverse("admin:accounts_accountvalidation_add"))

    assert response.status_code == 403


def test_the_validate_action_validates_and_emails(
    client, superuser, django_capture_on_commit_callbacks
):
    first, second = AccountValidationFactory(), AccountValidationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {"action": "validate_accounts", ACTION_CHECKBOX_NAME: [first.pk, second.pk]},
            follow=True,
        )

    assert "2 accounts validated." in response.content.decode()
    for validation in (first, second):
        validation.refresh_from_db()
        assert validation.status == AccountValidation.Status.VALIDATED
        assert validation.decided_by == superuser
        assert validation.user.is_validated
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.user.email, second.user.email])
    assert {m.subject for m in mail.outbox} == {"[Coprod] Your account has been validated"}


def test_the_reject_action_rejects_with_the_review_note_and_emails(
    client, superuser, django_capture_on_commit_callbacks
):
    noted = AccountValidationFactory(review_note="Name does not match the document.")
    plain = AccountValidationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {"action": "reject_accounts", ACTION_CHECKBOX_NAME: [noted.pk, plain.pk]},
            follow=True,
        )

    assert "2 accounts rejected." in response.content.decode()
    noted.refresh_from_db()
    plain.refresh_from_db()
    assert (noted.status, plain.status) == ("rejected", "rejected")
    assert plain.review_note == "The identity data could not be verified."
    by_user = {m.to[0]: m for m in mail.outbox}
    assert by_user[noted.user.email].subject == "[Coprod] Your account validation was rejected"
    assert "Name does not match the document." in by_user[noted.user.email].body
    assert "could not be verified" in by_user[plain.user.email].body


def test_an_action_that_does_not_apply_warns_and_changes_nothing(
    client, superuser, django_capture_on_commit_callbacks
):
    rejected = AccountValidationFactory(rejected=True)
    pending = AccountValidationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {"action": "validate_accounts", ACTION_CHECKBOX_NAME: [rejected.pk, pending.pk]},
            follow=True,
        )

    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [
        ("success", "1 account validated."),
        (
            "warning",
            f"{rejected.user.email}: A validation that is rejected cannot become validated.",
        ),
    ]
    rejected.refresh_from_db()
    assert rejected.status == AccountValidation.Status.REJECTED
    assert [m.to for m in mail.outbox] == [[pending.user.email]]
