"""What the balance and withdrawal tests share: a product whose sales split four ways (SPEC's
example), sales paid through the real payment path, a clock stopped on a known day, balances
read as (pending, available, in withdrawal, withdrawn), and the stateful test's Hypothesis
profiles (the same `ci` / `dev` choice as tests/properties, fewer examples: every example
pays, refunds and withdraws through the services).

Day arithmetic of the fixed clock: paid on 10 March 2026 (15:00 UTC) with 7 days' guarantee,
a BRL sale's shares are released on 10 + 7 + 1 + 30 days = 17 April, another currency's on
10 + 7 + 1 + 15 = 2 April."""

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from coproduction import balances
from coproduction.models import LedgerEntry
from products.services.refunds import sale_chargeback, sale_refund
from tests.factories import (
    AffiliationFactory,
    PayoutAccountFactory,
    ProductFactory,
    SaleFactory,
    UserFactory,
)
from tests.properties.conftest import profile_name
from tests.sales.test_ledger import cocreator_contract

PAID_AT = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
GUARANTEE_DAYS = 7
BRL_RELEASE = date(2026, 4, 17)
OTHER_RELEASE = date(2026, 4, 2)
# SPEC's example: 100.00 through a 35 % affiliate with a 10 % cocreator (test settings' fee
# 9.9 % + 0.50). The same in every currency whose fixed fee is 0.50.
PRICE = 100_00
SPLIT = {"platform": 10_40, "affiliate": 31_36, "cocreator": 5_82, "producer": 52_42}
# A direct sale of 100.00 without cocreator: the platform's 10.40, the producer's 89.60.
DIRECT_SPLIT = {"platform": 10_40, "producer": 89_60}
# settings.PAYOUT_LIMITS_MINOR["BRL"]
BRL_FEE, BRL_MINIMUM, BRL_REVIEW_ABOVE = 3_67, 50_00, 10_000_00


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """Stopped at PAID_AT; tests move it with `clock.move_to(...)`."""
    time_machine.move_to(PAID_AT, tick=False)
    return time_machine


def make_world(currency: str = "BRL", *, price: int = PRICE) -> SimpleNamespace:
    """A producer's product (7 days' guarantee) with a 35 % approved affiliate and an accepted
    10 % cocreator contract, each party validated; made at the clock's time."""
    producer = UserFactory(validated=True)
    product = ProductFactory(
        producer=producer, currency=currency, price_minor=price, guarantee_days=GUARANTEE_DAYS
    )
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=35)
    cocreator = UserFactory(validated=True)
    contract = cocreator_contract(product, cocreator=cocreator, percent="10")
    return SimpleNamespace(
        currency=currency,
        producer=producer,
        product=product,
        affiliation=affiliation,
        affiliate=affiliation.affiliate,
        cocreator=cocreator,
        contract=contract,
        parties={
            "producer": producer,
            "affiliate": affiliation.affiliate,
            "cocreator": cocreator,
            "platform": None,
        },
    )


@pytest.fixture
def world(clock) -> SimpleNamespace:
    return make_world()


def pay(product, *, affiliation=None, amount_minor=None, buyer=None):
    """A sale of `product` paid by card through the real payment path (split and ledger)."""
    extra = {"amount_minor": amount_minor} if amount_minor is not None else {}
    return SaleFactory(
        product=product,
        affiliation=affiliation,
        buyer=buyer or UserFactory(),
        checkout_key=uuid.uuid4().hex,
        paid=True,
        **extra,
    )


def pay_split(w, **kwargs):
    """A sale of the world's product through its affiliate: split four ways."""
    return pay(w.product, affiliation=w.affiliation, **kwargs)


def take_back(sale, how: str, amount_minor=None):
    """A refund by the producer (any amount, any time) or a chargeback (all that is left)."""
    if how == "refund":
        return sale_refund(sale=sale, actor=sale.product.producer, amount_minor=amount_minor)
    assert how == "chargeback"
    return sale_chargeback(sale=sale, actor=None)


def party_pk(party) -> int | None:
    return None if party is None else party.pk


def view(party, currency: str = "BRL", *, on=None) -> balances.BalanceView:
    return balances.balance_of(party_pk(party), currency, on=on)


def figures(party, currency: str = "BRL", *, on=None) -> tuple[int, int, int, int]:
    """(pending, available, in withdrawal, withdrawn) as the balance page shows them."""
    v = view(party, currency, on=on)
    return (v.pending_minor, v.available_minor, v.in_withdrawal_minor, v.withdrawn_minor)


def payout_account(user, **kwargs):
    return PayoutAccountFactory(user=user, **kwargs)


def admin():
    return UserFactory(is_staff=True)


def entries_of(withdrawal) -> list[tuple]:
    """A withdrawal's ledger entries: (type, bucket, role, beneficiary id, amount), in order."""
    return list(
        LedgerEntry.objects.filter(withdrawal=withdrawal)
        .order_by("line")
        .values_list("entry_type", "bucket", "role", "beneficiary_id", "amount_minor")
    )


# --- Hypothesis: the stateful test's profiles -----------------------------------------------

_COMMON = {
    "deadline": None,  # each step runs services against PostgreSQL: its time varies
    "stateful_step_count": 50,
    "derandomize": False,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
}
# A payout takes a sequence about six steps deep (sell, release, withdraw, review, dispatch,
# webhook): fewer, longer examples than tests/properties'. CI's 25 take about 35 s on two
# loaded CPUs (under a minute); dev explores more.
hypothesis_settings.register_profile("balances-ci", max_examples=25, **_COMMON)
hypothesis_settings.register_profile("balances-dev", max_examples=60, **_COMMON)


@pytest.fixture
def balances_profile() -> hypothesis_settings:
    return hypothesis_settings.get_profile(
        "balances-ci" if profile_name() == "ci" else "balances-dev"
    )
