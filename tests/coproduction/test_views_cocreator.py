"""The cocreator's screens (Products > My Products > I am a cocreator): the two tabs,
Co-production Information, Accept invite, Decline, Request end of co-production."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from coproduction.models import ChangeRequest, Contract, TermsAcceptance, TermsOfUse
from tests.coproduction.test_views_access import HTMX, make_change, make_contract, text
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(client):
    user = UserFactory(validated=True)
    client.force_login(user)
    return user


@pytest.fixture
def producer():
    return UserFactory(validated=True, full_name="Paula Producer", email="paula@example.com")


@pytest.fixture
def invitation(me, producer):
    return make_contract(product=ProductFactory(producer=producer, name="Course A"), cocreator=me)


@pytest.fixture
def active(me, producer):
    return make_contract(
        product=ProductFactory(producer=producer, name="Course B"),
        cocreator=me,
        status=Contract.Status.ACTIVE,
    )


def tab(client, name, **extra):
    return client.get(reverse("coproduction:cocreator"), {"tab": name}, **extra)


# --------------------------------------------------------------------------------- tabs


def test_invitations_received_lists_pending_invitations_only(client, me):
    pending = make_contract(cocreator=me)
    others = [
        make_contract(cocreator=me, status=s) for s in Contract.Status.values if s != "pending"
    ]
    make_contract()  # someone else's invitation

    response = tab(client, "invitations")

    assert list(response.context["contracts"]) == [pending]
    page = text(response)
    assert "Invitations received" in page and "Confirmed co-productions" in page
    assert pending.product.name in page
    assert all(c.product.name not in page for c in others)
    assert reverse("coproduction:accept", args=[pending.pk]) in page
    assert reverse("coproduction:decline", args=[pending.pk]) in page
    assert reverse("coproduction:information", args=[pending.pk]) in page


def test_invitations_is_the_default_tab(client, invitation):
    response = client.get(reverse("coproduction:cocreator"))

    assert response.context["tab"] == "invitations"
    assert list(response.context["contracts"]) == [invitation]


def test_confirmed_co_productions_lists_active_ended_and_expired(client, me):
    confirmed = {make_contract(cocreator=me, status=s) for s in ("active", "ended", "expired")}
    hidden = [make_contract(cocreator=me, status=s) for s in ("pending", "declined", "canceled")]

    response = tab(client, "confirmed")

    assert set(response.context["contracts"]) == confirmed
    page = text(response)
    assert all(c.product.name in page for c in confirmed)
    assert all(c.product.name not in page for c in hidden)


def test_confirmed_rows_offer_history_and_only_active_ones_request_end(client, me, active):
    ended = make_contract(cocreator=me, status=Contract.Status.ENDED)

    page = text(tab(client, "confirmed"))

    assert reverse("coproduction:history", args=[active.pk]) in page
    assert reverse("coproduction:history", args=[ended.pk]) in page
    assert reverse("coproduction:request_end", args=[active.pk]) in page
    assert reverse("coproduction:request_end", args=[ended.pk]) not in page
    assert reverse("coproduction:accept", args=[active.pk]) not in page


def test_confirmed_rows_show_the_status_and_each_change_awaiting_approval(client, me, active):
    make_change(active)

    page = text(tab(client, "confirmed"))

    assert '<span class="badge badge-contract-active">Active</span>' in page
    assert "Commission percentage: pending approval" in page
    assert 'title="Requested by Paula Producer"' in page


def test_an_unknown_tab_falls_back_to_invitations(client, invitation):
    response = tab(client, "nonsense")

    assert response.status_code == 200
    assert list(response.context["contracts"]) == [invitation]


def test_switching_tabs_over_htmx_returns_the_list_partial(client, invitation, active):
    response = tab(client, "confirmed", **HTMX)

    page = text(response)
    assert page.lstrip().startswith('<section id="cocreator-list"')
    assert "<html" not in page
    assert "Course B" in page and "Course A" not in page
    assert '<a class="tab active" href="/products/cocreator/?tab=confirmed"' in page


def test_empty_tabs_say_what_appears_there(client, me):
    assert "No invitations" in text(tab(client, "invitations"))
    assert "No co-productions yet" in text(tab(client, "confirmed"))


# --------------------------------------------------------------------------------- information


def test_information_shows_everything_the_seed_lists(client, me, producer):
    contract = make_contract(
        product=ProductFactory(producer=producer),
        cocreator=me,
        commission_percent=Decimal("12.5"),
        affiliate_commission_percent=Decimal("8"),
        end_date=date(2031, 3, 9),
        coproduction_model=Contract.CoproductionModel.LAUNCH_PARTNERSHIP,
    )

    response = client.get(reverse("coproduction:information", args=[contract.pk]))

    page = text(response)
    for expected in [
        "Responsible Producer",
        "Paula Producer (paula@example.com)",
        "Direct sales commission",
        "12.50 %",
        "Commission rules",
        "All sales.",
        "Affiliate sales: 8 %",
        "Co-production duration",
        "Until Mar 9, 2031",
        "Co-production model",
        "Launch partnership",
        "Co-production Terms of Use (version 1)",
        TermsOfUse.objects.get(version=1).body.splitlines()[0],
        "Accept invite",
        "Decline cocreation invitation",
    ]:
        assert expected in page, expected


def test_information_of_chosen_affiliates_and_eternal_contract(client, me):
    chosen = AffiliationFactory(approved=True, affiliate=UserFactory(email="aff@example.com"))
    contract = make_contract(
        product=chosen.product,
        cocreator=me,
        status=Contract.Status.ACTIVE,
        sales_scope=Contract.SalesScope.AFFILIATE,
        all_affiliates=False,
    )
    contract.affiliates.set([chosen])

    page = text(client.get(reverse("coproduction:information", args=[contract.pk])))

    assert "Eternal" in page
    assert "None: this contract covers affiliate sales only" in page
    assert "from aff@example.com." in page
    assert "Accept invite" not in page
    assert "Request end of co-production" in page


def test_information_over_htmx_is_the_partial(client, invitation):
    response = client.get(reverse("coproduction:information", args=[invitation.pk]), **HTMX)

    page = text(response)
    assert page.lstrip().startswith('<section id="information"')
    assert "<html" not in page
    assert "Responsible Producer" in page


# --------------------------------------------------------------------------------- accept


def accept_url(contract) -> str:
    return reverse("coproduction:accept", args=[contract.pk])


def test_the_accept_page_shows_the_information_and_the_terms_checkbox(client, invitation):
    page = text(client.get(accept_url(invitation)))

    assert "Responsible Producer" in page
    assert "I have read and accept the Co-production Terms of Use" in page
    assert 'name="accept_terms"' in page


def test_accepting_without_the_checkbox_is_refused(client, invitation):
    response = client.post(accept_url(invitation), {})

    assert response.status_code == 200
    assert "Read and accept the Co-production Terms of Use to join." in text(response)
    invitation.refresh_from_db()
    assert invitation.status == Contract.Status.PENDING
    assert invitation.accepted_at is None


def test_accepting_with_the_checkbox_activates_the_contract(
    client, me, invitation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(accept_url(invitation), {"accept_terms": "on"}, follow=True)

    assert response.redirect_chain == [(reverse("coproduction:cocreator") + "?tab=confirmed", 302)]
    assert "You are now a cocreator of Course A." in text(response)
    invitation.refresh_from_db()
    assert invitation.status == Contract.Status.ACTIVE
    assert invitation.accepted_at is not None
    assert TermsAcceptance.objects.filter(contract=invitation, user=me, terms__version=1).exists()
    (message,) = mail.outbox
    assert message.to == ["paula@example.com"]
    assert list(response.context["contracts"]) == [invitation]


def test_accepting_after_declining_says_the_invitation_is_no_longer_pending(client, invitation):
    client.post(reverse("coproduction:decline", args=[invitation.pk]))

    response = client.post(accept_url(invitation), {"accept_terms": "on"})

    assert response.status_code == 200
    assert "This invitation is no longer pending." in text(response)
    invitation.refresh_from_db()
    assert invitation.status == Contract.Status.DECLINED


def test_accepting_twice_says_so(client, invitation):
    client.post(accept_url(invitation), {"accept_terms": "on"})

    response = client.post(accept_url(invitation), {"accept_terms": "on"})

    assert "This invitation is no longer pending." in text(response)
    assert TermsAcceptance.objects.filter(contract=invitation).count() == 1


def test_accepting_a_canceled_invitation_says_so(client, invitation):
    Contract.objects.filter(pk=invitation.pk).update(status=Contract.Status.CANCELED)

    response = client.post(accept_url(invitation), {"accept_terms": "on"})

    assert "This invitation is no longer pending." in text(response)


# --------------------------------------------------------------------------------- decline


def decline_url(contract) -> str:
    return reverse("coproduction:decline", args=[contract.pk])


def test_decline_asks_for_confirmation(client, invitation):
    page = text(client.get(decline_url(invitation)))

    assert "Do you really want to decline the invitation from" in page
    assert "<strong>Paula Producer</strong>" in page
    assert "Confirm and decline" in page
    invitation.refresh_from_db()
    assert invitation.status == Contract.Status.PENDING


def test_confirming_declines_the_invitation(client, invitation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decline_url(invitation), follow=True)

    assert response.redirect_chain == [
        (reverse("coproduction:cocreator") + "?tab=invitations", 302)
    ]
    assert "You declined the invitation to Course A." in text(response)
    invitation.refresh_from_db()
    assert invitation.status == Contract.Status.DECLINED
    assert [m.to for m in mail.outbox] == [["paula@example.com"]]


def test_declining_an_accepted_contract_says_so(client, active):
    response = client.post(decline_url(active), follow=True)

    assert "This invitation is no longer pending." in text(response)
    active.refresh_from_db()
    assert active.status == Contract.Status.ACTIVE


# --------------------------------------------------------------------------------- request end


def end_url(contract) -> str:
    return reverse("coproduction:request_end", args=[contract.pk])


def test_request_end_asks_for_confirmation_with_submit_request(client, active):
    page = text(client.get(end_url(active)))

    assert "Request end of co-production" in page
    assert "Submit request" in page
    assert ChangeRequest.objects.count() == 0


def test_submitting_the_request_creates_a_termination_request(
    client, me, active, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(end_url(active), follow=True)

    assert response.redirect_chain == [(reverse("coproduction:history", args=[active.pk]), 302)]
    assert "Request sent. The co-production ends when the producer approves it." in text(response)
    change = ChangeRequest.objects.get()
    assert (change.kind, change.status, change.requested_by) == (
        ChangeRequest.Kind.TERMINATION,
        ChangeRequest.Status.PENDING,
        me,
    )
    active.refresh_from_db()
    assert active.status == Contract.Status.ACTIVE
    assert [m.to for m in mail.outbox] == [["paula@example.com"]]


def test_requesting_the_end_twice_says_a_request_is_waiting(client, active):
    client.post(end_url(active))

    response = client.post(end_url(active), follow=True)

    assert "Another request is waiting for an answer on this contract." in text(response)
    assert ChangeRequest.objects.count() == 1


def test_requesting_the_end_while_a_change_is_pending_says_so(client, active):
    make_change(active)

    response = client.post(end_url(active), follow=True)

    assert "Another request is waiting for an answer" in text(response)
    assert ChangeRequest.objects.filter(kind=ChangeRequest.Kind.TERMINATION).count() == 0


@pytest.mark.parametrize("status", ["pending", "declined", "ended", "expired"])
def test_requesting_the_end_of_a_contract_that_is_not_active_says_so(client, me, status):
    contract = make_contract(cocreator=me, status=status)

    response = client.post(end_url(contract), follow=True)

    assert response.status_code == 200
    assert "Only an active co-production can be ended." in text(response)
    assert ChangeRequest.objects.count() == 0


# --------------------------------------------------------------------------------- not mine


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("coproduction:accept", {"accept_terms": "on"}),
        ("coproduction:decline", {}),
        ("coproduction:request_end", {}),
    ],
)
def test_acting_on_someone_elses_contract_is_404(client, me, name, data):
    pending = make_contract()
    active = make_contract(status=Contract.Status.ACTIVE)
    target = active if name == "coproduction:request_end" else pending

    response = client.post(reverse(name, args=[target.pk]), data)

    assert response.status_code == 404
    target.refresh_from_db()
    assert target.status == ("active" if target is active else "pending")
    assert ChangeRequest.objects.count() == 0
