"""What the database itself enforces on contracts and change requests, and the words models
show for them."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from coproduction.models import ChangeRequest, Contract, TermsOfUse
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Contract.Status


def test_terms_of_use_v1_is_published_by_a_migration():
    terms = TermsOfUse.objects.get(version=1)

    assert "30 %" in terms.body
    assert str(terms) == "Co-creation Terms of Use v1"


# One live contract per product and cocreator


@pytest.mark.parametrize("first", [Status.PENDING, Status.ACTIVE])
@pytest.mark.parametrize("second", [Status.PENDING, Status.ACTIVE])
def test_a_second_live_contract_for_the_same_pair_is_refused(first, second):
    contract = ContractFactory(status=first)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(product=contract.product, cocreator=contract.cocreator, status=second)

    assert Contract.objects.count() == 1


@pytest.mark.parametrize("closed", [Status.DECLINED, Status.CANCELED, Status.ENDED, Status.EXPIRED])
def test_a_new_contract_after_a_closed_one_is_allowed(closed):
    old = ContractFactory(status=closed)

    ContractFactory(product=old.product, cocreator=old.cocreator)
    ContractFactory(product=old.product, cocreator=old.cocreator, status=closed)

    assert Contract.objects.filter(product=old.product, cocreator=old.cocreator).count() == 3


def test_the_same_cocreator_may_co_produce_several_products():
    cocreator = UserFactory(validated=True)

    ContractFactory(cocreator=cocreator, active=True)
    ContractFactory(cocreator=cocreator, active=True)

    assert Contract.objects.filter(cocreator=cocreator, status=Status.ACTIVE).count() == 2


def test_reopening_a_declined_contract_beside_a_new_one_is_refused():
    old = ContractFactory(declined=True)
    ContractFactory(product=old.product, cocreator=old.cocreator)

    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.filter(pk=old.pk).update(status=Status.PENDING)


# Percentages and choices


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("commission_percent", Decimal("0")),
        ("commission_percent", Decimal("-5")),
        ("commission_percent", Decimal("70.01")),
        ("commission_percent", Decimal("100")),
        ("affiliate_commission_percent", Decimal("0")),
        ("affiliate_commission_percent", Decimal("70.01")),
        ("status", "archived"),
        ("sales_scope", "everything"),
    ],
)
def test_the_database_refuses_out_of_range_values(field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(**{field: value})

    assert not Contract.objects.exists()


@pytest.mark.parametrize(
    ("commission", "affiliate"),
    [(Decimal("0.01"), None), (Decimal("70"), Decimal("70")), (Decimal("35.5"), Decimal("0.01"))],
)
def test_the_database_accepts_the_edges(commission, affiliate):
    contract = ContractFactory(
        commission_percent=commission, affiliate_commission_percent=affiliate
    )

    contract.refresh_from_db()
    assert (contract.commission_percent, contract.affiliate_commission_percent) == (
        commission,
        affiliate,
    )


# Change requests


def test_two_pending_requests_on_one_contract_are_refused():
    change = ChangeRequestFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequestFactory(contract=change.contract, termination=True)

    assert ChangeRequest.objects.count() == 1


def test_answered_requests_do_not_block_a_new_pending_one():
    contract = ContractFactory(active=True)
    for trait in ("accepted", "refused", "withdrawn"):
        ChangeRequestFactory(contract=contract, **{trait: True})

    ChangeRequestFactory(contract=contract)

    assert contract.changes.filter(status=ChangeRequest.Status.PENDING).count() == 1
    assert contract.changes.count() == 4


def test_pending_requests_on_different_contracts_are_independent():
    ChangeRequestFactory()
    ChangeRequestFactory()

    assert ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).count() == 2


def test_a_change_request_status_outside_the_choices_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequestFactory(status="lost")


# Words


def test_contract_duration_and_scope_words():
    eternal = ContractFactory(sales_scope=Contract.SalesScope.DIRECT)
    dated = ContractFactory(end_date=datetime.date(2027, 3, 9), sales_scope="affiliate")

    assert eternal.duration_display == "Eternal"
    assert dated.duration_display == "Until Mar 9, 2027"
    assert (eternal.covers_direct_sales, eternal.covers_affiliate_sales) == (True, False)
    assert (dated.covers_direct_sales, dated.covers_affiliate_sales) == (False, True)
    assert eternal.is_live and not ContractFactory(ended=True).is_live


def test_effective_affiliate_percent_falls_back_to_the_direct_one():
    assert ContractFactory(commission_percent=12).effective_affiliate_percent == 12
    contract = ContractFactory(commission_percent=12, affiliate_commission_percent=Decimal("4"))
    assert contract.effective_affiliate_percent == Decimal("4")


def test_change_request_describes_each_change():
    product = ProductFactory()
    old, new = (AffiliationFactory(product=product, approved=True) for _ in range(2))
    change = ChangeRequestFactory(
        contract=ContractFactory(product=product, active=True),
        before={
            "commission_percent": "10.00",
            "affiliate_commission_percent": None,
            "sales_scope": "all",
            "end_date": None,
            "affiliates": {"all": False, "chosen": [{"id": old.pk, "email": "old@example.com"}]},
        },
        after={
            "commission_percent": "12.50",
            "affiliate_commission_percent": "5.00",
            "sales_scope": "affiliate",
            "end_date": "2027-01-31",
            "affiliates": {"all": False, "chosen": [{"id": new.pk, "email": "new@example.com"}]},
        },
    )
    change.refresh_from_db()  # PostgreSQL's jsonb does not keep the keys' order

    assert change.type_display == (
        "Commission percentage, Affiliate sales commission, Sales scope, Affiliates changed, "
        "Contract end date"
    )
    assert change.rows == [
        {"label": "Commission percentage", "before": "10.00 %", "after": "12.50 %"},
        {
            "label": "Affiliate sales commission",
            "before": "Same as direct sales",
            "after": "5.00 %",
        },
        {"label": "Sales scope", "before": "All sales", "after": "Affiliate sales only"},
        {"label": "Affiliates changed", "before": "old@example.com", "after": "new@example.com"},
        {"label": "Contract end date", "before": "Eternal", "after": "Jan 31, 2027"},
    ]
    assert change.affiliates_added == [{"id": new.pk, "email": "new@example.com"}]
    assert change.affiliates_removed == [{"id": old.pk, "email": "old@example.com"}]


def test_a_termination_is_named_as_such():
    change = ChangeRequestFactory(termination=True)

    assert change.type_display == "Termination"
    assert change.rows == []
    assert change.affiliates_added == change.affiliates_removed == []
    assert str(change) == f"Termination on {change.contract}"
