"""SPEC "Money", the rules a split keeps whatever the background tasks did: automatic sales
recovery follows the contract's own dates (in the producer's time zone), a cocreator credited as
the selling affiliate where the product forbids it is paid one share only, and no share is ever
below zero. (The 30 % floor's side of recovery is in test_shares.py.)

With the test settings' fee (9.9 % + 0.50), a 100.00 BRL sale pays a 10.40 fee and nets 89.60;
a 30 % affiliate takes 26.88 of it and leaves 62.72."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.models import AccountValidation
from coproduction.dates import contract_in_force_until, producer_zone
from coproduction.models import Contract, LedgerEntry
from coproduction.services.contracts import contracts_expire
from coproduction.services.ledger import ledger_write_splits
from coproduction.split import SplitRefused
from products.models import Product, Sale
from subscriptions.models import Recurrence, Subscription
from tests.coproduction.factories import ContractFactory
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

END = date(2025, 3, 31)  # the contracts' end date in these tests


def utc(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def producer_in(country: str | None):
    """A producer whose validated account says `country` (None: no validation at all)."""
    if country is None:
        return UserFactory()
    return UserFactory(validated=True, validation__country=country)


# --- rows built directly: subscriptions, their installments, sales ---------------------------


def subscription_product(producer=None) -> Product:
    product = ProductFactory(subscription=True, **({"producer": producer} if producer else {}))
    PlanFactory(product=product, price_minor=10000)
    return product


def subscription(
    product: Product,
    *,
    first_paid_at: datetime | None,
    created_at: datetime | None = None,
    status=Subscription.Status.ACTIVE,
    affiliation=None,
) -> Subscription:
    """A subscription whose first installment was paid at `first_paid_at` (None: a free first
    installment, which has no sale), created at `created_at` (default: the first payment)."""
    created_at = created_at or first_paid_at
    row = Subscription.objects.create(
        product=product,
        plan=product.plans.get(),
        buyer=UserFactory(),
        affiliation=affiliation,
        status=status,
        method="card",
        country="BR",
        anchor_date=created_at.date(),
        last_number=1,
        paid_count=1,
        checkout_key=uuid.uuid4().hex,
        created_at=created_at,
    )
    if first_paid_at is not None:
        installment(row, 1, first_paid_at)
    return row


def installment(subscription: Subscription, number: int, paid_at: datetime) -> Sale:
    """Installment `number`, paid at `paid_at` (its split not written yet)."""
    sale = Sale.objects.create(
        product=subscription.product,
        buyer=subscription.buyer,
        affiliation=subscription.affiliation,
        subscription=subscription,
        amount_minor=10000,
        currency=subscription.product.currency,
        method="card",
        country="BR",
        checkout_key=uuid.uuid4().hex,
        status=Sale.Status.PAID,
        created_at=paid_at,
        paid_at=paid_at,
    )
    Recurrence.objects.create(
        subscription=subscription,
        number=number,
        due_date=paid_at.date(),
        amount_minor=10000,
        status=Recurrence.Status.PAID,
        sale=sale,
        window_closes_at=paid_at + timedelta(days=7),
        paid_at=paid_at,
    )
    return sale


def one_time_sale(product: Product, paid_at: datetime, affiliation=None) -> Sale:
    return Sale.objects.create(
        product=product,
        buyer=UserFactory(),
        affiliation=affiliation,
        amount_minor=10000,
        currency=product.currency,
        method="card",
        country="BR",
        checkout_key=uuid.uuid4().hex,
        status=Sale.Status.PAID,
        created_at=paid_at,
        paid_at=paid_at,
    )


def split(sale: Sale) -> list[tuple[str, int | None, int]]:
    """Write the sale's split and return (role, beneficiary id, amount) per line."""
    ledger_write_splits(sale_ids=[sale.pk])
    return list(
        LedgerEntry.objects.filter(sale=sale, entry_type=LedgerEntry.EntryType.SPLIT)
        .order_by("line")
        .values_list("role", "beneficiary_id", "amount_minor")
    )


def pays(contract: Contract, sale: Sale) -> bool:
    """Whether the sale's split (written now) pays the contract's cocreator."""
    split(sale)
    return LedgerEntry.objects.filter(sale=sale, contract=contract, role="cocreator").exists()


# --- 1. Automatic sales recovery follows the contract's own dates ----------------------------


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("BR", "America/Sao_Paulo"),
        ("MX", "America/Mexico_City"),
        ("CO", "America/Bogota"),
        ("PT", "Europe/Lisbon"),
        ("US", "America/New_York"),
        ("ES", "Europe/Madrid"),
        ("FR", "Europe/Paris"),
        ("KE", "UTC"),  # a country without a main zone here: settings.TIME_ZONE
        (None, "UTC"),  # no account validation
    ],
)
def test_a_contract_is_in_force_through_the_end_of_its_end_date_in_the_producers_zone(
    country, zone
):
    product = ProductFactory(producer=producer_in(country))
    contract = ContractFactory(product=product, active=True, end_date=END)

    assert producer_zone(product.producer) == ZoneInfo(zone)
    assert contract_in_force_until(contract) == datetime(2025, 4, 1, tzinfo=ZoneInfo(zone))


def test_an_unvalidated_country_is_not_the_producers_zone():
    producer = UserFactory(validated=True, validation__country="PT")
    AccountValidation.objects.filter(user=producer).update(status=AccountValidation.Status.PENDING)
    producer = type(producer).objects.get(pk=producer.pk)

    assert producer_zone(producer) == ZoneInfo("UTC")


def test_an_ended_contract_is_in_force_until_the_termination_or_its_end_date_if_earlier():
    terminated = ContractFactory(ended=True, end_date=END, closed_at=utc(date(2025, 2, 20)))
    late = ContractFactory(ended=True, end_date=END, closed_at=utc(date(2025, 4, 5)))
    eternal = ContractFactory(ended=True, end_date=None, closed_at=utc(date(2025, 2, 20)))
    expired_late = ContractFactory(expired=True, end_date=END, closed_at=utc(date(2025, 4, 9)))
    active = ContractFactory(active=True, end_date=None)
    sao_paulo = ZoneInfo("America/Sao_Paulo")  # the factories' producers are Brazilian

    assert contract_in_force_until(terminated) == utc(date(2025, 2, 20))
    assert contract_in_force_until(late) == datetime(2025, 4, 1, tzinfo=sao_paulo)
    assert contract_in_force_until(eternal) == utc(date(2025, 2, 20))
    assert contract_in_force_until(expired_late) == datetime(2025, 4, 1, tzinfo=sao_paulo)
    assert contract_in_force_until(active) is None


@pytest.mark.parametrize(
    ("country", "paid_at", "paid"),
    [
        # 22:00 on Mar 31 in São Paulo is 01:00 on Apr 1 in UTC: still the end date there.
        ("BR", datetime(2025, 4, 1, 1, 0, tzinfo=UTC), True),
        ("BR", datetime(2025, 4, 1, 3, 0, tzinfo=UTC), False),
        # 23:30 on Mar 31 in UTC is 00:30 on Apr 1 in Lisbon: the end date is over there.
        ("PT", datetime(2025, 3, 31, 22, 59, tzinfo=UTC), True),
        ("PT", datetime(2025, 3, 31, 23, 30, tzinfo=UTC), False),
    ],
)
def test_a_sale_on_the_end_date_pays_by_the_producers_clock(country, paid_at, paid):
    product = ProductFactory(producer=producer_in(country))
    contract = ContractFactory(
        product=product, active=True, end_date=END, accepted_at=utc(date(2025, 1, 5))
    )

    assert pays(contract, one_time_sale(product, paid_at)) is paid


def test_recovery_pays_a_subscription_first_paid_on_the_last_evening_after_the_task_ran():
    """The old daily task expired the contract at 00:05 UTC, three hours before the end date
    was over in São Paulo; a subscription sold in those hours was sold while it was in force."""
    product = subscription_product()
    contract = ContractFactory(
        product=product,
        expired=True,
        automatic_sales_recovery=True,
        end_date=END,
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=datetime(2025, 4, 1, 0, 5, tzinfo=UTC),
    )
    sold = subscription(product, first_paid_at=datetime(2025, 4, 1, 1, 0, tzinfo=UTC))

    assert pays(contract, Sale.objects.get(subscription=sold))
    assert pays(contract, installment(sold, 2, utc(date(2025, 5, 1))))


def test_recovery_ignores_when_the_expiry_task_ran():
    """The task ran ten days late: a subscription sold after the end date is not recovered."""
    product = subscription_product()
    contract = ContractFactory(
        product=product,
        expired=True,
        automatic_sales_recovery=True,
        end_date=END,
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=utc(date(2025, 4, 10)),
    )
    sold_after = subscription(product, first_paid_at=utc(date(2025, 4, 3)))
    sold_during = subscription(product, first_paid_at=utc(date(2025, 3, 3)))

    assert not pays(contract, installment(sold_after, 2, utc(date(2025, 5, 3))))
    assert pays(contract, installment(sold_during, 2, utc(date(2025, 4, 3))))


@pytest.mark.parametrize("recovery", [True, False])
def test_an_active_contract_past_its_end_date_is_treated_exactly_as_expired(recovery):
    product = subscription_product()
    contract = ContractFactory(  # the daily expiry has not run
        product=product,
        active=True,
        automatic_sales_recovery=recovery,
        end_date=END,
        accepted_at=utc(date(2025, 1, 5)),
    )
    sold_during = subscription(product, first_paid_at=utc(date(2025, 3, 20)))
    sold_after = subscription(product, first_paid_at=utc(date(2025, 4, 2)))

    assert pays(contract, installment(sold_during, 2, utc(date(2025, 4, 20)))) is recovery
    assert not pays(contract, Sale.objects.get(subscription=sold_after))
    assert not pays(contract, installment(sold_after, 2, utc(date(2025, 5, 2))))
    assert not pays(contract, one_time_sale(product, utc(date(2025, 4, 20))))


def test_the_first_payment_not_the_checkout_decides_which_subscriptions_are_recovered():
    product = subscription_product()
    contract = ContractFactory(
        product=product,
        ended=True,
        automatic_sales_recovery=True,
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=utc(date(2025, 2, 20)),
    )
    # Checkout before the termination, slip paid after it: not sold while in force.
    paid_after = subscription(
        product, created_at=utc(date(2025, 2, 18)), first_paid_at=utc(date(2025, 2, 22))
    )
    # Checkout before the acceptance, slip paid after it: sold while in force.
    paid_during = subscription(
        product, created_at=utc(date(2025, 1, 3)), first_paid_at=utc(date(2025, 1, 7))
    )

    assert not pays(contract, installment(paid_after, 2, utc(date(2025, 3, 22))))
    assert pays(contract, installment(paid_during, 2, utc(date(2025, 3, 7))))


def test_a_free_first_installment_counts_from_the_subscription_creation():
    product = subscription_product()
    contract = ContractFactory(
        product=product,
        ended=True,
        automatic_sales_recovery=True,
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=utc(date(2025, 2, 20)),
    )
    during = subscription(product, first_paid_at=None, created_at=utc(date(2025, 2, 10)))
    after = subscription(product, first_paid_at=None, created_at=utc(date(2025, 2, 21)))

    assert pays(contract, installment(during, 2, utc(date(2025, 3, 10))))
    assert not pays(contract, installment(after, 2, utc(date(2025, 3, 21))))


@pytest.mark.parametrize("status", [Contract.Status.ENDED, Contract.Status.EXPIRED])
def test_a_sale_paid_while_in_force_pays_even_when_its_split_is_written_after_the_close(status):
    product = ProductFactory()
    contract = ContractFactory(
        product=product,
        status=status,
        end_date=END,
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=utc(date(2025, 4, 1), 20),
    )

    assert pays(contract, one_time_sale(product, utc(END, 20)))


def test_the_expiry_task_agrees_with_the_ledger_on_when_a_contract_stops():
    in_sao_paulo = ContractFactory(
        product=ProductFactory(producer=producer_in("BR")), active=True, end_date=END
    )
    in_lisbon = ContractFactory(
        product=ProductFactory(producer=producer_in("PT")), active=True, end_date=END
    )

    # 02:00 UTC on Apr 1: 23:00 on Mar 31 in São Paulo, 03:00 on Apr 1 in Lisbon.
    assert contracts_expire(now=datetime(2025, 4, 1, 2, 0, tzinfo=UTC)) == 1
    in_sao_paulo.refresh_from_db()
    in_lisbon.refresh_from_db()
    assert (in_sao_paulo.status, in_lisbon.status) == (
        Contract.Status.ACTIVE,
        Contract.Status.EXPIRED,
    )
    assert contracts_expire(now=datetime(2025, 4, 1, 3, 0, tzinfo=UTC)) == 1
    in_sao_paulo.refresh_from_db()
    assert in_sao_paulo.status == Contract.Status.EXPIRED


# --- 2. "Cocreators may also be affiliates" is decided at every split ------------------------


@pytest.fixture
def cocreator_affiliate():
    """A product that forbids cocreators as affiliates, and an affiliate whose link was applied
    before they became a cocreator (contract accepted Jan 5)."""
    product = ProductFactory(price_minor=10000)
    assert product.cocreators_may_be_affiliates is False
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=30)
    return product, affiliation


def test_an_affiliate_who_became_a_cocreator_is_paid_only_the_cocreator_share(
    cocreator_affiliate,
):
    product, affiliation = cocreator_affiliate
    contract = ContractFactory(
        product=product,
        cocreator=affiliation.affiliate,
        active=True,
        commission_percent=Decimal("10"),
        affiliate_commission_percent=Decimal("20"),
        accepted_at=utc(date(2025, 1, 5)),
    )
    sale = one_time_sale(product, utc(date(2025, 2, 1)), affiliation=affiliation)

    # Still an affiliate sale for the contract (its 20 % of 62.72); the 26.88 the affiliate
    # line would have paid stays with the producer.
    assert split(sale) == [
        ("platform", None, 1040),
        ("cocreator", contract.cocreator_id, 1254),
        ("producer", product.producer_id, 8960 - 1254),
    ]


def test_a_recovering_contract_is_a_contract_that_applies_to_the_sale(cocreator_affiliate):
    product, affiliation = cocreator_affiliate
    product.kind, product.price_minor = Product.Kind.SUBSCRIPTION, None
    product.save(update_fields=["kind", "price_minor"])
    PlanFactory(product=product, price_minor=10000)
    contract = ContractFactory(
        product=product,
        cocreator=affiliation.affiliate,
        ended=True,
        automatic_sales_recovery=True,
        accepted_at=utc(date(2025, 1, 5)),
        closed_at=utc(date(2025, 2, 20)),
    )
    sold = subscription(product, first_paid_at=utc(date(2025, 2, 1)), affiliation=affiliation)

    assert split(installment(sold, 2, utc(date(2025, 3, 1)))) == [
        ("platform", None, 1040),
        ("cocreator", contract.cocreator_id, 627),  # 10 % of 62.72
        ("producer", product.producer_id, 8960 - 627),
    ]


@pytest.mark.parametrize(
    "terms",
    [
        pytest.param({"sales_scope": Contract.SalesScope.DIRECT}, id="direct sales only"),
        pytest.param({"accepted_at": utc(date(2025, 2, 2))}, id="accepted after the payment"),
    ],
)
def test_a_cocreator_contract_that_does_not_apply_leaves_the_affiliate_share(
    cocreator_affiliate, terms
):
    product, affiliation = cocreator_affiliate
    ContractFactory(
        product=product,
        cocreator=affiliation.affiliate,
        active=True,
        **{"accepted_at": utc(date(2025, 1, 5)), **terms},
    )
    sale = one_time_sale(product, utc(date(2025, 2, 1)), affiliation=affiliation)

    assert split(sale) == [
        ("platform", None, 1040),
        ("affiliate", affiliation.affiliate_id, 2688),
        ("producer", product.producer_id, 6272),
    ]


def test_where_the_product_allows_it_the_cocreator_affiliate_earns_both(cocreator_affiliate):
    product, affiliation = cocreator_affiliate
    product.cocreators_may_be_affiliates = True
    product.save(update_fields=["cocreators_may_be_affiliates"])
    contract = ContractFactory(
        product=product,
        cocreator=affiliation.affiliate,
        active=True,
        accepted_at=utc(date(2025, 1, 5)),
    )
    sale = one_time_sale(product, utc(date(2025, 2, 1)), affiliation=affiliation)

    assert split(sale) == [
        ("platform", None, 1040),
        ("affiliate", affiliation.affiliate_id, 2688),
        ("cocreator", contract.cocreator_id, 627),
        ("producer", product.producer_id, 5645),
    ]


def test_another_cocreators_contract_does_not_remove_the_affiliate_line(cocreator_affiliate):
    product, affiliation = cocreator_affiliate
    contract = ContractFactory(product=product, active=True, accepted_at=utc(date(2025, 1, 5)))
    sale = one_time_sale(product, utc(date(2025, 2, 1)), affiliation=affiliation)

    assert split(sale) == [
        ("platform", None, 1040),
        ("affiliate", affiliation.affiliate_id, 2688),
        ("cocreator", contract.cocreator_id, 627),
        ("producer", product.producer_id, 5645),
    ]


# --- 3. The split refuses rather than write a share below zero -------------------------------


def test_the_ledger_refuses_a_split_that_would_pay_a_negative_share():
    """Only direct writes reach 120 %: the services refuse it (test_shares.py)."""
    product = ProductFactory()
    for percent in ("60", "60"):
        ContractFactory(
            product=product,
            active=True,
            commission_percent=Decimal(percent),
            accepted_at=utc(date(2025, 1, 5)),
        )
    sale = one_time_sale(product, utc(date(2025, 2, 1)))

    with pytest.raises(SplitRefused):
        ledger_write_splits(sale_ids=[sale.pk])
    assert not LedgerEntry.objects.filter(sale=sale).exists()
