"""Change requests: proposing, accepting, refusing and withdrawing, every move of
ChangeRequest.TRANSITIONS, who may answer, and that only an accepted change alters a contract."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.models import AccountValidation
from coproduction.models import ChangeRequest, Contract, ContractEvent, EmailLink
from coproduction.services.changes import (
    change_request_accept,
    change_request_propose,
    change_request_refuse,
    change_request_withdraw,
)
from coproduction.services.links import email_link_use
from tests.coproduction.factories import (
    ChangeRequestFactory,
    ContractFactory,
    change_fields,
    emails_to,
    the_link,
)
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = ChangeRequest.Status
TERMS = (
    "status",
    "end_date",
    "sales_scope",
    "all_affiliates",
    "commission_percent",
    "affiliate_commission_percent",
    "role",
    "coproduction_model",
    "automatic_sales_recovery",
    "accepted_at",
    "closed_at",
)


def producer_localdate():
    """Today where the test producers are (validated in Brazil): a contract's end date is counted
    in the producer's zone, not UTC (they differ from 00:00 to 03:00 UTC)."""
    return timezone.localdate(timezone=ZoneInfo("America/Sao_Paulo"))


def in_days(days: int) -> datetime.date:
    return producer_localdate() + datetime.timedelta(days=days)


def contract_state(contract: Contract) -> dict:
    contract = Contract.objects.get(pk=contract.pk)
    state = {name: getattr(contract, name) for name in TERMS}
    state["affiliates"] = set(contract.affiliates.values_list("pk", flat=True))
    return state


def snapshot(change: ChangeRequest) -> dict:
    change = ChangeRequest.objects.get(pk=change.pk)
    return {
        "contract": contract_state(change.contract),
        "change": (change.status, change.responded_by_id, change.responded_at),
        "events": ContractEvent.objects.filter(contract=change.contract_id).count(),
        "links": EmailLink.objects.count(),
    }


def propose(contract, *, actor=None, **overrides) -> ChangeRequest:
    return change_request_propose(
        contract=contract,
        actor=actor or contract.product.producer,
        **change_fields(contract, **overrides),
    )


def assert_emailed_link(user, change) -> None:
    (message,) = emails_to(user)
    link = email_link_use(token=the_link(message), user=user)
    assert (link.contract, link.change_request) == (change.contract, change)


@pytest.fixture
def contract():
    return ContractFactory(active=True, commission_percent=Decimal("10"))


# Propose


def test_propose_stores_only_what_differs_and_changes_nothing_yet(
    contract, mailoutbox, django_capture_on_commit_callbacks
):
    producer, cocreator = contract.product.producer, contract.cocreator
    before = contract_state(contract)

    with django_capture_on_commit_callbacks(execute=True):
        change = propose(contract, commission_percent=Decimal("15"), end_date=in_days(60))

    assert (change.kind, change.status, change.requested_by) == (
        ChangeRequest.Kind.CHANGE,
        Status.PENDING,
        producer,
    )
    assert change.before == {"commission_percent": "10.00", "end_date": None}
    assert change.after == {"commission_percent": "15.00", "end_date": in_days(60).isoformat()}
    assert contract_state(contract) == before
    (event,) = contract.events.all()
    assert (event.action, event.actor, event.change_request) == (
        "change_requested",
        producer,
        change,
    )
    assert emails_to(producer) == []
    assert_emailed_link(cocreator, change)
    assert EmailLink.objects.get().purpose == EmailLink.Purpose.CHANGE


def test_propose_records_the_affiliates_added_and_removed():
    product = ProductFactory()
    kept, dropped, added = (AffiliationFactory(product=product, approved=True) for _ in range(3))
    contract = ContractFactory(product=product, active=True, affiliates=[kept, dropped])

    change = propose(contract, affiliates=[kept, added])

    assert list(change.after) == ["affiliates"]
    assert change.after["affiliates"]["all"] is False
    assert [item["id"] for item in change.affiliates_added] == [added.pk]
    assert [item["id"] for item in change.affiliates_removed] == [dropped.pk]
    assert change.affiliates_added[0]["email"] == added.affiliate.email


@pytest.mark.parametrize(
    "same",
    [
        {},
        {"commission_percent": Decimal("10.00")},
        {"affiliate_commission_percent": None, "affiliates": []},
    ],
    ids=["identical", "same percent written differently", "no affiliates with all"],
)
def test_propose_with_nothing_changed_is_refused(same, contract):
    with pytest.raises(DomainError, match="Nothing changed"):
        propose(contract, **same)

    assert not ChangeRequest.objects.exists()
    assert not contract.events.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"commission_percent": Decimal("0")},
        {"commission_percent": Decimal("71")},
        {"end_date": producer_localdate},
        {"sales_scope": Contract.SalesScope.AFFILIATE, "all_affiliates": False, "affiliates": []},
    ],
    ids=["0 %", "71 %", "end date today", "no affiliate chosen"],
)
def test_propose_refuses_bad_terms(bad, contract):
    bad = {key: value() if callable(value) else value for key, value in bad.items()}

    with pytest.raises(DomainError):
        propose(contract, **bad)

    assert not ChangeRequest.objects.exists()


def test_propose_refuses_another_products_or_unapproved_affiliate(contract):
    for affiliation in (
        AffiliationFactory(approved=True),
        AffiliationFactory(product=contract.product),
    ):
        with pytest.raises(DomainError, match="approved affiliates of this product"):
            propose(contract, all_affiliates=False, affiliates=[affiliation])

    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("kind", list(ChangeRequest.Kind))
def test_propose_waits_while_another_request_is_pending(kind, contract):
    pending = ChangeRequestFactory(contract=contract, kind=kind)

    with pytest.raises(DomainError, match="Another request is waiting"):
        propose(contract, commission_percent=Decimal("12"))

    assert list(ChangeRequest.objects.all()) == [pending]


@pytest.mark.parametrize("status", [s for s in Contract.Status if s != Contract.Status.ACTIVE])
def test_propose_needs_an_active_contract(status):
    contract = ContractFactory(status=status)

    with pytest.raises(InvalidTransition):
        propose(contract, commission_percent=Decimal("12"))

    assert not ChangeRequest.objects.exists()


def test_propose_is_only_for_the_producer(contract):
    for intruder in (contract.cocreator, UserFactory(validated=True)):
        with pytest.raises(PermissionDenied):
            propose(contract, actor=intruder, commission_percent=Decimal("12"))

    assert not ChangeRequest.objects.exists()


# Accept / refuse / withdraw


def test_accepting_applies_exactly_the_proposed_terms(
    mailoutbox, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    a1, a2, a3 = (AffiliationFactory(product=product, approved=True) for _ in range(3))
    contract = ContractFactory(
        product=product,
        active=True,
        role=Contract.Role.LAUNCH,
        automatic_sales_recovery=True,
        end_date=in_days(30),
        sales_scope=Contract.SalesScope.ALL,
        commission_percent=Decimal("10"),
        affiliate_commission_percent=Decimal("5"),
        affiliates=[a1, a2],
    )
    untouched = {
        k: v
        for k, v in contract_state(contract).items()
        if k in ("role", "coproduction_model", "automatic_sales_recovery", "accepted_at")
    }
    change = propose(
        contract,
        end_date=in_days(90),
        sales_scope=Contract.SalesScope.AFFILIATE,
        affiliates=[a2, a3],
        commission_percent=Decimal("12.5"),
        affiliate_commission_percent=None,
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        change_request_accept(change=change, actor=contract.cocreator)

    state = contract_state(contract)
    assert state == {
        **untouched,
        "status": Contract.Status.ACTIVE,
        "closed_at": None,
        "end_date": in_days(90),
        "sales_scope": Contract.SalesScope.AFFILIATE,
        "all_affiliates": False,
        "affiliates": {a2.pk, a3.pk},
        "commission_percent": Decimal("12.50"),
        "affiliate_commission_percent": None,
    }
    change.refresh_from_db()
    assert (change.status, change.responded_by) == (Status.ACCEPTED, contract.cocreator)
    assert change.responded_at is not None
    assert contract.events.last().action == "change_accepted"
    assert contract.events.last().actor == contract.cocreator
    assert emails_to(contract.cocreator) == []
    assert_emailed_link(contract.product.producer, change)


@pytest.mark.parametrize(
    ("start", "proposed", "expected"),
    [
        ({"end_date": in_days(30)}, {"end_date": None}, {"end_date": None}),
        ({"end_date": None}, {"end_date": in_days(10)}, {"end_date": in_days(10)}),
        (
            {"sales_scope": Contract.SalesScope.DIRECT},
            {"sales_scope": Contract.SalesScope.ALL, "affiliate_commission_percent": Decimal("3")},
            {"sales_scope": Contract.SalesScope.ALL, "affiliate_commission_percent": Decimal("3")},
        ),
    ],
    ids=["to eternal", "to an end date", "direct to all with an affiliate percent"],
)
def test_accepting_applies_each_kind_of_term(start, proposed, expected):
    contract = ContractFactory(active=True, **start)
    before = contract_state(contract)
    change = propose(contract, **proposed)

    change_request_accept(change=change, actor=contract.cocreator)

    assert contract_state(contract) == {**before, **expected}


def test_accepting_a_move_from_chosen_to_all_affiliates_clears_the_list():
    product = ProductFactory()
    chosen = AffiliationFactory(product=product, approved=True)
    contract = ContractFactory(product=product, active=True, affiliates=[chosen])
    change = propose(contract, all_affiliates=True, affiliates=[])

    change_request_accept(change=change, actor=contract.cocreator)

    state = contract_state(contract)
    assert (state["all_affiliates"], state["affiliates"]) == (True, set())


def test_refusing_changes_nothing(contract, mailoutbox, django_capture_on_commit_callbacks):
    change = propose(contract, commission_percent=Decimal("20"), end_date=in_days(5))
    before = contract_state(contract)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        change_request_refuse(change=change, actor=contract.cocreator)

    assert contract_state(contract) == before
    change.refresh_from_db()
    assert (change.status, change.responded_by) == (Status.REFUSED, contract.cocreator)
    assert contract.events.last().action == "change_refused"
    assert emails_to(contract.cocreator) == []
    assert_emailed_link(contract.product.producer, change)


@pytest.mark.parametrize("kind", list(ChangeRequest.Kind))
def test_the_requester_withdraws(kind, contract, mailoutbox, django_capture_on_commit_callbacks):
    change = ChangeRequestFactory(contract=contract, kind=kind)
    before = contract_state(contract)

    with django_capture_on_commit_callbacks(execute=True):
        change_request_withdraw(change=change, actor=contract.product.producer)

    assert contract_state(contract) == before
    change.refresh_from_db()
    assert (change.status, change.responded_by) == (Status.WITHDRAWN, contract.product.producer)
    assert contract.events.last().action == "change_withdrawn"
    assert emails_to(contract.product.producer) == []
    assert_emailed_link(contract.cocreator, change)


def test_the_cocreator_withdraws_own_termination_request(contract):
    change = ChangeRequestFactory(contract=contract, by_cocreator=True)

    change_request_withdraw(change=change, actor=contract.cocreator)

    change.refresh_from_db()
    assert change.status == Status.WITHDRAWN
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE


@pytest.mark.parametrize("requested_by", ["producer", "cocreator"])
@pytest.mark.parametrize("answer", [change_request_accept, change_request_refuse])
def test_the_requester_cannot_answer_own_request(requested_by, answer, contract):
    change = ChangeRequestFactory(
        contract=contract, termination=True, by_cocreator=requested_by == "cocreator"
    )
    before = snapshot(change)

    with pytest.raises(PermissionDenied, match="other side"):
        answer(change=change, actor=change.requested_by)

    assert snapshot(change) == before


@pytest.mark.parametrize(
    "act", [change_request_accept, change_request_refuse, change_request_withdraw]
)
def test_strangers_take_no_part(act, contract):
    change = ChangeRequestFactory(contract=contract)
    before = snapshot(change)
    other_producer = ProductFactory().producer

    for stranger in (UserFactory(validated=True), other_producer):
        with pytest.raises(PermissionDenied):
            act(change=change, actor=stranger)

    assert snapshot(change) == before


@pytest.mark.parametrize("requested_by", ["producer", "cocreator"])
def test_only_the_requester_withdraws(requested_by, contract):
    change = ChangeRequestFactory(contract=contract, by_cocreator=requested_by == "cocreator")
    other = contract.cocreator if requested_by == "producer" else contract.product.producer
    before = snapshot(change)

    with pytest.raises(PermissionDenied, match="Only who made the request"):
        change_request_withdraw(change=change, actor=other)

    assert snapshot(change) == before


@pytest.mark.parametrize("answer", [change_request_accept, change_request_refuse])
def test_an_answerer_whose_account_is_not_validated_cannot_answer(answer, contract):
    change = ChangeRequestFactory(contract=contract)
    AccountValidation.objects.filter(user=contract.cocreator).update(
        status=AccountValidation.Status.PENDING
    )
    cocreator = type(contract.cocreator).objects.get(pk=contract.cocreator.pk)
    before = snapshot(change)

    with pytest.raises(DomainError, match="Validate your account"):
        answer(change=change, actor=cocreator)

    assert snapshot(change) == before


def test_accepting_a_change_whose_new_end_date_has_passed_is_refused(contract):
    change = ChangeRequestFactory(
        contract=contract,
        before={"end_date": None},
        after={"end_date": (producer_localdate() - datetime.timedelta(days=1)).isoformat()},
    )
    before = snapshot(change)

    with pytest.raises(DomainError, match="end date"):
        change_request_accept(change=change, actor=contract.cocreator)

    assert snapshot(change) == before


def test_a_pending_change_on_a_closed_contract_cannot_be_accepted():
    # The services withdraw requests when a contract closes; a row left pending by other means
    # must still not reopen or alter the closed contract.
    contract = ContractFactory(ended=True)
    change = ChangeRequestFactory(contract=contract)
    before = snapshot(change)

    with pytest.raises(InvalidTransition):
        change_request_accept(change=change, actor=contract.cocreator)

    assert snapshot(change) == before


# The whole table


def _answerer(change):
    contract = change.contract
    if change.requested_by_id == contract.product.producer_id:
        return contract.cocreator
    return contract.product.producer


ACTIONS = {
    Status.ACCEPTED: lambda change: change_request_accept(change=change, actor=_answerer(change)),
    Status.REFUSED: lambda change: change_request_refuse(change=change, actor=_answerer(change)),
    Status.WITHDRAWN: lambda change: change_request_withdraw(
        change=change, actor=change.requested_by
    ),
}
KINDS = {
    "change by producer": {},
    "termination by producer": {"termination": True},
    "termination by cocreator": {"by_cocreator": True},
}


def test_the_actions_cover_every_target_of_the_table():
    targets = {to for targets in ChangeRequest.TRANSITIONS.values() for to in targets}
    assert targets == set(ACTIONS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("start", "to"),
    [(start, to) for start in ChangeRequest.Status for to in ACTIONS],
)
def test_change_request_moves_follow_the_table(
    kind, start, to, mailoutbox, django_capture_on_commit_callbacks
):
    change = ChangeRequestFactory(status=start, **KINDS[kind])
    contract = change.contract
    before = snapshot(change)

    if to in ChangeRequest.TRANSITIONS[start]:
        with django_capture_on_commit_callbacks(execute=True):
            ACTIONS[to](change)
        change.refresh_from_db()
        assert change.status == to
        assert change.responded_at is not None
        assert contract.events.filter(action=f"change_{to}", change_request=change).exists()
        (message,) = mailoutbox
        notified = (
            change.requested_by if to != Status.WITHDRAWN else _answerer(change)
        )  # the other side of who acted
        assert message.to == [notified.email]
        contract.refresh_from_db()
        ended = to == Status.ACCEPTED and change.kind == ChangeRequest.Kind.TERMINATION
        assert contract.status == (Contract.Status.ENDED if ended else Contract.Status.ACTIVE)
        changed = to == Status.ACCEPTED and change.kind == ChangeRequest.Kind.CHANGE
        assert contract.commission_percent == (Decimal("20") if changed else Decimal("10"))
    else:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
            ACTIONS[to](change)
        assert snapshot(change) == before
        assert mailoutbox == []
