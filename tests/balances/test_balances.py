"""Balances (coproduction.balances): a paid sale's split is pending for every party until its
release day (the UTC day of payment + guarantee + 1 + the currency's holding days), then
available; refunds and chargebacks inside the holding window net the pending amount (nothing of
it is ever released), after it they take from available, then pending, and may leave the total
negative; every balance row equals the sum of its ledger entries (check_balances and its
command), kept with a constant number of queries for a billing batch, read in two.

Sales are paid through the real payment path, refunds through products.services.refunds."""

import uuid
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection, connections
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.exceptions import DomainError
from coproduction import balances
from coproduction.balances import Difference, Release
from coproduction.models import Balance, BalanceRelease, LedgerEntry, Withdrawal
from coproduction.services.ledger import ledger_write_splits
from coproduction.services.withdrawals import (
    withdrawal_approve,
    withdrawal_reject,
    withdrawal_request,
)
from products.models import Sale
from products.services.refunds import sale_refund
from tests.balances.conftest import (
    BRL_RELEASE,
    GUARANTEE_DAYS,
    OTHER_RELEASE,
    PAID_AT,
    SPLIT,
    admin,
    figures,
    make_world,
    midnight,
    party_pk,
    pay,
    pay_split,
    payout_account,
    take_back,
    view,
)
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("producer", "cocreator", "affiliate", "platform")
ONE_SECOND = timedelta(seconds=1)


def split_by_party(sale) -> dict:
    """beneficiary id (None: the platform) → their split amount, from the sale's entries."""
    return dict(
        LedgerEntry.objects.filter(sale=sale, entry_type=LedgerEntry.EntryType.SPLIT).values_list(
            "beneficiary_id", "amount_minor"
        )
    )


# --- pending, then released ----------------------------------------------------------------


def test_a_paid_sale_is_pending_for_each_party_until_its_release_day(world):
    sale = pay_split(world)

    assert sale.status == Sale.Status.PAID
    for role in ROLES:
        party = world.parties[role]
        assert figures(party) == (SPLIT[role], 0, 0, 0), role
        v = view(party)
        assert v.releases == (Release(BRL_RELEASE, SPLIT[role]),), role
        assert (v.total_minor, v.withdrawable_minor, v.is_negative) == (SPLIT[role], 0, False)
    assert set(LedgerEntry.objects.filter(sale=sale).values_list("bucket", "available_on")) == {
        ("earning", BRL_RELEASE)
    }
    assert balances.check_balances() == []


def test_a_brl_sale_is_released_exactly_guarantee_plus_1_plus_30_days_after_the_day_paid(
    world, clock
):
    pay_split(world)
    assert PAID_AT.date() + timedelta(days=GUARANTEE_DAYS + 1 + 30) == BRL_RELEASE

    clock.move_to(midnight(BRL_RELEASE) - ONE_SECOND)  # 23:59:59 UTC the day before
    for role in ROLES:
        assert figures(world.parties[role]) == (SPLIT[role], 0, 0, 0), role

    clock.move_to(midnight(BRL_RELEASE))  # 00:00 UTC that day
    for role in ROLES:
        party = world.parties[role]
        assert figures(party) == (0, SPLIT[role], 0, 0), role
        assert view(party).releases == ()
        assert view(party).withdrawable_minor == SPLIT[role]

    # Read as of any day, whatever the clock says.
    producer = world.producer
    assert figures(producer, on=BRL_RELEASE - timedelta(days=1)) == (SPLIT["producer"], 0, 0, 0)
    assert figures(producer, on=BRL_RELEASE + timedelta(days=400)) == (0, SPLIT["producer"], 0, 0)


@pytest.mark.parametrize(
    ("currency", "price"), [("EUR", 100_00), ("MXN", 1_000_00), ("COP", 100_000_00)]
)
def test_another_currency_is_released_guarantee_plus_1_plus_15_days_after(clock, currency, price):
    w = make_world(currency, price=price)
    sale = pay_split(w)
    shares = split_by_party(sale)
    assert len(shares) == 4 and sum(shares.values()) == price
    assert PAID_AT.date() + timedelta(days=GUARANTEE_DAYS + 1 + 15) == OTHER_RELEASE

    clock.move_to(midnight(OTHER_RELEASE) - ONE_SECOND)
    for party in w.parties.values():
        assert figures(party, currency) == (shares[party_pk(party)], 0, 0, 0)
        assert view(party, currency).releases == (Release(OTHER_RELEASE, shares[party_pk(party)]),)
    assert figures(w.producer, "BRL") == (0, 0, 0, 0)  # currencies never mix

    clock.move_to(midnight(OTHER_RELEASE))
    for party in w.parties.values():
        assert figures(party, currency) == (0, shares[party_pk(party)], 0, 0)
    assert balances.check_balances() == []


@pytest.mark.parametrize("guarantee_days", [0, 30])
def test_the_products_own_guarantee_period_counts(clock, guarantee_days):
    product = ProductFactory(price_minor=100_00, guarantee_days=guarantee_days)
    pay(product)
    day = PAID_AT.date() + timedelta(days=guarantee_days + 1 + 30)

    assert view(product.producer).releases == (Release(day, 89_60),)
    clock.move_to(midnight(day) - ONE_SECOND)
    assert figures(product.producer) == (89_60, 0, 0, 0)
    clock.move_to(midnight(day))
    assert figures(product.producer) == (0, 89_60, 0, 0)


def test_the_day_paid_is_the_utc_day(clock):
    """23:30 on 9 March in São Paulo is 02:30 on 10 March UTC: counted from the 10th. One
    second before midnight UTC on the 9th is the 9th."""
    product = ProductFactory(price_minor=100_00, guarantee_days=GUARANTEE_DAYS)
    clock.move_to(datetime(2026, 3, 10, 2, 30, tzinfo=UTC))
    pay(product)
    clock.move_to(datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC))
    pay(product)

    assert view(product.producer, on=date(2026, 3, 1)).releases == (
        Release(BRL_RELEASE - timedelta(days=1), 89_60),
        Release(BRL_RELEASE, 89_60),
    )


def test_the_settings_holding_days_are_used(clock, settings):
    settings.PAYOUT_HOLDING_DAYS = {"BRL": 3, "EUR": 9}
    settings.PAYOUT_HOLDING_DAYS_OTHER = 5
    brl, eur, mxn = (
        make_world("BRL"),
        make_world("EUR"),
        make_world("MXN", price=1_000_00),
    )
    for w in (brl, eur, mxn):
        pay_split(w)
    days = {
        "BRL": PAID_AT.date() + timedelta(days=7 + 1 + 3),
        "EUR": PAID_AT.date() + timedelta(days=7 + 1 + 9),
        "MXN": PAID_AT.date() + timedelta(days=7 + 1 + 5),
    }
    for w in (brl, eur, mxn):
        day = days[w.currency]
        assert balances.release_day(PAID_AT, GUARANTEE_DAYS, w.currency) == day
        assert [r.day for r in view(w.producer, w.currency, on=PAID_AT.date()).releases] == [day]
        clock.move_to(midnight(day) - ONE_SECOND)
        assert view(w.producer, w.currency).available_minor == 0, w.currency
        clock.move_to(midnight(day))
        assert view(w.producer, w.currency).pending_minor == 0, w.currency
        assert view(w.producer, w.currency).available_minor > 0, w.currency


def test_a_split_made_after_the_holding_days_changed_uses_the_new_ones(clock, settings):
    product = ProductFactory(price_minor=100_00, guarantee_days=GUARANTEE_DAYS)
    buyer = UserFactory()
    pay(product, buyer=buyer)  # split cached with 30 days
    settings.PAYOUT_HOLDING_DAYS = {"BRL": 3}
    second = pay(product, buyer=buyer)  # same product, amount and (stopped clock) paid_at

    assert set(LedgerEntry.objects.filter(sale=second).values_list("available_on", flat=True)) == {
        PAID_AT.date() + timedelta(days=7 + 1 + 3)
    }


def test_with_no_holding_days_nothing_is_released_before_the_buyers_guarantee_ends(clock, settings):
    settings.PAYOUT_HOLDING_DAYS = {"BRL": 0}
    product = ProductFactory(price_minor=100_00, guarantee_days=GUARANTEE_DAYS)
    clock.move_to(datetime(2026, 3, 10, 20, 0, tzinfo=UTC))  # 11 March, 05:00 in Tokyo
    sale = pay(product, buyer=UserFactory(time_zone="Asia/Tokyo"))
    # The guarantee's last day is 18 March in Tokyo: it ends at 15:00 UTC that day.
    assert sale.guarantee_ends_at == datetime(2026, 3, 18, 15, 0, tzinfo=UTC)

    clock.move_to(sale.guarantee_ends_at - ONE_SECOND)
    assert sale.in_guarantee
    assert figures(product.producer) == (89_60, 0, 0, 0)


# --- refunds and chargebacks inside the holding window -------------------------------------


@pytest.mark.parametrize("how", ["refund", "chargeback"])
@pytest.mark.parametrize(
    "later",
    [
        timedelta(days=2),  # inside the guarantee
        timedelta(days=20),  # after it, still held
        midnight(BRL_RELEASE) - ONE_SECOND - PAID_AT,  # the last second before the release
    ],
    ids=["in-guarantee", "held", "last-second"],
)
def test_a_full_refund_before_the_release_day_never_releases_anything(world, clock, how, later):
    sale = pay_split(world)
    clock.move_to(PAID_AT + later)

    refund = take_back(sale, how)

    assert set(refund.ledger_entries.values_list("available_on", flat=True)) == {BRL_RELEASE}
    for role in ROLES:
        party = world.parties[role]
        assert figures(party) == (0, 0, 0, 0), role
        assert view(party).releases == ()
    for day in (BRL_RELEASE, BRL_RELEASE + timedelta(days=1), BRL_RELEASE + timedelta(days=90)):
        clock.move_to(midnight(day))
        for role in ROLES:
            assert figures(world.parties[role]) == (0, 0, 0, 0), (role, day)
    assert balances.check_balances() == []


def test_a_buyers_refund_in_the_guarantee_leaves_nothing_to_release(world, clock):
    sale = pay_split(world)
    clock.move_to(PAID_AT + timedelta(days=GUARANTEE_DAYS))

    sale_refund(sale=sale, actor=sale.buyer)  # the buyer's: always all that is left

    clock.move_to(midnight(BRL_RELEASE))
    for role in ROLES:
        assert figures(world.parties[role]) == (0, 0, 0, 0), role


def test_a_partial_refund_in_the_guarantee_lowers_pending_and_only_the_rest_is_released(
    world, clock
):
    sale = pay_split(world)
    clock.move_to(PAID_AT + timedelta(days=3))

    take_back(sale, "refund", amount_minor=50_00)

    half = {role: amount // 2 for role, amount in SPLIT.items()}  # every share is even
    for role in ROLES:
        assert figures(world.parties[role]) == (half[role], 0, 0, 0), role
        assert view(world.parties[role]).releases == (Release(BRL_RELEASE, half[role]),)
    clock.move_to(midnight(BRL_RELEASE))
    for role in ROLES:
        assert figures(world.parties[role]) == (0, half[role], 0, 0), role
    assert balances.check_balances() == []


# --- refunds and chargebacks after the release ---------------------------------------------


def test_a_refund_after_the_release_takes_from_available_at_once(world, clock):
    sale = pay_split(world)
    clock.move_to(midnight(BRL_RELEASE) + timedelta(hours=10))
    later_sale = pay_split(world)  # pending, released on 25 May

    refund = take_back(sale, "refund", amount_minor=50_00)

    today = BRL_RELEASE
    assert set(refund.ledger_entries.values_list("available_on", flat=True)) == {today}
    for role in ROLES:
        half = SPLIT[role] // 2
        assert figures(world.parties[role]) == (SPLIT[role], half, 0, 0), role
    later_day = balances.release_day(later_sale.paid_at, GUARANTEE_DAYS, "BRL")
    assert view(world.producer).releases == (Release(later_day, SPLIT["producer"]),)
    assert balances.check_balances() == []


@pytest.mark.parametrize("how", ["refund", "chargeback"])
def test_after_the_release_a_shortfall_comes_out_of_pending_then_the_total_goes_negative(
    world, clock, how, django_capture_on_commit_callbacks
):
    producer = world.producer
    payout_account(producer)
    first = pay_split(world)
    clock.move_to(midnight(BRL_RELEASE) + timedelta(hours=9))
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)
    assert withdrawal.status == Withdrawal.Status.IN_REVIEW  # the money stays in withdrawal
    second = pay_split(world)  # pending until its own release day
    assert figures(producer) == (52_42, 2_42, 50_00, 0)

    # The released sale taken back: 52.42 out of an available 2.42; the 50.00 short comes
    # out of pending.
    take_back(first, how)
    v = view(producer)
    assert (v.available_raw_minor, v.settled_minor) == (-50_00, 2_42)
    assert figures(producer) == (2_42, 0, 50_00, 0)
    assert (v.total_minor, v.withdrawable_minor, v.is_negative) == (2_42, 0, False)
    # The other parties had withdrawn nothing: available is back to 0, pending untouched.
    for role in ("cocreator", "affiliate", "platform"):
        assert figures(world.parties[role]) == (SPLIT[role], 0, 0, 0), role

    # The pending sale taken back too: nothing left to cover the withdrawal's 50.00.
    clock.move_to(midnight(BRL_RELEASE) + timedelta(hours=10))
    take_back(second, how)
    v = view(producer)
    assert figures(producer) == (0, -50_00, 50_00, 0)
    assert (v.total_minor, v.withdrawable_minor, v.is_negative) == (-50_00, 0, True)
    for day in (BRL_RELEASE + timedelta(days=38), BRL_RELEASE + timedelta(days=100)):
        assert figures(producer, on=day) == (0, -50_00, 50_00, 0)

    # A negative balance blocks withdrawals, whatever the amount; nothing is written.
    entries = LedgerEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        withdrawal_request(party=producer, currency="BRL", amount_minor=50_00)
    assert refused.value.message == (
        "Your balance is negative: withdrawals resume when your earnings cover it."
    )
    assert (Withdrawal.objects.count(), LedgerEntry.objects.count()) == (1, entries)

    # The rejected withdrawal gives its 50.00 back: the total is exactly zero again.
    withdrawal_reject(withdrawal_id=withdrawal.pk, admin=admin(), reason="Refunded sales")
    assert figures(producer) == (0, 0, 0, 0)
    assert balances.check_balances() == []

    # Later earnings cover it: withdrawals resume once released.
    third = pay(world.product, amount_minor=100_00)  # direct: the cocreator takes 10 %
    third_day = balances.release_day(third.paid_at, GUARANTEE_DAYS, "BRL")
    clock.move_to(midnight(third_day))
    assert figures(producer) == (0, 80_64, 0, 0)  # 89.60 less the cocreator's 10 %
    assert withdrawal_request(party=producer, currency="BRL", amount_minor=50_00).pk
    assert balances.check_balances() == []


# --- check_balances ------------------------------------------------------------------------


@pytest.fixture
def busy_world(world, clock, django_capture_on_commit_callbacks):
    """Sales released and not, refunded in part and in full, charged back, a withdrawal paid
    and one rejected: every kind of entry."""
    payout_account(world.producer)
    sales = [pay_split(world) for _ in range(3)]
    clock.move_to(PAID_AT + timedelta(days=2))
    take_back(sales[0], "refund")
    clock.move_to(midnight(BRL_RELEASE) + timedelta(hours=8))
    more = [pay_split(world) for _ in range(2)]
    take_back(sales[1], "refund", amount_minor=33_33)
    take_back(more[0], "chargeback")
    boss = admin()
    rejected = withdrawal_request(party=world.producer, currency="BRL", amount_minor=60_00)
    withdrawal_reject(withdrawal_id=rejected.pk, admin=boss, reason="Check the account")
    paid = withdrawal_request(party=world.producer, currency="BRL", amount_minor=50_00)
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal_approve(withdrawal_id=paid.pk, admin=boss)
    paid.refresh_from_db()
    assert paid.status == Withdrawal.Status.PAID
    return world


def test_check_balances_is_empty_after_every_kind_of_entry(busy_world):
    assert balances.check_balances() == []
    assert set(LedgerEntry.objects.values_list("entry_type", flat=True)) >= {
        "split",
        "refund",
        "chargeback",
        "withdrawal",
        "payout",
        "payout_fee",
        "payout_return",
    }


def _balance_sums(party_id, currency="BRL") -> tuple[int, int, int]:
    v = balances.balance_of(party_id, currency)
    return (v.settled_minor, v.in_withdrawal_minor, v.withdrawn_minor)


@pytest.mark.parametrize("who", ["producer", "platform"])
@pytest.mark.parametrize("column", ["settled_minor", "in_withdrawal_minor", "withdrawn_minor"])
def test_check_balances_reports_a_tampered_balance_row(busy_world, who, column):
    party = busy_world.parties[who]
    before = _balance_sums(party_pk(party))
    row = Balance.objects.filter(party=party, currency="BRL").order_by("shard").first()
    Balance.objects.filter(pk=row.pk).update(**{column: F(column) + 7})

    after = _balance_sums(party_pk(party))
    assert [d - b for b, d in zip(before, after, strict=True)].count(7) == 1
    assert balances.check_balances() == [
        Difference("balance", (party_pk(party), "BRL"), after, before)
    ]


def test_check_balances_reports_a_tampered_release_day(busy_world):
    producer = busy_world.producer
    row = BalanceRelease.objects.filter(party=producer, available_on=BRL_RELEASE).first()
    have = sum(
        BalanceRelease.objects.filter(party=producer, available_on=BRL_RELEASE).values_list(
            "amount_minor", flat=True
        )
    )
    BalanceRelease.objects.filter(pk=row.pk).update(amount_minor=F("amount_minor") - 1)

    assert balances.check_balances() == [
        Difference("release", (producer.pk, "BRL", BRL_RELEASE), (have - 1,), (have,))
    ]


def test_a_balance_row_without_any_entry_is_reported(world):
    Balance.objects.create(party=world.producer, currency="EUR", settled_minor=1)

    assert balances.check_balances() == [
        Difference("balance", (world.producer.pk, "EUR"), (1, 0, 0), (0, 0, 0))
    ]


def test_the_check_balances_command_passes_then_fails_on_a_difference(
    busy_world, capsys, monkeypatch
):
    # manage.py closes the connections when a command ends: this test's transaction is one.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    out = StringIO()
    call_command("check_balances", stdout=out)
    assert out.getvalue() == "Every balance equals the sum of its ledger entries.\n"
    execute_from_command_line(["manage.py", "check_balances"])  # exit status 0: no SystemExit

    producer = busy_world.producer
    row = Balance.objects.filter(party=producer, currency="BRL").first()
    Balance.objects.filter(pk=row.pk).update(settled_minor=F("settled_minor") + 1)
    out = StringIO()
    with pytest.raises(CommandError, match="1 balance rows differ from the ledger"):
        call_command("check_balances", stdout=out)
    assert out.getvalue().startswith(f"balance party={producer.pk} currency=BRL: stored (")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "check_balances"])
    assert exited.value.code != 0
    assert "1 balance rows differ from the ledger" in capsys.readouterr().err


# --- queries -------------------------------------------------------------------------------


def _paid_unsplit(w, count: int) -> list[int]:
    """`count` sales through the affiliate marked paid by a billing run whose ledger step has
    not run yet (as a batch settles them)."""
    now = timezone.now()
    sales = Sale.objects.bulk_create(
        Sale(
            product=w.product,
            buyer=UserFactory(),
            affiliation=w.affiliation,
            amount_minor=w.product.price_minor,
            currency="BRL",
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            paid_at=now,
        )
        for _ in range(count)
    )
    return [s.pk for s in sales]


def _balance_statements(queries) -> list[str]:
    tables = (Balance._meta.db_table, BalanceRelease._meta.db_table)
    return [
        q["sql"]
        for q in queries.captured_queries
        if any(f"INSERT INTO {table} " in q["sql"] for table in tables)
    ]


def test_a_billing_batch_updates_balances_in_a_constant_number_of_queries(world, clock):
    ledger_write_splits(sale_ids=_paid_unsplit(world, 1))  # warm-up: per-process caches
    counts = {}
    for count in (1, 20):
        clock.move_to(timezone.now() + timedelta(days=1))  # a new release day each batch
        ids = _paid_unsplit(world, count)
        with CaptureQueriesContext(connection) as queries:
            assert ledger_write_splits(sale_ids=ids) == count
        counts[count] = len(queries)
        # One upsert of the balance rows and one of the release days, for four parties.
        assert len(_balance_statements(queries)) == 2, count

    assert counts[20] == counts[1], counts
    for role in ROLES:
        assert view(world.parties[role], on=PAID_AT.date()).pending_minor == 22 * SPLIT[role]
    assert balances.check_balances() == []


def test_balance_of_reads_a_constant_number_of_queries_whatever_the_entries(world, clock):
    pay_split(world)

    def measure():
        with CaptureQueriesContext(connection) as queries:
            v = view(world.producer, on=PAID_AT.date())
        return len(queries), v

    one, v = measure()
    assert len(v.releases) == 1
    for day in range(1, 21):  # 20 more sales, each with its own release day
        clock.move_to(PAID_AT + timedelta(days=day))
        pay_split(world)
    many, v = measure()
    assert len(v.releases) == 21
    assert v.pending_minor == 21 * SPLIT["producer"]
    assert many == one <= 2, (one, many)


def test_balances_of_lists_every_currency_the_party_has(clock):
    brl, eur = make_world("BRL"), make_world("EUR")
    eur_product = ProductFactory(producer=brl.producer, currency="EUR", price_minor=100_00)
    pay_split(brl)
    pay(eur_product)

    assert [(v.currency, v.pending_minor) for v in balances.balances_of(brl.producer.pk)] == [
        ("BRL", SPLIT["producer"]),
        ("EUR", 89_60),
    ]
    assert balances.balances_of(eur.producer.pk) == []
