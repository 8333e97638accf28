"""Contract lifecycle services: every move of Contract.TRANSITIONS, who may make it, the events
and the emails each writes, and the rules an invitation must meet."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.models import AccountValidation
from coproduction.models import (
    ChangeRequest,
    Contract,
    ContractEvent,
    EmailLink,
    TermsAcceptance,
    TermsOfUse,
)
from coproduction.services.changes import change_request_accept
from coproduction.services.contracts import (
    MAX_SENDS,
    contract_accept,
    contract_cancel,
    contract_decline,
    contract_invite,
    contract_request_end,
    contract_resend,
    contract_transition,
)
from coproduction.services.links import email_link_use
from tests.coproduction.factories import (
    ChangeRequestFactory,
    ContractFactory,
    emails_to,
    invite_fields,
    the_link,
)
from tests.factories import (
    AccountValidationFactory,
    AffiliationFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Status = Contract.Status


def producer_localdate():
    """Today where the test producers are (validated in Brazil): a contract's end date is counted
    in the producer's zone, not UTC (they differ from 00:00 to 03:00 UTC)."""
    return timezone.localdate(timezone=ZoneInfo("America/Sao_Paulo"))


TODAY = producer_localdate


def invite(product, cocreator_email, *, actor=None, **overrides) -> Contract:
    return contract_invite(
        product=product,
        actor=actor or product.producer,
        cocreator_email=cocreator_email,
        **invite_fields(**overrides),
    )


def snapshot(contract: Contract) -> dict:
    """Everything a refused action must leave as it was."""
    contract = Contract.objects.get(pk=contract.pk)
    return {
        "status": contract.status,
        "closed_at": contract.closed_at,
        "accepted_at": contract.accepted_at,
        "send_count": contract.send_count,
        "last_sent_at": contract.last_sent_at,
        "events": ContractEvent.objects.filter(contract=contract).count(),
        "changes": list(contract.changes.values_list("pk", "status")),
        "links": EmailLink.objects.filter(contract=contract).count(),
    }


def assert_emailed_link(user, contract, purpose, change=None) -> None:
    """Exactly one email went to `user`, and its link opens `contract` for that user."""
    (message,) = emails_to(user)
    link = email_link_use(token=the_link(message), user=user)
    assert (link.contract, link.purpose, link.change_request) == (contract, purpose, change)


@pytest.fixture
def producer():
    return UserFactory(validated=True)


@pytest.fixture
def product(producer):
    return ProductFactory(producer=producer)


@pytest.fixture
def cocreator():
    return UserFactory(validated=True)


# Invite


def test_invite_creates_a_pending_contract_with_the_terms(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    affiliation = AffiliationFactory(product=product, approved=True)
    end = TODAY() + datetime.timedelta(days=30)

    with django_capture_on_commit_callbacks(execute=True):
        contract = invite(
            product,
            cocreator.email.upper(),
            role=Contract.Role.TRAFFIC,
            coproduction_model=Contract.CoproductionModel.MANAGEMENT,
            automatic_sales_recovery=True,
            end_date=end,
            sales_scope=Contract.SalesScope.AFFILIATE,
            all_affiliates=False,
            affiliates=[affiliation],
            commission_percent=Decimal("12.50"),
            affiliate_commission_percent=Decimal("7"),
        )

    contract.refresh_from_db()
    assert contract.status == Status.PENDING
    assert (contract.product, contract.cocreator) == (product, cocreator)
    assert contract.role == Contract.Role.TRAFFIC
    assert contract.coproduction_model == Contract.CoproductionModel.MANAGEMENT
    assert contract.automatic_sales_recovery is True
    assert contract.end_date == end
    assert contract.sales_scope == Contract.SalesScope.AFFILIATE
    assert contract.all_affiliates is False
    assert list(contract.affiliates.all()) == [affiliation]
    assert contract.commission_percent == Decimal("12.50")
    assert contract.affiliate_commission_percent == Decimal("7.00")
    assert contract.terms == TermsOfUse.objects.order_by("-version").first()
    assert contract.send_count == 1
    assert contract.accepted_at is None and contract.closed_at is None
    (acceptance,) = TermsAcceptance.objects.filter(contract=contract)
    assert (acceptance.user, acceptance.terms) == (producer, contract.terms)
    (event,) = contract.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        "invited",
        producer,
        "",
        Status.PENDING,
    )
    assert emails_to(producer) == []
    assert_emailed_link(cocreator, contract, EmailLink.Purpose.INVITATION)
    assert product.name in emails_to(cocreator)[0].subject


def test_invite_with_direct_sales_only_drops_affiliate_terms(product, cocreator):
    affiliation = AffiliationFactory(product=product, approved=True)

    contract = invite(
        product,
        cocreator.email,
        sales_scope=Contract.SalesScope.DIRECT,
        all_affiliates=False,
        affiliates=[affiliation],
        affiliate_commission_percent=Decimal("5"),
    )

    contract.refresh_from_db()
    assert contract.all_affiliates is True
    assert contract.affiliate_commission_percent is None
    assert list(contract.affiliates.all()) == []


def _foreign_affiliate(product):
    return {
        "sales_scope": Contract.SalesScope.AFFILIATE,
        "all_affiliates": False,
        "affiliates": [AffiliationFactory(approved=True)],
    }


def _pending_affiliate(product):
    return {
        "sales_scope": Contract.SalesScope.ALL,
        "all_affiliates": False,
        "affiliates": [
            AffiliationFactory(product=product, approved=True),
            AffiliationFactory(product=product),
        ],
    }


BAD_TERMS = {
    "zero percent": (lambda p: {"commission_percent": Decimal("0")}, "above 0"),
    "negative percent": (lambda p: {"commission_percent": Decimal("-1")}, "above 0"),
    "71 percent": (lambda p: {"commission_percent": Decimal("71")}, "at most 70"),
    "70.01 percent": (lambda p: {"commission_percent": Decimal("70.01")}, "at most 70"),
    "no percent": (lambda p: {"commission_percent": None}, "above 0"),
    "affiliate 0 percent": (
        lambda p: {"affiliate_commission_percent": Decimal("0")},
        "affiliate sales percentage",
    ),
    "affiliate 71 percent": (
        lambda p: {"affiliate_commission_percent": Decimal("71")},
        "affiliate sales percentage",
    ),
    "end date today": (lambda p: {"end_date": TODAY()}, "after today"),
    "end date yesterday": (
        lambda p: {"end_date": TODAY() - datetime.timedelta(days=1)},
        "after today",
    ),
    "unknown sales scope": (lambda p: {"sales_scope": "some"}, "Choose which sales"),
    "affiliate scope without affiliates": (
        lambda p: {"sales_scope": Contract.SalesScope.AFFILIATE, "all_affiliates": False},
        "at least one affiliate",
    ),
    "all sales without affiliates": (
        lambda p: {"sales_scope": Contract.SalesScope.ALL, "all_affiliates": False},
        "at least one affiliate",
    ),
    "another product's affiliate": (_foreign_affiliate, "approved affiliates of this product"),
    "a non-approved affiliate": (_pending_affiliate, "approved affiliates of this product"),
    "terms not accepted": (lambda p: {"terms_accepted": False}, "Terms of Use"),
}


@pytest.mark.parametrize("case", BAD_TERMS, ids=list(BAD_TERMS))
def test_invite_refuses_bad_terms_and_creates_nothing(
    case, product, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    build, message = BAD_TERMS[case]

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError) as error:
        invite(product, cocreator.email, **build(product))

    assert message in error.value.message
    assert not Contract.objects.exists()
    assert mailoutbox == []


def test_invite_refuses_an_unknown_email(product):
    with pytest.raises(DomainError, match="No active account uses this email"):
        invite(product, "nobody@example.com")

    assert not Contract.objects.exists()


def test_invite_refuses_an_inactive_account(product):
    gone = UserFactory(validated=True, is_active=False)

    with pytest.raises(DomainError, match="No active account uses this email"):
        invite(product, gone.email)


def test_invite_refuses_the_producer_themselves(product, producer):
    with pytest.raises(DomainError, match="invite someone else"):
        invite(product, producer.email)

    assert not Contract.objects.exists()


@pytest.mark.parametrize("validation", [None, "pending", "rejected"])
def test_invite_refuses_an_account_that_is_not_validated(product, validation):
    person = UserFactory()
    if validation == "pending":
        AccountValidationFactory(user=person)
    elif validation == "rejected":
        AccountValidationFactory(user=person, rejected=True)

    with pytest.raises(DomainError, match="not validated yet"):
        invite(product, person.email)

    assert not Contract.objects.exists()


@pytest.mark.parametrize("status", [Status.PENDING, Status.ACTIVE])
def test_invite_refuses_a_second_live_contract_with_the_same_person(status, product, cocreator):
    existing = ContractFactory(product=product, cocreator=cocreator, status=status)

    with pytest.raises(DomainError, match="already has a pending invitation or an active"):
        invite(product, cocreator.email)

    assert list(Contract.objects.all()) == [existing]


@pytest.mark.parametrize("status", [Status.DECLINED, Status.CANCELED, Status.ENDED, Status.EXPIRED])
def test_invite_after_a_closed_contract_is_allowed(status, product, cocreator):
    ContractFactory(product=product, cocreator=cocreator, status=status)

    contract = invite(product, cocreator.email)

    assert contract.status == Status.PENDING
    assert Contract.objects.filter(product=product, cocreator=cocreator).count() == 2


def test_invite_is_only_for_the_products_producer(product, cocreator):
    active = ContractFactory(product=product, active=True)
    for intruder in (UserFactory(validated=True), active.cocreator):
        with pytest.raises(PermissionDenied):
            invite(product, cocreator.email, actor=intruder)

    assert list(Contract.objects.all()) == [active]


# Resend


def test_resend_after_15_minutes_sends_the_invitation_again(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        contract = invite(product, cocreator.email)
        traveller.shift(datetime.timedelta(minutes=15, seconds=1))

        with django_capture_on_commit_callbacks(execute=True):
            contract_resend(contract=contract, actor=producer)

    contract.refresh_from_db()
    assert contract.send_count == 2
    assert contract.last_sent_at == start + datetime.timedelta(minutes=15, seconds=1)
    assert contract.status == Status.PENDING
    assert contract.events.last().action == "resent"
    assert contract.events.last().actor == producer
    assert_emailed_link(cocreator, contract, EmailLink.Purpose.INVITATION)
    assert "Reminder" in emails_to(cocreator)[0].subject


@pytest.mark.parametrize(
    ("after", "wait"),
    [
        (datetime.timedelta(0), "15 minutes"),
        (datetime.timedelta(minutes=14, seconds=30), "1 minute."),
    ],
)
def test_resend_within_15_minutes_is_refused(after, wait, product, producer, cocreator):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        contract = invite(product, cocreator.email)
        before = snapshot(contract)
        traveller.shift(after)

        with pytest.raises(DomainError, match=f"resend it in {wait}"):
            contract_resend(contract=contract, actor=producer)

    assert snapshot(contract) == before


def test_resend_stops_after_5_sends(product, producer, cocreator):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        contract = invite(product, cocreator.email)
        for _ in range(MAX_SENDS - 1):
            traveller.shift(datetime.timedelta(minutes=16))
            contract_resend(contract=contract, actor=producer)
        traveller.shift(datetime.timedelta(days=1))
        before = snapshot(contract)

        with pytest.raises(DomainError, match="already sent 5 times"):
            contract_resend(contract=contract, actor=producer)

    assert before["send_count"] == MAX_SENDS == 5
    assert snapshot(contract) == before


def test_resend_is_only_for_the_producer(product, cocreator):
    contract = ContractFactory(product=product, cocreator=cocreator, last_sent_at=_an_hour_ago())
    before = snapshot(contract)

    for intruder in (cocreator, UserFactory(validated=True)):
        with pytest.raises(PermissionDenied):
            contract_resend(contract=contract, actor=intruder)

    assert snapshot(contract) == before


def _an_hour_ago():
    return timezone.now() - datetime.timedelta(hours=1)


# Cancel


def test_cancel_withdraws_a_pending_invitation_at_once(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(product=product, cocreator=cocreator)

    with django_capture_on_commit_callbacks(execute=True):
        result = contract_cancel(contract=contract, actor=producer)

    assert result is None
    contract.refresh_from_db()
    assert contract.status == Status.CANCELED
    assert contract.closed_at is not None
    (event,) = contract.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        "canceled",
        producer,
        Status.PENDING,
        Status.CANCELED,
    )
    assert emails_to(producer) == []
    assert_emailed_link(cocreator, contract, EmailLink.Purpose.ANSWER)
    assert "canceled" in emails_to(cocreator)[0].subject


def test_cancel_of_an_active_contract_asks_the_cocreator(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(product=product, cocreator=cocreator, active=True)

    with django_capture_on_commit_callbacks(execute=True):
        change = contract_cancel(contract=contract, actor=producer)

    contract.refresh_from_db()
    assert contract.status == Status.ACTIVE
    assert contract.closed_at is None
    assert (change.kind, change.status, change.requested_by) == (
        ChangeRequest.Kind.TERMINATION,
        ChangeRequest.Status.PENDING,
        producer,
    )
    (event,) = contract.events.all()
    assert (event.action, event.actor, event.change_request) == (
        "termination_requested",
        producer,
        change,
    )
    assert emails_to(producer) == []
    assert_emailed_link(cocreator, contract, EmailLink.Purpose.CHANGE, change)


def test_cancel_is_only_for_the_producer(product, cocreator):
    for contract in (
        ContractFactory(product=product, cocreator=cocreator),
        ContractFactory(product=product, active=True),
    ):
        before = snapshot(contract)
        for intruder in (contract.cocreator, UserFactory(validated=True)):
            with pytest.raises(PermissionDenied):
                contract_cancel(contract=contract, actor=intruder)
        assert snapshot(contract) == before


@pytest.mark.parametrize("requester", ["producer", "cocreator"])
@pytest.mark.parametrize("kind", list(ChangeRequest.Kind))
def test_termination_waits_while_another_request_is_pending(requester, kind, product):
    contract = ContractFactory(product=product, active=True)
    ChangeRequestFactory(contract=contract, kind=kind)
    before = snapshot(contract)

    with pytest.raises(DomainError, match="Another request is waiting"):
        if requester == "producer":
            contract_cancel(contract=contract, actor=product.producer)
        else:
            contract_request_end(contract=contract, actor=contract.cocreator)

    assert snapshot(contract) == before


# Request end (cocreator)


def test_cocreator_requests_the_end_and_the_producer_is_asked(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(product=product, cocreator=cocreator, active=True)

    with django_capture_on_commit_callbacks(execute=True):
        change = contract_request_end(contract=contract, actor=cocreator)

    contract.refresh_from_db()
    assert contract.status == Status.ACTIVE
    assert (change.kind, change.status, change.requested_by) == (
        ChangeRequest.Kind.TERMINATION,
        ChangeRequest.Status.PENDING,
        cocreator,
    )
    assert contract.events.get().action == "termination_requested"
    assert emails_to(cocreator) == []
    assert_emailed_link(producer, contract, EmailLink.Purpose.CHANGE, change)


def test_request_end_is_only_for_the_cocreator(product, producer):
    contract = ContractFactory(product=product, active=True)
    before = snapshot(contract)

    for intruder in (producer, UserFactory(validated=True)):
        with pytest.raises(PermissionDenied):
            contract_request_end(contract=contract, actor=intruder)

    assert snapshot(contract) == before


# Termination both ways


@pytest.mark.parametrize("requested_by", ["producer", "cocreator"])
def test_agreed_termination_ends_the_contract(
    requested_by, product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(product=product, cocreator=cocreator, active=True)
    if requested_by == "producer":
        requester, answerer = producer, cocreator
        change = contract_cancel(contract=contract, actor=producer)
    else:
        requester, answerer = cocreator, producer
        change = contract_request_end(contract=contract, actor=cocreator)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        change_request_accept(change=change, actor=answerer)

    contract.refresh_from_db()
    change.refresh_from_db()
    assert contract.status == Status.ENDED
    assert contract.closed_at is not None
    assert (change.status, change.responded_by) == (ChangeRequest.Status.ACCEPTED, answerer)
    assert change.responded_at is not None
    actions = list(contract.events.values_list("action", "actor", "from_status", "to_status"))
    assert actions == [
        ("termination_requested", requester.pk, "", ""),
        ("change_accepted", answerer.pk, "", ""),
        ("ended", answerer.pk, Status.ACTIVE, Status.ENDED),
    ]
    assert emails_to(answerer) == []
    assert_emailed_link(requester, contract, EmailLink.Purpose.ANSWER, change)
    assert "Termination" in emails_to(requester)[0].subject


# Accept


def test_accept_activates_the_invitation(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(product=product, cocreator=cocreator)

    with django_capture_on_commit_callbacks(execute=True):
        contract_accept(contract=contract, actor=cocreator, terms_accepted=True)

    contract.refresh_from_db()
    assert contract.status == Status.ACTIVE
    assert contract.accepted_at is not None
    assert contract.closed_at is None
    (event,) = contract.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        "active",
        cocreator,
        Status.PENDING,
        Status.ACTIVE,
    )
    assert TermsAcceptance.objects.filter(
        contract=contract, user=cocreator, terms=contract.terms
    ).exists()
    assert emails_to(cocreator) == []
    assert_emailed_link(producer, contract, EmailLink.Purpose.ANSWER)
    assert "accepted" in emails_to(producer)[0].subject


def test_accept_needs_the_terms_accepted(product, cocreator):
    contract = ContractFactory(product=product, cocreator=cocreator)
    before = snapshot(contract)

    with pytest.raises(DomainError, match="accept the Co-production Terms of Use"):
        contract_accept(contract=contract, actor=cocreator, terms_accepted=False)

    assert snapshot(contract) == before
    assert not TermsAcceptance.objects.filter(user=cocreator).exists()


@pytest.mark.parametrize(
    "answer",
    [
        lambda c, who: contract_accept(contract=c, actor=who, terms_accepted=True),
        lambda c, who: contract_decline(contract=c, actor=who),
    ],
    ids=["accept", "decline"],
)
def test_an_account_no_longer_validated_cannot_answer(answer, product, cocreator):
    contract = ContractFactory(product=product, cocreator=cocreator)
    AccountValidation.objects.filter(user=cocreator).update(
        status=AccountValidation.Status.REJECTED
    )
    cocreator.refresh_from_db()
    before = snapshot(contract)

    with pytest.raises(DomainError, match="Validate your account"):
        answer(contract, cocreator)

    assert snapshot(contract) == before


def test_accept_after_the_end_date_passed_is_refused(product, cocreator):
    contract = ContractFactory(
        product=product, cocreator=cocreator, end_date=TODAY() - datetime.timedelta(days=1)
    )
    before = snapshot(contract)

    with pytest.raises(DomainError, match="end date has passed"):
        contract_accept(contract=contract, actor=cocreator, terms_accepted=True)

    assert snapshot(contract) == before


def test_accept_on_the_end_date_is_allowed(product, cocreator):
    contract = ContractFactory(product=product, cocreator=cocreator, end_date=TODAY())

    contract_accept(contract=contract, actor=cocreator, terms_accepted=True)

    contract.refresh_from_db()
    assert contract.status == Status.ACTIVE


@pytest.mark.parametrize(
    "answer",
    [
        lambda c, who: contract_accept(contract=c, actor=who, terms_accepted=True),
        lambda c, who: contract_decline(contract=c, actor=who),
    ],
    ids=["accept", "decline"],
)
def test_only_the_invited_cocreator_answers(answer, product, producer):
    contract = ContractFactory(product=product)
    before = snapshot(contract)

    for intruder in (producer, UserFactory(validated=True)):
        with pytest.raises(PermissionDenied):
            answer(contract, intruder)

    assert snapshot(contract) == before


# Decline


def test_decline_closes_the_invitation(
    product, producer, cocreator, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(product=product, cocreator=cocreator)

    with django_capture_on_commit_callbacks(execute=True):
        contract_decline(contract=contract, actor=cocreator)

    contract.refresh_from_db()
    assert contract.status == Status.DECLINED
    assert contract.closed_at is not None
    assert contract.accepted_at is None
    (event,) = contract.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        "declined",
        cocreator,
        Status.PENDING,
        Status.DECLINED,
    )
    assert emails_to(cocreator) == []
    assert_emailed_link(producer, contract, EmailLink.Purpose.ANSWER)
    assert "declined" in emails_to(producer)[0].subject


# The whole table, through the services


def _accept(contract):
    return contract_accept(contract=contract, actor=contract.cocreator, terms_accepted=True)


def _decline(contract):
    return contract_decline(contract=contract, actor=contract.cocreator)


def _cancel(contract):
    return contract_cancel(contract=contract, actor=contract.product.producer)


def _request_end(contract):
    return contract_request_end(contract=contract, actor=contract.cocreator)


def _resend(contract):
    return contract_resend(contract=contract, actor=contract.product.producer)


# Each service and the statuses it may start from (cancel/request_end on an active contract
# start the termination that ends it; see test_agreed_termination_ends_the_contract).
SERVICES = {
    "accept": (_accept, {Status.PENDING}),
    "decline": (_decline, {Status.PENDING}),
    "cancel": (_cancel, {Status.PENDING, Status.ACTIVE}),
    "request_end": (_request_end, {Status.ACTIVE}),
    "resend": (_resend, {Status.PENDING}),
}
LEGAL_RESULT = {
    ("accept", Status.PENDING): Status.ACTIVE,
    ("decline", Status.PENDING): Status.DECLINED,
    ("cancel", Status.PENDING): Status.CANCELED,
    ("cancel", Status.ACTIVE): Status.ACTIVE,  # plus a termination request
    ("request_end", Status.ACTIVE): Status.ACTIVE,  # plus a termination request
    ("resend", Status.PENDING): Status.PENDING,
}


def test_the_services_cover_every_move_of_the_table():
    reached = {(start, to) for (_, start), to in LEGAL_RESULT.items() if start != to}
    reached |= {(Status.ACTIVE, Status.ENDED), (Status.ACTIVE, Status.EXPIRED)}  # see tests
    table = {(start, to) for start, targets in Contract.TRANSITIONS.items() for to in targets}
    assert reached == table


@pytest.mark.parametrize(
    ("service", "status"),
    [(name, status) for name, (_, allowed) in SERVICES.items() for status in allowed],
)
def test_each_service_works_from_its_legal_statuses(
    service, status, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(status=status, last_sent_at=_an_hour_ago())
    events = contract.events.count()

    with django_capture_on_commit_callbacks(execute=True):
        SERVICES[service][0](contract)

    contract.refresh_from_db()
    assert contract.status == LEGAL_RESULT[(service, status)]
    assert contract.events.count() == events + 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to in ([contract.cocreator.email], [contract.product.producer.email])


@pytest.mark.parametrize(
    ("service", "status"),
    [
        (name, status)
        for name, (_, allowed) in SERVICES.items()
        for status in Status
        if status not in allowed
    ],
)
def test_each_service_refuses_the_other_statuses_and_changes_nothing(
    service, status, mailoutbox, django_capture_on_commit_callbacks
):
    contract = ContractFactory(status=status, last_sent_at=_an_hour_ago())
    before = snapshot(contract)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        SERVICES[service][0](contract)

    assert snapshot(contract) == before
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("start", "to"),
    [(start, to) for start in Status for to in Status],
)
def test_contract_transition_follows_the_table(start, to):
    contract = ContractFactory(status=start)
    actor = contract.product.producer

    if to in Contract.TRANSITIONS[start]:
        contract_transition(contract=contract, to=to, actor=actor, note="why")
        contract.refresh_from_db()
        assert contract.status == to
        assert (contract.closed_at is not None) == (to not in Contract.LIVE)
        event = contract.events.get()
        assert (event.from_status, event.to_status, event.actor, event.note) == (
            start,
            to,
            actor,
            "why",
        )
    else:
        with pytest.raises(InvalidTransition):
            contract_transition(contract=contract, to=to, actor=actor)
        contract.refresh_from_db()
        assert contract.status == start
        assert not contract.events.exists()


def test_closing_a_contract_withdraws_its_pending_request():
    change = ChangeRequestFactory()
    contract = change.contract

    contract_transition(contract=contract, to=Status.EXPIRED, actor=None)

    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.WITHDRAWN
    assert change.responded_at is not None
