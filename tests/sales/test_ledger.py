"""Each paid sale's split through the real services (SPEC "Money"): who gets what, which contracts
apply at payment time, and the ledger's append-only rules in the ORM and in PostgreSQL.

With the test settings' fee (9.9 % + 0.50), a 100.00 BRL sale pays a 10.40 fee and nets 89.60."""

import uuid
from datetime import UTC, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from coproduction.models import Contract, LedgerEntry, LedgerImmutable
from coproduction.services.changes import change_request_accept
from coproduction.services.contracts import contract_accept, contract_cancel, contract_invite
from coproduction.services.ledger import applicable_contracts, ledger_write_splits
from products.models import Affiliation, PaymentAttempt, Sale
from products.payments.gateway import GatewayResult, Outcome
from products.services.sales import sale_pay, sale_start
from tests.factories import (
    AffiliationFactory,
    ProductFactory,
    UserFactory,
    checkout_token,
    record_outcome,
)

pytestmark = pytest.mark.django_db

APPROVED_CARD = "4242424242424242"


# --- helpers the other sales test modules share ------------------------------------------------


def cocreator_contract(
    product,
    *,
    cocreator=None,
    percent="10",
    sales_scope=Contract.SalesScope.ALL,
    affiliates=(),
    affiliate_percent=None,
    end_date=None,
    automatic_sales_recovery=False,
) -> Contract:
    """An active contract made the way people make them: invited, then accepted."""
    cocreator = cocreator or UserFactory(validated=True)
    contract = contract_invite(
        product=product,
        actor=product.producer,
        cocreator_email=cocreator.email,
        role=Contract.Role.EXPERT,
        coproduction_model=Contract.CoproductionModel.REVENUE_SHARE,
        automatic_sales_recovery=automatic_sales_recovery,
        terms_accepted=True,
        end_date=end_date,
        sales_scope=sales_scope,
        all_affiliates=not affiliates,
        affiliates=affiliates,
        commission_percent=Decimal(percent),
        affiliate_commission_percent=(
            Decimal(affiliate_percent) if affiliate_percent is not None else None
        ),
    )
    return contract_accept(contract=contract, actor=cocreator, terms_accepted=True)


def buy(product, *, buyer=None, code=None, method="card", country="BR", token=APPROVED_CARD):
    """Checkout through the services: start the sale, then pay it."""
    sale = sale_start(
        product=product,
        buyer=(buyer_ := buyer or UserFactory()),
        method=method,
        country=country,
        affiliate_code=code,
        checkout_token=checkout_token(buyer_, uuid.uuid4().hex),
    )
    return sale_pay(sale=sale, token=token)


def split_of(sale) -> list[tuple[str, int | None, int]]:
    """(role, beneficiary id, amount) of each split line, in line order."""
    return list(
        LedgerEntry.objects.filter(sale=sale, entry_type=LedgerEntry.EntryType.SPLIT)
        .order_by("line")
        .values_list("role", "beneficiary_id", "amount_minor")
    )


def assert_split_sums_to_amount(sale) -> None:
    amounts = [amount for _, _, amount in split_of(sale)]
    assert amounts, "the paid sale has no split"
    assert all(amount >= 0 for amount in amounts)
    assert sum(amounts) == sale.amount_minor


# --- the SPEC example --------------------------------------------------------------------------


def test_spec_example_end_to_end():
    product = ProductFactory(price_minor=10000, currency="BRL")
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=35)
    contract = cocreator_contract(product, percent="10")
    buyer = UserFactory()

    sale = buy(product, buyer=buyer, code=affiliation.code)

    assert sale.status == Sale.Status.PAID
    assert sale.affiliation == affiliation
    assert split_of(sale) == [
        ("platform", None, 1040),
        ("affiliate", affiliation.affiliate_id, 3136),
        ("cocreator", contract.cocreator_id, 582),
        ("producer", product.producer_id, 5242),
    ]
    entries = LedgerEntry.objects.filter(sale=sale)
    assert {e.currency for e in entries} == {"BRL"}
    assert {e.created_at for e in entries} == {sale.paid_at}
    cocreator_line = entries.get(role="cocreator")
    assert cocreator_line.contract == contract
    assert entries.get(role="affiliate").affiliation == affiliation


# --- worked cases ------------------------------------------------------------------------------


@pytest.fixture
def world(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, price_minor=10000, currency="BRL")
    affiliate = UserFactory(validated=True)
    other_affiliate = UserFactory(validated=True)
    return SimpleNamespace(
        producer=producer,
        product=product,
        affiliate=affiliate,
        affiliation=AffiliationFactory(product=product, affiliate=affiliate, approved=True),
        other_affiliate=other_affiliate,
        other_affiliation=AffiliationFactory(
            product=product, affiliate=other_affiliate, approved=True
        ),
        cocreator=UserFactory(validated=True),
        buyer=UserFactory(),
        clock=time_machine,
    )


def no_affiliate(w):
    return buy(w.product, buyer=w.buyer)


def affiliate_only(w):
    return buy(w.product, buyer=w.buyer, code=w.affiliation.code)


def affiliate_scope_contract_on_direct_sale(w):
    cocreator_contract(w.product, cocreator=w.cocreator, sales_scope=Contract.SalesScope.AFFILIATE)
    return buy(w.product, buyer=w.buyer)


def affiliate_scope_contract_on_affiliate_sale(w):
    cocreator_contract(w.product, cocreator=w.cocreator, sales_scope=Contract.SalesScope.AFFILIATE)
    return buy(w.product, buyer=w.buyer, code=w.affiliation.code)


def direct_scope_contract_on_affiliate_sale(w):
    cocreator_contract(w.product, cocreator=w.cocreator, sales_scope=Contract.SalesScope.DIRECT)
    return buy(w.product, buyer=w.buyer, code=w.affiliation.code)


def chosen_affiliates_contract_on_a_chosen_affiliates_sale(w):
    cocreator_contract(
        w.product,
        cocreator=w.cocreator,
        sales_scope=Contract.SalesScope.AFFILIATE,
        affiliates=[w.affiliation],
    )
    return buy(w.product, buyer=w.buyer, code=w.affiliation.code)


def chosen_affiliates_contract_on_another_affiliates_sale(w):
    cocreator_contract(
        w.product,
        cocreator=w.cocreator,
        sales_scope=Contract.SalesScope.AFFILIATE,
        affiliates=[w.affiliation],
    )
    return buy(w.product, buyer=w.buyer, code=w.other_affiliation.code)


def affiliate_percent_on_affiliate_sale(w):
    cocreator_contract(w.product, cocreator=w.cocreator, percent="10", affiliate_percent="20")
    return buy(w.product, buyer=w.buyer, code=w.affiliation.code)


def affiliate_percent_not_on_direct_sale(w):
    cocreator_contract(w.product, cocreator=w.cocreator, percent="10", affiliate_percent="20")
    return buy(w.product, buyer=w.buyer)


def contract_accepted_after_the_payment(w):
    invitation = contract_invite(
        product=w.product,
        actor=w.producer,
        cocreator_email=w.cocreator.email,
        role=Contract.Role.EXPERT,
        coproduction_model=Contract.CoproductionModel.REVENUE_SHARE,
        automatic_sales_recovery=False,
        terms_accepted=True,
        end_date=None,
        sales_scope=Contract.SalesScope.ALL,
        all_affiliates=True,
        affiliates=(),
        commission_percent=Decimal("10"),
        affiliate_commission_percent=None,
    )
    sale = buy(w.product, buyer=w.buyer)  # the invitation is still pending when the buyer pays
    w.clock.shift(timedelta(minutes=1))
    contract = contract_accept(contract=invitation, actor=w.cocreator, terms_accepted=True)
    assert applicable_contracts(sale, [contract]) == []  # judged at the payment, not later
    assert ledger_write_splits(sale_ids=[sale.pk]) == 0
    return sale


def end_date_passed_but_not_expired_yet(w):
    today = timezone.localdate()
    cocreator_contract(w.product, cocreator=w.cocreator, end_date=today + timedelta(days=1))
    # Two days past the end date in any zone (a day past in UTC could still be the end date
    # in the producer's zone); the daily expiry has not run.
    w.clock.shift(timedelta(days=3))
    sale = buy(w.product, buyer=w.buyer)
    assert Contract.objects.get().status == Contract.Status.ACTIVE
    return sale


def paid_on_the_end_date(w):
    today = timezone.localdate()
    cocreator_contract(w.product, cocreator=w.cocreator, end_date=today + timedelta(days=1))
    w.clock.shift(timedelta(days=1))  # the contract applies through it
    return buy(w.product, buyer=w.buyer)


def ended_contract_with_sales_recovery_on_one_time_sale(w):
    contract = cocreator_contract(w.product, cocreator=w.cocreator, automatic_sales_recovery=True)
    termination = contract_cancel(contract=contract, actor=w.producer)
    change_request_accept(change=termination, actor=w.cocreator)
    assert Contract.objects.get().status == Contract.Status.ENDED
    return buy(w.product, buyer=w.buyer)


def cocreator_is_the_affiliate_where_allowed(w):
    w.product.cocreators_may_be_affiliates = True
    w.product.save(update_fields=["cocreators_may_be_affiliates"])
    affiliation = AffiliationFactory(
        product=w.product, affiliate=w.cocreator, approved=True, commission_percent=35
    )
    cocreator_contract(w.product, cocreator=w.cocreator)
    return buy(w.product, buyer=w.buyer, code=affiliation.code)


def cocreator_is_the_affiliate_where_not_allowed(w):
    affiliation = AffiliationFactory(
        product=w.product, affiliate=w.cocreator, approved=True, commission_percent=35
    )
    cocreator_contract(w.product, cocreator=w.cocreator)
    return buy(w.product, buyer=w.buyer, code=affiliation.code)


def refused_affiliation_code(w):
    affiliation = AffiliationFactory(product=w.product, refused=True)
    return buy(w.product, buyer=w.buyer, code=affiliation.code)


def revoked_affiliation_code(w):
    Affiliation.objects.filter(pk=w.affiliation.pk).update(status=Affiliation.Status.REVOKED)
    return buy(w.product, buyer=w.buyer, code=w.affiliation.code)


def another_products_affiliation_code(w):
    affiliation = AffiliationFactory(approved=True)
    return buy(w.product, buyer=w.buyer, code=affiliation.code)


def buyers_own_affiliation_code(w):
    return buy(w.product, buyer=w.affiliate, code=w.affiliation.code)


# (builder, who the sale is attributed to, expected split as (role, who, amount)).
# 100.00 BRL: fee 1040, net 8960; a 30 % affiliate 2688 leaves 6272; 35 % → 3136 leaves 5824.
DIRECT = [("platform", None, 1040), ("producer", "producer", 8960)]
AFFILIATE_30 = [
    ("platform", None, 1040),
    ("affiliate", "affiliate", 2688),
    ("producer", "producer", 6272),
]
CASES = [
    (no_affiliate, None, DIRECT),
    (affiliate_only, "affiliate", AFFILIATE_30),
    (affiliate_scope_contract_on_direct_sale, None, DIRECT),
    (
        affiliate_scope_contract_on_affiliate_sale,
        "affiliate",
        [
            ("platform", None, 1040),
            ("affiliate", "affiliate", 2688),
            ("cocreator", "cocreator", 627),  # 10 % of 6272 = 627.2
            ("producer", "producer", 5645),
        ],
    ),
    (direct_scope_contract_on_affiliate_sale, "affiliate", AFFILIATE_30),
    (
        chosen_affiliates_contract_on_a_chosen_affiliates_sale,
        "affiliate",
        [
            ("platform", None, 1040),
            ("affiliate", "affiliate", 2688),
            ("cocreator", "cocreator", 627),
            ("producer", "producer", 5645),
        ],
    ),
    (
        chosen_affiliates_contract_on_another_affiliates_sale,
        "other_affiliate",
        [
            ("platform", None, 1040),
            ("affiliate", "other_affiliate", 2688),
            ("producer", "producer", 6272),
        ],
    ),
    (
        affiliate_percent_on_affiliate_sale,
        "affiliate",
        [
            ("platform", None, 1040),
            ("affiliate", "affiliate", 2688),
            ("cocreator", "cocreator", 1254),  # 20 % of 6272 = 1254.4
            ("producer", "producer", 5018),
        ],
    ),
    (
        affiliate_percent_not_on_direct_sale,
        None,
        [
            ("platform", None, 1040),
            ("cocreator", "cocreator", 896),  # 10 % of 8960
            ("producer", "producer", 8064),
        ],
    ),
    (contract_accepted_after_the_payment, None, DIRECT),
    (end_date_passed_but_not_expired_yet, None, DIRECT),
    (
        paid_on_the_end_date,
        None,
        [("platform", None, 1040), ("cocreator", "cocreator", 896), ("producer", "producer", 8064)],
    ),
    (ended_contract_with_sales_recovery_on_one_time_sale, None, DIRECT),
    (
        cocreator_is_the_affiliate_where_allowed,
        "cocreator",
        [
            ("platform", None, 1040),
            ("affiliate", "cocreator", 3136),
            ("cocreator", "cocreator", 582),
            ("producer", "producer", 5242),
        ],
    ),
    (
        cocreator_is_the_affiliate_where_not_allowed,
        None,
        [("platform", None, 1040), ("cocreator", "cocreator", 896), ("producer", "producer", 8064)],
    ),
    (refused_affiliation_code, None, DIRECT),
    (revoked_affiliation_code, None, DIRECT),
    (another_products_affiliation_code, None, DIRECT),
    (buyers_own_affiliation_code, None, DIRECT),
]


@pytest.mark.parametrize(
    "build, attributed_to, expected", CASES, ids=[case[0].__name__ for case in CASES]
)
def test_worked_case(world, build, attributed_to, expected):
    sale = build(world)

    sale.refresh_from_db()
    assert sale.status == Sale.Status.PAID
    affiliate = sale.affiliation.affiliate if sale.affiliation else None
    assert affiliate == (getattr(world, attributed_to) if attributed_to else None)
    assert split_of(sale) == [
        (role, getattr(world, who).pk if who else None, amount) for role, who, amount in expected
    ]
    assert_split_sums_to_amount(sale)


def test_cash_sale_started_before_the_contract_but_paid_after_it_pays_the_cocreator(world):
    sale = sale_start(
        product=world.product,
        buyer=world.buyer,
        method="boleto",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(world.buyer, "slip"),
    )
    sale = sale_pay(sale=sale, token="")
    assert sale.status == Sale.Status.PENDING
    contract = cocreator_contract(world.product, cocreator=world.cocreator)

    attempt = PaymentAttempt.objects.get(sale=sale)
    approved = GatewayResult(Outcome.APPROVED, attempt.gateway_reference, "Paid")
    sale = record_outcome(attempt=attempt, result=approved)

    assert sale.status == Sale.Status.PAID
    assert split_of(sale) == [
        ("platform", None, 1040),
        ("cocreator", contract.cocreator_id, 896),
        ("producer", world.producer.pk, 8064),
    ]


@pytest.mark.parametrize(
    "currency, price, percent",
    [("USD", 1, "10"), ("USD", 51, "33.33"), ("MXN", 999, "70"), ("COP", 12345678, "0.01")],
)
def test_odd_amounts_and_currencies_still_sum_exactly(currency, price, percent):
    product = ProductFactory(currency=currency, price_minor=price)
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=33)
    cocreator_contract(product, percent=percent)

    sale = buy(product, code=affiliation.code, country="US")

    assert_split_sums_to_amount(sale)
    assert {e.currency for e in LedgerEntry.objects.filter(sale=sale)} == {currency}


# --- written once ------------------------------------------------------------------------------


def test_ledger_write_splits_writes_each_sale_once():
    product = ProductFactory()
    sales = [buy(product), buy(product)]
    before = list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount_minor"))

    assert ledger_write_splits(sale_ids=[s.pk for s in sales]) == 0

    assert list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount_minor")) == before
    assert len(before) == 4


def test_ledger_write_splits_skips_unpaid_sales_and_splits_a_paid_one_missing_its_split():
    product = ProductFactory()
    pending = sale_start(
        product=product,
        buyer=(buyer_ := UserFactory()),
        method="card",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer_, "pending"),
    )
    # A sale marked paid by a batch that crashed before writing its ledger.
    unsplit = sale_start(
        product=product,
        buyer=(buyer_ := UserFactory()),
        method="card",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer_, "unsplit"),
    )
    Sale.objects.filter(pk=unsplit.pk).update(status=Sale.Status.PAID, paid_at=timezone.now())

    assert ledger_write_splits(sale_ids=[pending.pk, unsplit.pk]) == 1

    assert not LedgerEntry.objects.filter(sale=pending).exists()
    assert_split_sums_to_amount(Sale.objects.get(pk=unsplit.pk))


def test_unique_index_refuses_a_second_split_line():
    sale = buy(ProductFactory())
    first = LedgerEntry.objects.get(sale=sale, line=0)

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            sale=sale,
            product_id=sale.product_id,
            entry_type=LedgerEntry.EntryType.SPLIT,
            line=0,
            role=first.role,
            amount_minor=1,
            currency=sale.currency,
            available_on=timezone.now().date(),
        )
    assert LedgerEntry.objects.filter(sale=sale).count() == 2


def test_a_reversing_entry_needs_a_refund_and_a_negative_amount():
    sale = buy(ProductFactory())

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            sale=sale,
            product_id=sale.product_id,
            entry_type=LedgerEntry.EntryType.REFUND,
            line=0,
            role="platform",
            amount_minor=-1,
            currency=sale.currency,
            available_on=timezone.now().date(),
        )
    assert LedgerEntry.objects.filter(sale=sale).count() == 2


# --- append-only -------------------------------------------------------------------------------


@pytest.fixture
def entry():
    return LedgerEntry.objects.filter(sale=buy(ProductFactory())).get(role="producer")


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda e: (setattr(e, "amount_minor", 1), e.save()), id="save"),
        pytest.param(lambda e: e.delete(), id="delete"),
        pytest.param(
            lambda e: LedgerEntry.objects.filter(pk=e.pk).update(amount_minor=1), id="qs.update"
        ),
        pytest.param(lambda e: LedgerEntry.objects.filter(pk=e.pk).delete(), id="qs.delete"),
        pytest.param(
            lambda e: LedgerEntry.objects.bulk_update(
                [setattr(e, "amount_minor", 1) or e], ["amount_minor"]
            ),
            id="bulk_update",
        ),
    ],
)
def test_the_orm_refuses_to_change_an_entry(entry, write):
    # bulk_update runs in atomic(savepoint=False): keep its failure inside a block of our own.
    with pytest.raises(LedgerImmutable, match="append-only"), transaction.atomic():
        write(entry)

    assert LedgerEntry.objects.get(pk=entry.pk).amount_minor == 8960


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE coproduction_ledgerentry SET amount_minor = 1 WHERE id = %s",
        "DELETE FROM coproduction_ledgerentry WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_postgresql_trigger_refuses_raw_update_and_delete(entry, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])

    assert LedgerEntry.objects.get(pk=entry.pk).amount_minor == 8960


# --- splits made once per set of values ----------------------------------------------------------


def test_sales_of_the_same_shape_share_one_split_but_keep_their_own_rows():
    product = ProductFactory(price_minor=10000, currency="BRL")
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=35)
    contract = cocreator_contract(product, percent="10")

    first, second = buy(product, code=affiliation.code), buy(product, code=affiliation.code)

    # Only the sale differs; each sums to its amount (the database checks it again at commit).
    assert (
        split_of(first)
        == split_of(second)
        == [
            ("platform", None, 1040),
            ("affiliate", affiliation.affiliate_id, 3136),
            ("cocreator", contract.cocreator_id, 582),
            ("producer", product.producer_id, 5242),
        ]
    )
    assert set(LedgerEntry.objects.filter(sale=second).values_list("sale_id", flat=True)) == {
        second.pk
    }


def test_a_cached_split_follows_every_value_it_depends_on(settings):
    """The split is reused only for exactly the same values: a contract's new percentage, a new
    fee or another amount gives a new split."""
    product = ProductFactory(price_minor=10000, currency="BRL")
    contract = cocreator_contract(product, percent="10")
    before = buy(product)

    Contract.objects.filter(pk=contract.pk).update(commission_percent=Decimal("20"))
    after_percent = buy(product)
    settings.PLATFORM_FEE_PERCENT = "5"
    after_fee = buy(product)
    Product = type(product)
    Product.objects.filter(pk=product.pk).update(price_minor=10001)
    after_price = buy(Product.objects.get(pk=product.pk))

    assert [amount for *_, amount in split_of(before)] == [1040, 896, 8064]
    assert [amount for *_, amount in split_of(after_percent)] == [1040, 1792, 7168]
    assert [amount for *_, amount in split_of(after_fee)] == [550, 1890, 7560]
    assert [amount for *_, amount in split_of(after_price)] == [550, 1890, 7561]


def test_a_refused_split_is_refused_every_time():
    from coproduction.services.ledger import split_entries
    from coproduction.split import SplitRefused

    sale = SimpleNamespace(
        pk=1,
        product_id=1,
        affiliation_id=None,
        affiliation=None,
        amount_minor=10000,
        currency="BRL",
        paid_at=timezone.now(),
        product=SimpleNamespace(producer_id=1, cocreators_may_be_affiliates=True, guarantee_days=7),
    )
    too_much = [(SimpleNamespace(pk=n, cocreator_id=n), Decimal("60")) for n in (1, 2)]
    for _ in range(2):  # not cached as a result
        with pytest.raises(SplitRefused):
            split_entries(sale, too_much)


def test_copy_text_is_the_rows_in_copy_format():
    from coproduction.services.ledger import _copy_text, split_entries

    paid_at = timezone.now()
    sale = SimpleNamespace(
        pk=41,
        product_id=7,
        affiliation_id=None,
        affiliation=None,
        amount_minor=10000,
        currency="BRL",
        paid_at=paid_at,
        product=SimpleNamespace(producer_id=3, cocreators_may_be_affiliates=True, guarantee_days=7),
    )
    rows = split_entries(sale, [(SimpleNamespace(pk=5, cocreator_id=9), Decimal("10"))])
    # Released the day after the 7-day guarantee plus BRL's 30 holding days.
    day = paid_at.astimezone(UTC).date() + timedelta(days=38)

    assert list(rows) == [
        (
            41,
            7,
            "split",
            0,
            "platform",
            None,
            None,
            None,
            None,
            1040,
            "BRL",
            paid_at,
            None,
            "earning",
            day,
        ),
        (
            41,
            7,
            "split",
            1,
            "cocreator",
            9,
            5,
            None,
            None,
            896,
            "BRL",
            paid_at,
            None,
            "earning",
            day,
        ),
        (
            41,
            7,
            "split",
            2,
            "producer",
            3,
            None,
            None,
            None,
            8064,
            "BRL",
            paid_at,
            None,
            "earning",
            day,
        ),
    ]
    stamp, tail = paid_at.isoformat(), f"\\N\tearning\t{day.isoformat()}"
    assert rows.copy_text() == (
        f"41\t7\tsplit\t0\tplatform\t\\N\t\\N\t\\N\t\\N\t1040\tBRL\t{stamp}\t{tail}\n"
        f"41\t7\tsplit\t1\tcocreator\t9\t5\t\\N\t\\N\t896\tBRL\t{stamp}\t{tail}\n"
        f"41\t7\tsplit\t2\tproducer\t3\t\\N\t\\N\t\\N\t8064\tBRL\t{stamp}\t{tail}\n"
    )
    assert rows.earnings == ((None, "BRL", day, 1040), (9, "BRL", day, 896), (3, "BRL", day, 8064))
    assert _copy_text("a\tb\\c\nd\r") == "a\\tb\\\\c\\nd\\r"


def test_a_refund_line_is_reversed_once():
    """ledger_reversal_once holds where there is a refund (its index covers only those rows)."""
    from products.models import Refund

    sale = buy(ProductFactory(price_minor=10000))
    refund = Refund.objects.create(sale=sale, amount_minor=100, kind=Refund.Kind.REFUND)
    line = LedgerEntry.objects.get(sale=sale, line=1)

    def reversal():
        return LedgerEntry(
            sale=sale,
            product_id=sale.product_id,
            refund=refund,
            entry_type=LedgerEntry.EntryType.REFUND,
            line=line.line,
            role=line.role,
            beneficiary_id=line.beneficiary_id,
            amount_minor=-100,
            currency=sale.currency,
            available_on=timezone.now().date(),
        )

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.bulk_create([reversal(), reversal()])
