"""Races on PostgreSQL: two real threads, each on its own connection, act on one product at the
same moment. The product row lock must serialize them so the 70 % rule and the one-live-contract
rule hold whatever the interleaving."""

import time
from decimal import Decimal

import pytest

from accounts.exceptions import DomainError, InvalidTransition
from coproduction.exceptions import ShareLimitExceeded
from coproduction.models import ChangeRequest, Contract
from coproduction.services import changes, contracts
from coproduction.services.shares import DIRECT, live_contracts, share_totals
from tests.concurrency import errors, run_together
from tests.coproduction.factories import (
    ChangeRequestFactory,
    ContractFactory,
    change_fields,
    invite_fields,
    terms_of_use,
)
from tests.factories import ProductFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

Status = Contract.Status


@pytest.fixture(autouse=True)
def published_terms():
    # A transactional test's flush removes the migration's rows; put the terms back.
    return terms_of_use()


@pytest.fixture(autouse=True)
def slow_share_checks(monkeypatch):
    """Hold each thread between reading the shares and writing: without the product lock both
    threads would read the same state and both pass."""

    def slowed(original):
        def share_check(**kwargs):
            totals = original(**kwargs)
            time.sleep(0.3)
            return totals

        return share_check

    for module in (contracts, changes):
        monkeypatch.setattr(module, "share_check", slowed(module.share_check))


def direct_total(product) -> Decimal:
    totals = share_totals(product=product, contracts=live_contracts(product))
    return next(total.percent for total in totals if total.kind == DIRECT)


def invite_call(product, email, percent):
    return lambda: contracts.contract_invite(
        product=product,
        actor=product.producer,
        cocreator_email=email,
        **invite_fields(commission_percent=Decimal(percent)),
    )


def test_two_invitations_that_together_pass_70_percent_one_wins():
    product = ProductFactory()
    first, second = UserFactory(validated=True), UserFactory(validated=True)

    results = run_together(
        invite_call(product, first.email, "40"), invite_call(product, second.email, "40")
    )

    (error,) = errors(results)
    assert isinstance(error, ShareLimitExceeded)
    (winner,) = [result for result in results if isinstance(result, Contract)]
    assert list(Contract.objects.filter(status=Status.PENDING)) == [winner]
    assert direct_total(product) == Decimal("40")


def test_two_invitations_of_the_same_person_make_one_contract():
    product = ProductFactory()
    cocreator = UserFactory(validated=True)

    results = run_together(
        invite_call(product, cocreator.email, "10"), invite_call(product, cocreator.email, "20")
    )

    (error,) = errors(results)
    assert isinstance(error, DomainError)
    assert "already has a pending invitation" in error.message
    assert Contract.objects.filter(product=product, cocreator=cocreator).count() == 1


def test_two_invitations_within_the_rule_both_succeed():
    product = ProductFactory()

    results = run_together(
        invite_call(product, UserFactory(validated=True).email, "35"),
        invite_call(product, UserFactory(validated=True).email, "35"),
    )

    assert errors(results) == []
    assert Contract.objects.filter(product=product, status=Status.PENDING).count() == 2
    assert direct_total(product) == Decimal("70")


def test_two_changes_that_together_pass_70_percent_one_is_proposed():
    product = ProductFactory()
    a, b = (ContractFactory(product=product, active=True, commission_percent=30) for _ in "ab")

    def propose(contract):
        return lambda: changes.change_request_propose(
            contract=contract,
            actor=product.producer,
            **change_fields(contract, commission_percent=Decimal("40")),
        )

    results = run_together(propose(a), propose(b))

    (error,) = errors(results)
    assert isinstance(error, ShareLimitExceeded)
    assert ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).count() == 1
    assert direct_total(product) == Decimal("70")


def test_accepting_two_changes_that_together_pass_70_percent_changes_nothing():
    # Each change alone would be fine (30 + 40); together they make 80 %. Pending changes count,
    # so such a state exists only through direct writes, and the accept-time check under the
    # lock refuses both: nothing may take the product past 70 %.
    product = ProductFactory()
    a, b = (ContractFactory(product=product, active=True, commission_percent=30) for _ in "ab")
    requests = [
        ChangeRequestFactory(
            contract=contract,
            before={"commission_percent": "30.00"},
            after={"commission_percent": "40.00"},
        )
        for contract in (a, b)
    ]

    results = run_together(
        *(
            lambda change=change: changes.change_request_accept(
                change=change, actor=change.contract.cocreator
            )
            for change in requests
        )
    )

    assert [type(result) for result in results] == [ShareLimitExceeded] * 2
    assert set(ChangeRequest.objects.values_list("status", flat=True)) == {"pending"}
    assert set(Contract.objects.values_list("commission_percent", flat=True)) == {Decimal("30")}


def test_accepting_two_invitations_that_together_pass_70_percent_activates_none():
    product = ProductFactory()
    a, b = (ContractFactory(product=product, commission_percent=30) for _ in "ab")
    Contract.objects.filter(pk=b.pk).update(commission_percent=Decimal("45"))  # a direct write

    results = run_together(
        *(
            lambda contract=contract: contracts.contract_accept(
                contract=contract, actor=contract.cocreator, terms_accepted=True
            )
            for contract in (a, b)
        )
    )

    assert [type(result) for result in results] == [ShareLimitExceeded] * 2
    assert not Contract.objects.filter(status=Status.ACTIVE).exists()


def test_accepting_while_another_invitation_is_sent_keeps_the_rule():
    product = ProductFactory()
    pending = ContractFactory(product=product, commission_percent=40)

    results = run_together(
        lambda: contracts.contract_accept(
            contract=pending, actor=pending.cocreator, terms_accepted=True
        ),
        invite_call(product, UserFactory(validated=True).email, "31"),
    )

    assert isinstance(results[0], Contract)
    assert isinstance(results[1], ShareLimitExceeded)
    assert list(Contract.objects.values_list("status", flat=True)) == [Status.ACTIVE]


def test_accepting_and_withdrawing_one_change_at_once_one_wins():
    change = ChangeRequestFactory(
        before={"commission_percent": "10.00"}, after={"commission_percent": "20.00"}
    )
    contract = change.contract

    results = run_together(
        lambda: changes.change_request_accept(change=change, actor=contract.cocreator),
        lambda: changes.change_request_withdraw(change=change, actor=contract.product.producer),
    )

    (error,) = errors(results)
    assert isinstance(error, InvalidTransition)
    change.refresh_from_db()
    contract.refresh_from_db()
    if change.status == ChangeRequest.Status.ACCEPTED:
        assert contract.commission_percent == Decimal("20")
    else:
        assert change.status == ChangeRequest.Status.WITHDRAWN
        assert contract.commission_percent == Decimal("10")


def test_accepting_and_canceling_one_invitation_at_once_one_wins():
    contract = ContractFactory()

    results = run_together(
        lambda: contracts.contract_accept(
            contract=contract, actor=contract.cocreator, terms_accepted=True
        ),
        lambda: contracts.contract_cancel(contract=contract, actor=contract.product.producer),
    )

    contract.refresh_from_db()
    if contract.status == Status.ACTIVE:
        assert isinstance(results[0], Contract)
        # The cancel came second: on an active contract it asks for termination instead.
        assert isinstance(results[1], ChangeRequest)
        assert results[1].kind == ChangeRequest.Kind.TERMINATION
    else:
        assert contract.status == Status.CANCELED
        assert isinstance(results[0], InvalidTransition)
        assert results[1] is None
    assert contract.events.filter(to_status__in=[Status.ACTIVE, Status.CANCELED]).count() == 1
