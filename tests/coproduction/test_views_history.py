"""Change History, seen by both sides: the records, who may answer what, HTMX answers, the
"Affiliates changed" detail, and replayed or unknown answers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from coproduction.models import ChangeRequest, Contract
from coproduction.services.changes import change_request_propose
from tests.coproduction.test_views_access import HTMX, make_change, make_contract, text
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def producer():
    return UserFactory(validated=True, email="paula@example.com")


@pytest.fixture
def cocreator():
    return UserFactory(validated=True, email="carl@example.com")


@pytest.fixture
def contract(producer, cocreator):
    return make_contract(
        product=ProductFactory(producer=producer),
        cocreator=cocreator,
        status=Contract.Status.ACTIVE,
        commission_percent=Decimal("10"),
    )


def history_url(contract) -> str:
    return reverse("coproduction:history", args=[contract.pk])


def answer_url(change, action: str) -> str:
    return reverse("coproduction:change_answer", args=[change.contract_id, change.pk, action])


def shown_date(value) -> str:
    return date_filter(timezone.localtime(value), "M j, Y H:i")


# --------------------------------------------------------------------------------- the list


@pytest.mark.parametrize("side", ["producer", "cocreator"])
def test_both_sides_see_each_record_with_type_dates_user_and_status(
    client, contract, producer, cocreator, side
):
    refused = make_change(
        contract,
        requested_at=datetime(2026, 1, 5, 10, 30, tzinfo=UTC),
        status=ChangeRequest.Status.REFUSED,
        responded_at=datetime(2026, 1, 7, 8, 15, tzinfo=UTC),
    )
    pending = make_change(
        contract,
        kind=ChangeRequest.Kind.TERMINATION,
        by=cocreator,
        requested_at=datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
    )
    client.force_login(producer if side == "producer" else cocreator)

    response = client.get(history_url(contract))

    assert list(response.context["changes"]) == [pending, refused]
    page = text(response)
    for header in (
        "Type of change",
        "Request date",
        "Cocreator response date",
        "User responsible for the change",
        "Request status",
    ):
        assert header in page
    refused_row = page[page.index(f'id="change-{refused.pk}"') :]
    pending_row = page[
        page.index(f'id="change-{pending.pk}"') : page.index(f'id="change-{refused.pk}"')
    ]
    assert "Commission percentage" in refused_row
    assert shown_date(refused.requested_at) in refused_row
    assert shown_date(refused.responded_at) in refused_row
    assert "paula@example.com" in refused_row
    assert "Refused" in refused_row and "by carl@example.com" in refused_row
    assert "Termination" in pending_row
    assert shown_date(pending.requested_at) in pending_row
    assert "carl@example.com" in pending_row
    assert "Pending approval" in pending_row


def test_a_contract_without_changes_says_so(client, contract, producer):
    client.force_login(producer)

    assert "No changes have been requested on this co-production." in text(
        client.get(history_url(contract))
    )


@pytest.mark.parametrize(
    ("requester", "viewer", "actions"),
    [
        ("producer", "cocreator", {"accept", "refuse"}),
        ("producer", "producer", {"withdraw"}),
        ("cocreator", "producer", {"accept", "refuse"}),
        ("cocreator", "cocreator", {"withdraw"}),
    ],
)
def test_accept_and_refuse_go_to_the_answerer_withdraw_to_the_requester(
    client, contract, producer, cocreator, requester, viewer, actions
):
    people = {"producer": producer, "cocreator": cocreator}
    kind = ChangeRequest.Kind.CHANGE if requester == "producer" else ChangeRequest.Kind.TERMINATION
    change = make_change(contract, kind=kind, by=people[requester])
    client.force_login(people[viewer])

    page = text(client.get(history_url(contract)))

    offered = {a for a in ("accept", "refuse", "withdraw") if answer_url(change, a) in page}
    assert offered == actions


@pytest.mark.parametrize("status", ["accepted", "refused", "withdrawn"])
def test_answered_records_offer_no_answer(client, contract, cocreator, status):
    change = make_change(contract, status=status)
    client.force_login(cocreator)

    page = text(client.get(history_url(contract)))

    assert all(answer_url(change, a) not in page for a in ("accept", "refuse", "withdraw"))
    assert reverse("coproduction:change_detail", args=[contract.pk, change.pk]) in page


# --------------------------------------------------------------------------------- answers


def test_accepting_over_htmx_applies_the_change_and_returns_the_history_partial(
    client, contract, cocreator, django_capture_on_commit_callbacks
):
    change = make_change(contract)
    client.force_login(cocreator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(answer_url(change, "accept"), **HTMX)

    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="change-history"')
    assert "<html" not in page
    assert "Accepted" in page
    assert 'id="messages"' in page and "Change accepted." in page
    assert "15 %" in page  # the contract line shows the new terms
    contract.refresh_from_db()
    assert contract.commission_percent == Decimal("15")
    change.refresh_from_db()
    assert (change.status, change.responded_by) == (ChangeRequest.Status.ACCEPTED, cocreator)


def test_refusing_over_htmx_keeps_the_terms(client, contract, cocreator):
    change = make_change(contract)
    client.force_login(cocreator)

    response = client.post(answer_url(change, "refuse"), **HTMX)

    page = text(response)
    assert page.lstrip().startswith('<div id="change-history"')
    assert "Change refused." in page
    contract.refresh_from_db()
    assert contract.commission_percent == Decimal("10")
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.REFUSED


def test_answering_without_htmx_redirects_to_the_history(client, contract, cocreator):
    change = make_change(contract)
    client.force_login(cocreator)

    response = client.post(answer_url(change, "accept"), follow=True)

    assert response.redirect_chain == [(history_url(contract), 302)]
    assert "Change accepted." in text(response)


def test_the_requester_withdraws_their_request(client, contract, producer):
    change = make_change(contract)
    client.force_login(producer)

    response = client.post(answer_url(change, "withdraw"), **HTMX)

    assert "Request withdrawn." in text(response)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.WITHDRAWN


def test_the_requester_cannot_accept_their_own_request(client, contract, producer):
    change = make_change(contract)
    client.force_login(producer)

    response = client.post(answer_url(change, "accept"), follow=True)

    assert "The other side answers this request." in text(response)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING
    contract.refresh_from_db()
    assert contract.commission_percent == Decimal("10")


def test_the_answerer_cannot_withdraw(client, contract, cocreator):
    change = make_change(contract)
    client.force_login(cocreator)

    response = client.post(answer_url(change, "withdraw"), follow=True)

    assert "Only who made the request can withdraw it." in text(response)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_accepting_twice_says_it_was_already_accepted(client, contract, cocreator, htmx):
    change = make_change(contract)
    client.force_login(cocreator)
    client.post(answer_url(change, "accept"))
    Contract.objects.filter(pk=contract.pk).update(commission_percent=Decimal("12"))

    extra = HTMX if htmx else {"follow": True}
    response = client.post(answer_url(change, "accept"), **extra)

    assert response.status_code == 200
    assert "This request was already accepted." in text(response)
    contract.refresh_from_db()
    assert contract.commission_percent == Decimal("12")  # not applied a second time


def test_refusing_after_accepting_says_so(client, contract, cocreator):
    change = make_change(contract)
    client.force_login(cocreator)
    client.post(answer_url(change, "accept"))

    response = client.post(answer_url(change, "refuse"), follow=True)

    assert "This request was already accepted." in text(response)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.ACCEPTED


@pytest.mark.parametrize("action", ["approve", "delete", "ACCEPT", "accept-all"])
def test_an_unknown_action_is_404(client, contract, cocreator, action):
    change = make_change(contract)
    client.force_login(cocreator)

    response = client.post(answer_url(change, action))

    assert response.status_code == 404
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_the_producer_answers_a_termination_request_from_the_same_history(
    client, contract, producer, cocreator, django_capture_on_commit_callbacks
):
    client.force_login(cocreator)
    client.post(reverse("coproduction:request_end", args=[contract.pk]))
    change = ChangeRequest.objects.get()
    client.force_login(producer)
    page = text(client.get(history_url(contract)))
    assert answer_url(change, "accept") in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(answer_url(change, "accept"), **HTMX)

    assert "Change accepted." in text(response)
    assert "Ended" in text(response)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED
    change.refresh_from_db()
    assert (change.kind, change.status, change.responded_by) == (
        ChangeRequest.Kind.TERMINATION,
        ChangeRequest.Status.ACCEPTED,
        producer,
    )


def test_the_cocreator_refuses_the_producers_termination_request(client, contract, cocreator):
    change = make_change(contract, kind=ChangeRequest.Kind.TERMINATION)
    client.force_login(cocreator)

    client.post(answer_url(change, "refuse"))

    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE


# --------------------------------------------------------------------------------- detail


@pytest.fixture
def affiliates_change(contract, producer):
    product = contract.product
    kept, dropped, added = (
        AffiliationFactory(
            product=product, approved=True, affiliate=UserFactory(email=f"{name}@example.com")
        )
        for name in ("kept", "dropped", "added")
    )
    Contract.objects.filter(pk=contract.pk).update(all_affiliates=False)
    contract.refresh_from_db()
    contract.affiliates.set([kept, dropped])
    return change_request_propose(
        contract=contract,
        actor=producer,
        end_date=None,
        sales_scope=Contract.SalesScope.ALL,
        all_affiliates=False,
        affiliates=[kept, added],
        commission_percent=Decimal("10"),
        affiliate_commission_percent=None,
    )


def section(page: str, start: str, end: str | None = None) -> str:
    tail = page[page.index(start) :]
    return tail[: tail.index(end)] if end else tail


def test_the_history_offers_affiliates_changed_for_an_affiliates_change(
    client, contract, cocreator, affiliates_change
):
    client.force_login(cocreator)

    page = text(client.get(history_url(contract)))

    assert "Affiliates changed" in page
    assert reverse("coproduction:change_detail", args=[contract.pk, affiliates_change.pk]) in page


@pytest.mark.parametrize("side", ["producer", "cocreator"])
def test_affiliates_changed_lists_the_affiliates_added_and_removed(
    client, contract, producer, cocreator, affiliates_change, side
):
    client.force_login(producer if side == "producer" else cocreator)

    response = client.get(
        reverse("coproduction:change_detail", args=[contract.pk, affiliates_change.pk]), **HTMX
    )

    page = text(response)
    assert page.lstrip().startswith('<div id="change-detail"')
    assert "<html" not in page
    added = section(page, "Affiliates added", "Affiliates removed")
    removed = section(page, "Affiliates removed")
    assert "added@example.com" in added
    assert "dropped@example.com" not in added and "kept@example.com" not in added
    assert "dropped@example.com" in removed
    assert "added@example.com" not in removed and "kept@example.com" not in removed


def test_the_change_detail_is_a_page_without_htmx(client, contract, cocreator, affiliates_change):
    client.force_login(cocreator)

    response = client.get(
        reverse("coproduction:change_detail", args=[contract.pk, affiliates_change.pk])
    )

    page = text(response)
    assert "<html" in page
    assert "Affiliates removed" in page
    assert history_url(contract) in page


def test_the_detail_of_a_percentage_change_shows_before_and_after(client, contract, cocreator):
    change = make_change(contract)
    client.force_login(cocreator)

    page = text(
        client.get(reverse("coproduction:change_detail", args=[contract.pk, change.pk]), **HTMX)
    )

    assert "Commission percentage" in page
    assert "10.00 %" in page and "15.00 %" in page
    assert "Affiliates added" not in page


def test_the_detail_of_a_termination_says_who_asked(client, contract, producer, cocreator):
    change = make_change(contract, kind=ChangeRequest.Kind.TERMINATION, by=cocreator)
    client.force_login(producer)

    page = text(
        client.get(reverse("coproduction:change_detail", args=[contract.pk, change.pk]), **HTMX)
    )

    assert "carl@example.com asked to end this co-production" in page


# ------------------------------------------------------------- answers from a later page


def _pending_on_page_two(contract):
    """A pending change older than 50 answered ones: Change History lists it on page 2."""
    from datetime import timedelta

    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    pending = make_change(contract, requested_at=start)
    ChangeRequest.objects.bulk_create(
        ChangeRequest(
            contract=contract,
            kind=ChangeRequest.Kind.CHANGE,
            status=ChangeRequest.Status.REFUSED,
            before={"commission_percent": "10.00"},
            after={"commission_percent": "15.00"},
            requested_by=contract.product.producer,
            requested_at=start + timedelta(days=n + 1),
            responded_at=start + timedelta(days=n + 1, hours=1),
            responded_by=contract.cocreator,
        )
        for n in range(50)
    )
    return pending


@pytest.mark.parametrize("htmx", [True, False])
def test_an_answer_from_page_two_comes_back_to_page_two(client, contract, cocreator, htmx):
    pending = _pending_on_page_two(contract)
    client.force_login(cocreator)
    page_two = client.get(history_url(contract), {"page": 2})
    html = page_two.content.decode()
    posted_to = answer_url(pending, "refuse") + "?page=2"
    assert f'action="{posted_to}"' in html  # the form keeps the page it is on

    headers = HTMX if htmx else {}
    response = client.post(posted_to, **headers)

    pending.refresh_from_db()
    assert pending.status == ChangeRequest.Status.REFUSED
    if htmx:
        assert response.status_code == 200
        assert response.context["page"].number == 2
        assert f'id="change-{pending.pk}"' in response.content.decode()
    else:
        assert response.status_code == 302
        assert response.url == history_url(contract) + "?page=2"


def test_an_answer_from_page_one_keeps_the_plain_address(client, contract, cocreator):
    pending = make_change(contract)
    client.force_login(cocreator)
    html = client.get(history_url(contract)).content.decode()
    assert f'action="{answer_url(pending, "refuse")}"' in html
    response = client.post(answer_url(pending, "refuse"))
    assert response.url == history_url(contract)
