"""The producer's screens (Tools > Co-productions): choose a product, invite, the live terms
form, propose a change, resend and cancel. Bad input always gets a message and creates nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from coproduction.models import ChangeRequest, Contract, TermsAcceptance
from tests.coproduction.test_views_access import HTMX, link_in, make_change, make_contract, text
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def producer(client):
    user = UserFactory(validated=True)
    client.force_login(user)
    return user


@pytest.fixture
def product(producer):
    # 100.00 BRL and affiliates at 35 %: the split example of the spec.
    return ProductFactory(producer=producer, price_minor=10000, affiliate_commission_percent=35)


@pytest.fixture
def cocreator():
    return UserFactory(validated=True, email="ana@example.com")


def invite_url(product) -> str:
    return reverse("coproduction:invite", args=[product.pk])


def invite_data(**overrides) -> dict:
    data = {
        "cocreator_email": "ana@example.com",
        "role": "expert",
        "duration": "eternal",
        "end_date": "",
        "sales_scope": "all",
        "affiliate_choice": "all",
        "commission_percent": "10",
        "coproduction_model": "revenue_share",
        "accept_terms": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------------- chooser


def test_the_product_chooser_lists_my_products_with_continue(client, producer, product):
    ProductFactory(name="Not mine")

    response = client.get(reverse("coproduction:index"))

    assert list(response.context["products"]) == [product]
    assert "Continue" in text(response)
    assert "Not mine" not in text(response)


def test_continue_goes_to_the_products_cocreator_list(client, product):
    response = client.get(reverse("coproduction:index"), {"product": product.pk}, follow=True)

    assert response.redirect_chain == [(reverse("coproduction:product", args=[product.pk]), 302)]
    assert "Invite cocreator" in text(response)


@pytest.mark.parametrize("chosen", ["theirs", "abc", "999999", "-1"])
def test_continue_with_someone_elses_or_a_bad_product_id_shows_a_message(client, product, chosen):
    theirs = ProductFactory(name="Their product")
    value = str(theirs.pk) if chosen == "theirs" else chosen

    response = client.get(reverse("coproduction:index"), {"product": value})

    assert response.status_code == 200
    assert "Choose one of your products." in text(response)
    assert "Their product" not in text(response)


def test_the_product_list_shows_each_cocreator_with_status_and_actions(client, product):
    pending = make_contract(product=product)
    active = make_contract(product=product, status=Contract.Status.ACTIVE)
    make_change(active)

    page = text(client.get(reverse("coproduction:product", args=[product.pk])))

    assert pending.cocreator.email in page and active.cocreator.email in page
    assert reverse("coproduction:resend", args=[pending.pk]) in page
    assert reverse("coproduction:resend", args=[active.pk]) not in page
    assert reverse("coproduction:change", args=[active.pk]) in page
    assert reverse("coproduction:change", args=[pending.pk]) not in page
    assert "Commission percentage: pending approval" in page


# --------------------------------------------------------------------------------- invite


def test_invite_creates_a_pending_contract_and_emails_the_cocreator_a_link(
    client, producer, product, cocreator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(product), invite_data(automatic_sales_recovery="on"))

    assert response.status_code == 302
    assert response.url == reverse("coproduction:product", args=[product.pk])
    contract = Contract.objects.get()
    assert (contract.product, contract.cocreator, contract.status) == (
        product,
        cocreator,
        Contract.Status.PENDING,
    )
    assert contract.commission_percent == Decimal("10")
    assert contract.automatic_sales_recovery is True
    assert TermsAcceptance.objects.filter(contract=contract, user=producer).exists()
    (message,) = mail.outbox
    assert message.to == ["ana@example.com"]
    link = link_in(message)
    client.force_login(cocreator)
    assert client.get(link).url == reverse("coproduction:information", args=[contract.pk])


def test_invite_success_shows_a_message_on_the_list(client, product, cocreator):
    response = client.post(invite_url(product), invite_data(), follow=True)

    assert "Invitation sent to ana@example.com." in text(response)
    assert "ana@example.com" in text(response)


def test_an_htmx_invite_answers_with_hx_redirect(client, product, cocreator):
    response = client.post(invite_url(product), invite_data(), **HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("coproduction:product", args=[product.pk])
    assert Contract.objects.count() == 1


def test_invite_saves_the_chosen_affiliates_and_end_date(client, product, cocreator):
    chosen = AffiliationFactory(product=product, approved=True)
    AffiliationFactory(product=product, approved=True)
    end = timezone.localdate() + timedelta(days=90)

    response = client.post(
        invite_url(product),
        invite_data(
            duration="date",
            end_date=end.isoformat(),
            sales_scope="affiliate",
            affiliate_choice="chosen",
            affiliates=[chosen.pk],
            specific_affiliate_percent="on",
            affiliate_commission_percent="20",
        ),
    )

    assert response.status_code == 302
    contract = Contract.objects.get()
    assert contract.end_date == end
    assert contract.all_affiliates is False
    assert list(contract.affiliates.all()) == [chosen]
    assert contract.affiliate_commission_percent == Decimal("20")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"cocreator_email": "nobody@example.com"},
            "No active account uses this email.",
            id="unknown-email",
        ),
        pytest.param({"cocreator_email": "not an email"}, "Enter a valid email", id="bad-email"),
        pytest.param({"commission_percent": "0"}, "The percentage must be above 0.", id="0%"),
        pytest.param({"commission_percent": "71"}, "at most 70 %.", id="71%"),
        pytest.param({"commission_percent": "abc"}, "Enter a number.", id="abc"),
        pytest.param({"commission_percent": ""}, "This field is required.", id="no-percent"),
        pytest.param(
            {"duration": "date", "end_date": "2020-01-01"},
            "The contract end date must be after today.",
            id="end-date-in-the-past",
        ),
        pytest.param(
            {"duration": "date", "end_date": ""},
            "Enter the contract end date.",
            id="set-date-without-date",
        ),
        pytest.param(
            {"duration": "date", "end_date": "31/31/2030"}, "Enter a valid date.", id="bad-date"
        ),
        pytest.param(
            {"specific_affiliate_percent": "on", "affiliate_commission_percent": ""},
            "Enter the percentage for affiliate sales.",
            id="affiliate-percent-toggle-without-percent",
        ),
        pytest.param(
            {"specific_affiliate_percent": "on", "affiliate_commission_percent": "80"},
            "at most 70 %.",
            id="affiliate-percent-80",
        ),
        pytest.param(
            {"accept_terms": None},
            "Read and accept the Co-creation Terms of Use to send the invitation.",
            id="terms-not-accepted",
        ),
        pytest.param({"role": "boss"}, "Select a valid choice.", id="unknown-role"),
        pytest.param({"sales_scope": "some"}, "Select a valid choice.", id="unknown-scope"),
    ],
)
def test_bad_invite_input_shows_a_clear_message_and_creates_nothing(
    client, product, cocreator, overrides, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(product), invite_data(**overrides))

    assert response.status_code == 200
    assert message in text(response)
    assert Contract.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"duration": "eternal", "end_date": "garbage"}, id="end-date-when-eternal"),
        pytest.param(
            {
                "sales_scope": "direct",
                "affiliate_choice": "chosen",
                "affiliates": ["999999"],
                "specific_affiliate_percent": "on",
                "affiliate_commission_percent": "abc",
            },
            id="affiliate-fields-on-direct-only",
        ),
        pytest.param(
            {"specific_affiliate_percent": None, "affiliate_commission_percent": "abc"},
            id="affiliate-percent-with-its-toggle-off",
        ),
    ],
)
def test_input_in_fields_that_do_not_apply_is_ignored(client, product, cocreator, overrides):
    """Those fields are not on the screen: an error there could never be shown or fixed."""
    response = client.post(invite_url(product), invite_data(**overrides))

    assert response.status_code == 302
    contract = Contract.objects.get()
    assert contract.end_date is None
    assert contract.affiliate_commission_percent is None
    assert contract.all_affiliates is True


def test_an_empty_invite_post_shows_what_is_missing(client, product):
    """The CSRF token may travel in a header (HTMX): the body can be empty."""
    response = client.post(invite_url(product), {})

    assert response.status_code == 200
    assert response.context["form"].errors["cocreator_email"] == ["This field is required."]
    assert Contract.objects.count() == 0


def test_inviting_an_unvalidated_account_is_refused(client, product):
    UserFactory(email="ana@example.com")

    response = client.post(invite_url(product), invite_data())

    assert response.status_code == 200
    assert "This person's account is not validated yet." in text(response)
    assert Contract.objects.count() == 0


def test_inviting_yourself_is_refused(client, producer, product):
    response = client.post(invite_url(product), invite_data(cocreator_email=producer.email))

    assert "You are the producer of this product; invite someone else." in text(response)
    assert Contract.objects.count() == 0


@pytest.mark.parametrize("with_affiliates", [True, False], ids=["has-affiliates", "none-yet"])
def test_choosing_no_affiliate_is_a_visible_error(client, product, cocreator, with_affiliates):
    if with_affiliates:
        AffiliationFactory(product=product, approved=True)

    response = client.post(invite_url(product), invite_data(affiliate_choice="chosen"))

    assert response.status_code == 200
    assert "Choose at least one affiliate, or all affiliates." in text(response)
    assert Contract.objects.count() == 0


@pytest.mark.parametrize("with_affiliates", [True, False], ids=["has-affiliates", "none-yet"])
def test_an_affiliation_of_another_product_is_a_form_error(
    client, product, cocreator, with_affiliates
):
    if with_affiliates:
        AffiliationFactory(product=product, approved=True)
    foreign = AffiliationFactory(approved=True)

    response = client.post(
        invite_url(product),
        invite_data(affiliate_choice="chosen", affiliates=[foreign.pk]),
    )

    assert response.status_code == 200
    assert response.context["form"].errors["affiliates"]
    assert f"Select a valid choice. {foreign.pk} is not one of the available choices." in text(
        response
    )
    assert Contract.objects.count() == 0


def test_a_share_over_70_percent_is_refused_with_the_rule(client, product, cocreator):
    make_contract(product=product, status=Contract.Status.ACTIVE, commission_percent=30)

    response = client.post(invite_url(product), invite_data(commission_percent="41"))

    assert response.status_code == 200
    page = text(response)
    assert "The producer must keep at least 30 % of every sale" in page
    assert "direct sales would share 71 %" in page
    assert Contract.objects.filter(cocreator=cocreator).count() == 0


def test_pending_invitations_count_towards_the_70_percent(client, product, cocreator):
    make_contract(product=product, commission_percent=60)

    response = client.post(invite_url(product), invite_data(commission_percent="11"))

    assert "would share 71 %" in text(response)
    assert Contract.objects.filter(cocreator=cocreator).count() == 0


def test_exactly_70_percent_is_allowed(client, product, cocreator):
    make_contract(product=product, status=Contract.Status.ACTIVE, commission_percent=30)

    response = client.post(invite_url(product), invite_data(commission_percent="40"))

    assert response.status_code == 302
    assert Contract.objects.filter(cocreator=cocreator).exists()


def test_a_double_submitted_invite_creates_one_contract(
    client, product, cocreator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(invite_url(product), invite_data())
        second = client.post(invite_url(product), invite_data())

    assert first.status_code == 302
    assert second.status_code == 200
    assert "already has a pending invitation" in text(second)
    assert Contract.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_invite_page_shows_the_terms_of_use_and_the_seed_labels(client, product):
    page = text(client.get(invite_url(product)))

    for label in [
        "Cocreator Email",
        "What will be the cocreator's role?",
        "Contract end date",
        "Set contract end date",
        "Eternal",
        "Receive commissions from which sales?",
        "Commission Percentage",
        "Would you like to set a specific commission percentage for Affiliate sales?",
        "Co-creation Model",
        "Product with automatic sales recovery",
        "Co-creation Terms of Use",
        "The main Producer remains responsible",
    ]:
        assert label in page, label


# --------------------------------------------------------------------------------- refresh


def refresh(client, product, **overrides):
    return client.post(invite_url(product), {**invite_data(**overrides), "_refresh": "1"}, **HTMX)


def shown(response) -> set[str]:
    page = text(response)
    return {
        name
        for name in ("end_date", "affiliate_choice", "affiliates", "affiliate_commission_percent")
        if f'id="field-{name}"' in page
    }


def test_refresh_returns_only_the_terms_form_partial_and_saves_nothing(client, product, cocreator):
    response = refresh(client, product)

    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<div id="terms-form"')
    assert "<html" not in page
    assert 'id="messages"' in page and 'hx-swap-oob="true"' in page
    assert Contract.objects.count() == 0


def test_refresh_does_not_judge_half_filled_input(client, product):
    response = refresh(client, product, cocreator_email="", commission_percent="", role="")

    assert "This field is required." not in text(response)
    assert Contract.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        pytest.param({}, {"affiliate_choice"}, id="eternal-all-sales"),
        pytest.param({"duration": "date"}, {"end_date", "affiliate_choice"}, id="set-date"),
        pytest.param({"sales_scope": "direct"}, set(), id="direct-only"),
        pytest.param(
            {
                "sales_scope": "direct",
                "affiliate_choice": "chosen",
                "specific_affiliate_percent": "on",
            },
            set(),
            id="direct-only-hides-affiliate-choices",
        ),
        pytest.param(
            {"sales_scope": "affiliate", "affiliate_choice": "chosen"},
            {"affiliate_choice", "affiliates"},
            id="chosen-affiliates",
        ),
        pytest.param(
            {"specific_affiliate_percent": "on"},
            {"affiliate_choice", "affiliate_commission_percent"},
            id="specific-affiliate-percent",
        ),
    ],
)
def test_refresh_shows_only_the_fields_that_apply(client, product, overrides, fields):
    AffiliationFactory(product=product, approved=True)

    response = refresh(client, product, **overrides)

    assert shown(response) == fields


def test_the_full_page_hides_the_conditional_fields_at_first(client, product):
    assert shown(client.get(invite_url(product))) == {"affiliate_choice"}


def test_refresh_keeps_what_was_typed(client, product):
    response = refresh(
        client, product, cocreator_email="typed@example.com", commission_percent="12"
    )

    page = text(response)
    assert 'value="typed@example.com"' in page
    assert 'value="12"' in page


def test_refresh_previews_the_split_of_the_spec_example(client, product):
    response = refresh(client, product, commission_percent="10")

    preview = response.context["preview"]
    assert preview.price == "R$100.00"
    assert [(line.label, line.amount) for line in preview.direct] == [
        ("Platform fee", "R$10.40"),
        ("This cocreator", "R$8.96"),
        ("Producer", "R$80.64"),
    ]
    assert [(line.label, line.amount) for line in preview.affiliate] == [
        ("Platform fee", "R$10.40"),
        ("Affiliate", "R$31.36"),
        ("This cocreator", "R$5.82"),
        ("Producer", "R$52.42"),
    ]
    page = text(response)
    for amount in ("R$10.40", "R$8.96", "R$31.36", "R$5.82", "R$52.42"):
        assert amount in page


def test_the_preview_counts_other_cocreators(client, product):
    make_contract(product=product, status=Contract.Status.ACTIVE, commission_percent=20)

    response = refresh(client, product, commission_percent="10")

    assert [(line.label, line.amount) for line in response.context["preview"].direct] == [
        ("Platform fee", "R$10.40"),
        ("This cocreator", "R$8.96"),
        ("Other cocreators", "R$17.92"),
        ("Producer", "R$62.72"),
    ]


def test_the_preview_uses_the_chosen_affiliates_commission(client, product):
    chosen = AffiliationFactory(product=product, approved=True, commission_percent=50)

    response = refresh(
        client,
        product,
        sales_scope="affiliate",
        affiliate_choice="chosen",
        affiliates=[chosen.pk],
        commission_percent="10",
    )

    # 89.60 net, affiliate 50 % → 44.80, 10 % of the 44.80 left → 4.48.
    assert [(line.label, line.amount) for line in response.context["preview"].affiliate] == [
        ("Platform fee", "R$10.40"),
        ("Affiliate", "R$44.80"),
        ("This cocreator", "R$4.48"),
        ("Producer", "R$40.32"),
    ]


def test_the_preview_says_too_much_over_70_percent(client, product):
    make_contract(product=product, status=Contract.Status.ACTIVE, commission_percent=30)

    over = refresh(client, product, commission_percent="41")
    fine = refresh(client, product, commission_percent="40")

    assert "Too much: direct sales would share 71 % with cocreators." in text(over)
    assert "Too much" not in text(fine)
    assert Contract.objects.count() == 1


def test_the_preview_survives_a_percentage_that_is_not_a_number(client, product):
    response = refresh(client, product, commission_percent="abc")

    assert response.status_code == 200
    assert [(line.label, line.amount) for line in response.context["preview"].direct] == [
        ("Platform fee", "R$10.40"),
        ("This cocreator", "R$0.00"),
        ("Producer", "R$89.60"),
    ]


# --------------------------------------------------------------------------------- change


@pytest.fixture
def active(product):
    return make_contract(
        product=product,
        cocreator=UserFactory(validated=True, email="partner@example.com"),
        status=Contract.Status.ACTIVE,
        commission_percent=Decimal("10"),
    )


def change_url(contract) -> str:
    return reverse("coproduction:change", args=[contract.pk])


def change_data(**overrides) -> dict:
    data = {
        "duration": "eternal",
        "end_date": "",
        "sales_scope": "all",
        "affiliate_choice": "all",
        "commission_percent": "10.00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_propose_change_is_prefilled_with_the_current_terms(client, product):
    end = timezone.localdate() + timedelta(days=30)
    chosen = AffiliationFactory(product=product, approved=True)
    AffiliationFactory(product=product, approved=True)
    contract = make_contract(
        product=product,
        status=Contract.Status.ACTIVE,
        commission_percent=Decimal("12.5"),
        affiliate_commission_percent=Decimal("7"),
        end_date=end,
        all_affiliates=False,
    )
    contract.affiliates.set([chosen])

    response = client.get(change_url(contract))

    form = response.context["form"]
    assert form.value("commission_percent") == Decimal("12.5")
    page = text(response)
    assert 'value="12.50"' in page
    assert f'value="{end.isoformat()}"' in page
    assert 'value="7.00"' in page
    assert f'value="{chosen.pk}"' in page
    assert shown(response) == {
        "end_date",
        "affiliate_choice",
        "affiliates",
        "affiliate_commission_percent",
    }
    assert "Cocreator Email" not in page


def test_propose_change_creates_a_pending_request_and_emails_the_cocreator(
    client, producer, active, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(active), change_data(commission_percent="15"))

    assert response.status_code == 302
    assert response.url == reverse("coproduction:history", args=[active.pk])
    change = ChangeRequest.objects.get()
    assert (change.status, change.requested_by, change.after) == (
        ChangeRequest.Status.PENDING,
        producer,
        {"commission_percent": "15.00"},
    )
    active.refresh_from_db()
    assert active.commission_percent == Decimal("10")  # nothing changes before the answer
    (message,) = mail.outbox
    assert message.to == ["partner@example.com"]
    assert "/co-productions/link/" in link_in(message)


def test_an_htmx_change_answers_with_hx_redirect(client, active):
    response = client.post(change_url(active), change_data(commission_percent="15"), **HTMX)

    assert response["HX-Redirect"] == reverse("coproduction:history", args=[active.pk])
    assert ChangeRequest.objects.count() == 1


def test_proposing_no_change_says_so(client, active):
    response = client.post(change_url(active), change_data())

    assert response.status_code == 200
    assert "Nothing changed: edit at least one term to propose a change." in text(response)
    assert ChangeRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"commission_percent": "71"}, "at most 70 %.", id="71%"),
        pytest.param({"commission_percent": "x"}, "Enter a number.", id="not-a-number"),
        pytest.param(
            {"duration": "date", "end_date": "2001-01-01"},
            "The contract end date must be after today.",
            id="past-date",
        ),
    ],
)
def test_a_bad_change_shows_a_message_and_creates_nothing(client, active, overrides, message):
    response = client.post(change_url(active), change_data(**overrides))

    assert message in text(response)
    assert ChangeRequest.objects.count() == 0


def test_an_empty_change_post_shows_what_is_missing(client, active):
    response = client.post(change_url(active), {})

    assert response.status_code == 200
    assert response.context["form"].errors["commission_percent"] == ["This field is required."]
    assert ChangeRequest.objects.count() == 0


def test_a_change_over_70_percent_is_refused(client, product, active):
    make_contract(product=product, status=Contract.Status.ACTIVE, commission_percent=60)

    response = client.post(change_url(active), change_data(commission_percent="11"))

    assert "would share 71 %" in text(response)
    assert ChangeRequest.objects.count() == 0


def test_a_second_change_while_one_is_pending_is_refused(client, active):
    make_change(active)

    response = client.post(change_url(active), change_data(commission_percent="20"))

    assert "Another request is waiting for an answer on this contract." in text(response)
    assert ChangeRequest.objects.count() == 1


@pytest.mark.parametrize("status", ["pending", "declined", "canceled", "ended", "expired"])
def test_changes_are_proposed_only_on_active_contracts(client, product, status):
    contract = make_contract(product=product, status=status)

    response = client.get(change_url(contract), follow=True)

    assert response.redirect_chain == [(reverse("coproduction:product", args=[product.pk]), 302)]
    assert "Changes can be proposed only on an active contract." in text(response)


def test_the_change_preview_replaces_the_contracts_current_share(client, product, active):
    make_contract(product=product, status=Contract.Status.ACTIVE, commission_percent=50)

    fine = client.post(
        change_url(active), {**change_data(commission_percent="20"), "_refresh": "1"}, **HTMX
    )
    over = client.post(
        change_url(active), {**change_data(commission_percent="21"), "_refresh": "1"}, **HTMX
    )

    assert "<html" not in text(fine)
    assert "Too much" not in text(fine)
    assert "Too much: direct sales would share 71 % with cocreators." in text(over)
    assert ChangeRequest.objects.count() == 0


# --------------------------------------------------------------------------------- resend


def resend(client, contract, **extra):
    return client.post(reverse("coproduction:resend", args=[contract.pk]), **extra)


def test_resend_right_after_sending_is_rate_limited(client, product):
    contract = make_contract(product=product)

    response = resend(client, contract, follow=True)

    assert "The invitation was sent recently. You can resend it in 15 minutes." in text(response)
    contract.refresh_from_db()
    assert contract.send_count == 1
    assert mail.outbox == []


def test_resend_after_the_wait_emails_the_invitation_again(
    client, product, django_capture_on_commit_callbacks
):
    contract = make_contract(product=product)

    with (
        time_machine.travel(timezone.now() + timedelta(minutes=16)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = resend(client, contract, follow=True)

    assert f"Invitation sent again to {contract.cocreator.email}." in text(response)
    contract.refresh_from_db()
    assert contract.send_count == 2
    (message,) = mail.outbox
    assert message.to == [contract.cocreator.email]
    link_in(message)


def test_resend_over_htmx_returns_the_contract_list_partial(client, product):
    contract = make_contract(product=product)

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = resend(client, contract, **HTMX)

    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="contract-list"')
    assert "<html" not in page
    assert contract.cocreator.email in page
    assert f"Invitation sent again to {contract.cocreator.email}." in page  # out-of-band


def test_resend_of_an_active_contract_is_refused(client, active):
    response = resend(client, active, follow=True)

    assert "Only pending invitations can be resent." in text(response)
    active.refresh_from_db()
    assert active.send_count == 1


def test_resend_stops_after_five_sends(client, product):
    contract = make_contract(
        product=product, send_count=5, last_sent_at=timezone.now() - timedelta(days=1)
    )

    response = resend(client, contract, follow=True)

    assert "This invitation was already sent 5 times." in text(response)
    contract.refresh_from_db()
    assert contract.send_count == 5


# --------------------------------------------------------------------------------- cancel


def cancel_url(contract) -> str:
    return reverse("coproduction:cancel", args=[contract.pk])


def test_cancel_asks_for_confirmation_first(client, product, active):
    pending = make_contract(product=product)

    pending_page = text(client.get(cancel_url(pending)))
    active_page = text(client.get(cancel_url(active)))

    assert "Cancel invitation" in pending_page
    assert "Request termination" in active_page
    assert "needs the cocreator's approval" in active_page
    pending.refresh_from_db()
    assert pending.status == Contract.Status.PENDING


def test_canceling_a_pending_invitation_is_immediate(
    client, product, django_capture_on_commit_callbacks
):
    contract = make_contract(product=product)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(contract), follow=True)

    assert "Invitation canceled." in text(response)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CANCELED
    (message,) = mail.outbox
    assert message.to == [contract.cocreator.email]


def test_canceling_an_active_contract_requests_termination(
    client, producer, active, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(active), follow=True)

    assert "Termination requested. The contract ends when the cocreator approves it." in text(
        response
    )
    active.refresh_from_db()
    assert active.status == Contract.Status.ACTIVE
    change = ChangeRequest.objects.get()
    assert (change.kind, change.status, change.requested_by) == (
        ChangeRequest.Kind.TERMINATION,
        ChangeRequest.Status.PENDING,
        producer,
    )
    (message,) = mail.outbox
    assert message.to == ["partner@example.com"]


@pytest.mark.parametrize("status", ["declined", "canceled", "ended", "expired"])
def test_canceling_a_closed_contract_says_so(client, product, status):
    contract = make_contract(product=product, status=status)

    response = client.post(cancel_url(contract), follow=True)

    assert "This contract is already closed." in text(response)
    contract.refresh_from_db()
    assert contract.status == status


def test_canceling_twice_while_termination_is_pending_says_so(client, active):
    client.post(cancel_url(active))

    response = client.post(cancel_url(active), follow=True)

    assert "Another request is waiting for an answer" in text(response)
    assert ChangeRequest.objects.count() == 1


def test_the_preview_shows_the_70_percent_error_while_a_single_percentage_is_typed(client):
    """Above 70 % the field refuses the value on submit; the live preview says so already."""
    product = ProductFactory(price_minor=10000)
    client.force_login(product.producer)
    response = client.post(
        reverse("coproduction:invite", args=[product.pk]),
        {"_refresh": "1", "duration": "eternal", "sales_scope": "all", "commission_percent": "80"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Too much" in html
    assert "80 %" in html
