"""The 70 % rule: for every kind of sale (direct, each affiliate, any other affiliate) the
percentages of the contracts that can still pay stay at most 70 %: active contracts, pending
invitations and pending changes, and ended or expired contracts with automatic sales recovery
while a subscription sold during them can still be billed."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from coproduction.exceptions import ShareLimitExceeded
from coproduction.models import ChangeRequest, Contract, ContractEvent
from coproduction.services.changes import change_request_accept, change_request_propose
from coproduction.services.contracts import contract_accept, contract_invite
from coproduction.services.shares import (
    ANY_AFFILIATE,
    DIRECT,
    ShareTerms,
    live_contracts,
    share_totals,
)
from subscriptions.models import Subscription
from tests.coproduction.factories import (
    ChangeRequestFactory,
    ContractFactory,
    change_fields,
    invite_fields,
)
from tests.coproduction.test_split_rules import subscription, subscription_product, utc
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ALL = Contract.SalesScope.ALL
DIRECT_ONLY = Contract.SalesScope.DIRECT
AFFILIATE_ONLY = Contract.SalesScope.AFFILIATE


@pytest.fixture
def product():
    return ProductFactory()


def invite(product, percent, **overrides) -> Contract:
    return contract_invite(
        product=product,
        actor=product.producer,
        cocreator_email=UserFactory(validated=True).email,
        **invite_fields(commission_percent=Decimal(percent), **overrides),
    )


def totals(product) -> dict:
    return {
        total.kind: total.percent
        for total in share_totals(product=product, contracts=live_contracts(product))
    }


def assert_refused(product, percent, **overrides) -> None:
    count = Contract.objects.count()
    with pytest.raises(ShareLimitExceeded, match="at least 30 %"):
        invite(product, percent, **overrides)
    assert Contract.objects.count() == count


# Direct sales


def test_exactly_70_percent_is_allowed_and_70_01_is_not(product):
    ContractFactory(product=product, active=True, commission_percent=Decimal("40"))

    assert_refused(product, "30.01")
    invite(product, "30")

    assert totals(product)[DIRECT] == Decimal("70")
    assert_refused(product, "0.01")


def test_one_contract_may_take_70_percent_alone(product):
    invite(product, "70")

    assert totals(product)[DIRECT] == Decimal("70")


@pytest.mark.parametrize("status", [Contract.Status.PENDING, Contract.Status.ACTIVE])
def test_pending_invitations_count_like_active_contracts(status, product):
    ContractFactory(product=product, status=status, commission_percent=Decimal("40"))

    assert_refused(product, "31")


@pytest.mark.parametrize(
    "status", [Contract.Status.DECLINED, Contract.Status.CANCELED, "ended", "expired"]
)
def test_closed_contracts_do_not_count(status, product):
    ContractFactory(product=product, status=status, commission_percent=Decimal("70"))

    invite(product, "70")


def test_other_products_contracts_do_not_count(product):
    ContractFactory(active=True, commission_percent=Decimal("70"))

    invite(product, "70")


def test_the_message_names_the_kind_of_sale_and_the_total(product):
    ContractFactory(product=product, active=True, commission_percent=Decimal("60.5"))

    with pytest.raises(ShareLimitExceeded) as error:
        invite(product, "10", sales_scope=DIRECT_ONLY)

    assert "direct sales would share 70.5 %" in error.value.message


# Scopes and affiliates


def test_direct_only_contracts_do_not_count_on_affiliate_sales(product):
    ContractFactory(product=product, active=True, sales_scope=DIRECT_ONLY, commission_percent=70)

    invite(product, "70", sales_scope=AFFILIATE_ONLY)

    assert totals(product)[DIRECT] == totals(product)[ANY_AFFILIATE] == Decimal("70")


def test_affiliate_only_contracts_do_not_count_on_direct_sales(product):
    ContractFactory(product=product, active=True, sales_scope=AFFILIATE_ONLY, commission_percent=70)

    invite(product, "70", sales_scope=DIRECT_ONLY)

    assert_refused(product, "1", sales_scope=ALL)


def test_all_sales_contracts_count_on_both(product):
    ContractFactory(product=product, active=True, sales_scope=ALL, commission_percent=40)

    assert_refused(product, "31", sales_scope=DIRECT_ONLY)
    assert_refused(product, "31", sales_scope=AFFILIATE_ONLY)
    invite(product, "30", sales_scope=AFFILIATE_ONLY)


def test_the_affiliate_percentage_replaces_the_direct_one_on_affiliate_sales(product):
    ContractFactory(
        product=product,
        active=True,
        sales_scope=ALL,
        commission_percent=Decimal("60"),
        affiliate_commission_percent=Decimal("10"),
    )

    assert_refused(product, "61", sales_scope=AFFILIATE_ONLY)
    invite(product, "60", sales_scope=AFFILIATE_ONLY)

    assert totals(product)[DIRECT] == Decimal("60")
    assert totals(product)[ANY_AFFILIATE] == Decimal("70")
    assert_refused(product, "10.01", sales_scope=DIRECT_ONLY)


def test_a_new_invitations_affiliate_percentage_is_what_counts_on_affiliate_sales(product):
    ContractFactory(product=product, active=True, sales_scope=AFFILIATE_ONLY, commission_percent=50)

    invite(product, "70", affiliate_commission_percent=Decimal("20"))

    assert_refused(product, "1", sales_scope=AFFILIATE_ONLY)


def test_each_affiliate_is_its_own_kind_of_sale(product):
    x, y = (AffiliationFactory(product=product, approved=True) for _ in range(2))
    ContractFactory(
        product=product,
        active=True,
        sales_scope=AFFILIATE_ONLY,
        commission_percent=40,
        affiliates=[x],
    )

    # Chosen-affiliate contracts count only for their affiliates.
    invite(product, "70", sales_scope=AFFILIATE_ONLY, all_affiliates=False, affiliates=[y])
    invite(product, "30", sales_scope=AFFILIATE_ONLY, all_affiliates=False, affiliates=[x])
    assert_refused(
        product, "0.01", sales_scope=AFFILIATE_ONLY, all_affiliates=False, affiliates=[x]
    )
    # An all-affiliates contract counts on x and y too; direct sales are still free.
    assert_refused(product, "0.01", sales_scope=AFFILIATE_ONLY)
    invite(product, "70", sales_scope=DIRECT_ONLY)

    assert totals(product) == {
        DIRECT: Decimal("70"),
        ANY_AFFILIATE: Decimal("0"),
        x.pk: Decimal("70"),
        y.pk: Decimal("70"),
    }


def test_any_other_affiliate_counts_only_all_affiliates_contracts(product):
    x, y = (AffiliationFactory(product=product, approved=True) for _ in range(2))
    ContractFactory(product=product, active=True, sales_scope=AFFILIATE_ONLY, commission_percent=30)
    ContractFactory(
        product=product,
        active=True,
        sales_scope=AFFILIATE_ONLY,
        commission_percent=40,
        affiliates=[x],
    )

    assert_refused(product, "0.01", sales_scope=AFFILIATE_ONLY)
    invite(product, "40", sales_scope=AFFILIATE_ONLY, all_affiliates=False, affiliates=[y])
    later = AffiliationFactory(product=product, approved=True)

    assert totals(product) == {
        DIRECT: Decimal("0"),
        ANY_AFFILIATE: Decimal("30"),
        x.pk: Decimal("70"),
        y.pk: Decimal("70"),
        later.pk: Decimal("30"),
    }


# Pending changes


@pytest.mark.parametrize(
    ("current", "proposed", "room"),
    [("30", "50", "20"), ("50", "30", "20"), ("30", "30.5", "39.5")],
    ids=["raise counts", "cut does not count yet", "small raise"],
)
def test_a_pending_change_counts_with_the_larger_percentage(current, proposed, room, product):
    contract = ContractFactory(product=product, active=True, commission_percent=Decimal(current))
    ChangeRequestFactory(
        contract=contract,
        before={"commission_percent": current},
        after={"commission_percent": proposed},
    )

    assert_refused(product, str(Decimal(room) + Decimal("0.01")))
    invite(product, room)


def test_a_pending_scope_change_counts_on_both_scopes(product):
    contract = ContractFactory(
        product=product, active=True, sales_scope=DIRECT_ONLY, commission_percent=40
    )
    ChangeRequestFactory(
        contract=contract, before={"sales_scope": "direct"}, after={"sales_scope": "affiliate"}
    )

    assert_refused(product, "31", sales_scope=DIRECT_ONLY)
    assert_refused(product, "31", sales_scope=AFFILIATE_ONLY)
    invite(product, "30", sales_scope=ALL)


def test_a_pending_termination_still_counts(product):
    contract = ContractFactory(product=product, active=True, commission_percent=40)
    ChangeRequestFactory(contract=contract, termination=True)

    assert_refused(product, "31")


def test_proposing_a_change_checks_the_rule(product):
    ContractFactory(product=product, active=True, sales_scope=DIRECT_ONLY, commission_percent=30)
    contract = ContractFactory(product=product, active=True, commission_percent=40)

    with pytest.raises(ShareLimitExceeded):
        change_request_propose(
            contract=contract,
            actor=product.producer,
            **change_fields(contract, commission_percent=Decimal("40.01")),
        )
    assert not ChangeRequest.objects.exists()

    change_request_propose(
        contract=contract,
        actor=product.producer,
        **change_fields(
            contract, commission_percent=Decimal("40"), affiliate_commission_percent=Decimal("70")
        ),
    )
    assert_refused(product, "0.01", sales_scope=AFFILIATE_ONLY)


def test_accepting_a_change_checks_the_rule_again(product):
    # The state passes 70 % only through direct writes (pending changes count when proposed):
    # the accept-time check under the lock is the last guard.
    ContractFactory(product=product, active=True, commission_percent=30)
    contract = ContractFactory(product=product, active=True, commission_percent=40)
    change = change_request_propose(
        contract=contract,
        actor=product.producer,
        **change_fields(contract, affiliate_commission_percent=Decimal("35")),
    )
    ChangeRequest.objects.filter(pk=change.pk).update(
        after={"commission_percent": "41.00", "affiliate_commission_percent": "35.00"}
    )
    events = ContractEvent.objects.count()

    with pytest.raises(ShareLimitExceeded):
        change_request_accept(change=change, actor=contract.cocreator)

    change.refresh_from_db()
    contract.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING
    assert contract.commission_percent == Decimal("40")
    assert contract.affiliate_commission_percent is None
    assert ContractEvent.objects.count() == events


def test_accepting_a_change_counts_only_its_new_terms(product):
    ContractFactory(product=product, active=True, commission_percent=30)
    contract = ContractFactory(product=product, active=True, commission_percent=40)
    change = ChangeRequestFactory(
        contract=contract,
        before={"commission_percent": "40.00"},
        after={"commission_percent": "20.00"},
    )

    change_request_accept(change=change, actor=contract.cocreator)

    assert totals(product)[DIRECT] == Decimal("50")
    invite(product, "20")


def test_accepting_an_invitation_checks_the_rule_again(
    product, mailoutbox, django_capture_on_commit_callbacks
):
    ContractFactory(product=product, active=True, commission_percent=40)
    pending = invite(product, "30")
    Contract.objects.filter(pk=pending.pk).update(commission_percent=Decimal("40"))
    events = ContractEvent.objects.filter(contract=pending).count()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ShareLimitExceeded):
        contract_accept(contract=pending, actor=pending.cocreator, terms_accepted=True)

    pending.refresh_from_db()
    assert pending.status == Contract.Status.PENDING
    assert pending.accepted_at is None
    assert ContractEvent.objects.filter(contract=pending).count() == events
    assert mailoutbox == []


def test_accepting_an_invitation_within_the_rule_works(product):
    ContractFactory(product=product, active=True, commission_percent=40)
    pending = invite(product, "30")

    contract_accept(contract=pending, actor=pending.cocreator, terms_accepted=True)

    pending.refresh_from_db()
    assert pending.status == Contract.Status.ACTIVE


# Closed contracts that still pay through automatic sales recovery


RECOVERY_MESSAGE = (
    "counting active contracts, pending invitations and changes, and ended contracts that "
    "still pay through automatic sales recovery"
)
END = date(2025, 3, 31)


def recovering_contract(product, percent: str, *, status=Contract.Status.ENDED) -> Contract:
    """A contract with automatic sales recovery in force from Jan 5 through Mar 31."""
    return ContractFactory(
        product=product,
        status=status,
        commission_percent=Decimal(percent),
        automatic_sales_recovery=True,
        accepted_at=utc(date(2025, 1, 5)),
        end_date=END if status == Contract.Status.EXPIRED else None,
        closed_at=datetime(2025, 4, 1, 0, 5, tzinfo=UTC),
    )


@pytest.mark.parametrize("status", [Contract.Status.ENDED, Contract.Status.EXPIRED])
@pytest.mark.parametrize(("closed", "new"), [("40", "40"), ("60", "60")], ids=["40+40", "60+60"])
def test_a_closed_contract_with_recovery_counts_while_a_subscription_sold_during_it_is_billed(
    status, closed, new
):
    product = subscription_product()
    recovering_contract(product, closed, status=status)
    subscription(product, first_paid_at=utc(date(2025, 2, 1)))

    with pytest.raises(ShareLimitExceeded) as refused:
        invite(product, new)

    assert RECOVERY_MESSAGE in refused.value.message
    assert "would share" in refused.value.message
    assert not Contract.objects.filter(status=Contract.Status.PENDING).exists()
    invite(product, str(70 - int(closed)))


@pytest.mark.parametrize(
    "sold",
    [
        pytest.param({"status": Subscription.Status.CANCELED_BY_CUSTOMER}, id="canceled"),
        pytest.param({"status": Subscription.Status.EXPIRED}, id="all installments paid"),
        pytest.param({"status": Subscription.Status.INACTIVE}, id="first payment failed"),
        pytest.param({"first_paid_at": utc(date(2025, 4, 1), 12)}, id="sold after the end"),
        pytest.param({"first_paid_at": utc(date(2025, 1, 4))}, id="sold before acceptance"),
    ],
)
def test_it_stops_counting_when_no_subscription_sold_during_it_can_be_billed(sold):
    product = subscription_product()
    recovering_contract(product, "40")
    subscription(product, **{"first_paid_at": utc(date(2025, 2, 1)), **sold})

    invite(product, "70")


def test_a_closed_contract_without_recovery_never_counts():
    product = subscription_product()
    ContractFactory(
        product=product,
        ended=True,
        commission_percent=Decimal("40"),
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=utc(END, 20),
    )
    subscription(product, first_paid_at=utc(date(2025, 2, 1)))

    invite(product, "70")


def test_proposing_and_accepting_changes_and_invitations_count_recovering_contracts():
    product = subscription_product()
    recovering_contract(product, "40")
    subscription(product, first_paid_at=utc(date(2025, 2, 1)))
    active = ContractFactory(product=product, active=True, commission_percent=Decimal("30"))

    with pytest.raises(ShareLimitExceeded, match="automatic sales recovery"):
        change_request_propose(
            contract=active,
            actor=product.producer,
            **change_fields(active, commission_percent=Decimal("30.01")),
        )

    # States only direct writes reach: the accept-time checks under the lock still refuse them.
    change = ChangeRequestFactory(
        contract=active,
        before={"commission_percent": "30.00"},
        after={"commission_percent": "31.00"},
    )
    with pytest.raises(ShareLimitExceeded, match="automatic sales recovery"):
        change_request_accept(change=change, actor=active.cocreator)
    change.delete()
    pending = ContractFactory(product=product, commission_percent=Decimal("1"))
    with pytest.raises(ShareLimitExceeded, match="automatic sales recovery"):
        contract_accept(contract=pending, actor=pending.cocreator, terms_accepted=True)

    active.refresh_from_db()
    pending.refresh_from_db()
    assert active.commission_percent == Decimal("30")
    assert pending.status == Contract.Status.PENDING


# share_totals itself


def test_share_totals_labels_each_kind_of_sale(product):
    x = AffiliationFactory(product=product, approved=True)
    AffiliationFactory(product=product)  # not approved: not a kind of sale yet
    ContractFactory(product=product, active=True, commission_percent=Decimal("12.5"))

    result = share_totals(
        product=product,
        contracts=live_contracts(product),
        extra=[ShareTerms(sales_scope=AFFILIATE_ONLY, commission_percent=Decimal("5"))],
    )

    assert [(t.kind, t.label, t.percent) for t in result] == [
        (DIRECT, "direct sales", Decimal("12.5")),
        (ANY_AFFILIATE, "affiliate sales", Decimal("17.5")),
        (x.pk, f"sales by affiliate {x.affiliate.email}", Decimal("17.5")),
    ]
    assert not any(t.exceeded for t in result)
