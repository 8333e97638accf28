"""Lock scope of a checkout payment (issue 8, finding 13): recording a payment locks the sale
and its attempts (`of=("self",)`), never the product or the buyer it joins. Otherwise every
payment of one product waits for the others, and a sale insert, whose foreign-key checks take
KEY SHARE on the product and then the buyer, deadlocks against it.

What another transaction may hold while a checkout still completes:
- FOR NO KEY UPDATE on the product or the buyer (what any UPDATE of that row takes: a product
  edit, a login's last_login): the old FOR UPDATE of both rows waited for it;
- FOR UPDATE on the buyer once the sale exists (nothing the payment writes refers to the buyer).
FOR UPDATE on the product itself blocks every checkout whatever the payment locks: the sale and
its ledger lines refer to the product, and their foreign-key checks (at COMMIT, the constraints
are deferred) need KEY SHARE on it, which conflicts with FOR UPDATE only."""

import threading

import pytest
from django.db import connection, transaction

from coproduction.models import LedgerEntry, TermsOfUse
from products.models import PaymentAttempt, Sale, SimulatedGatewayCharge
from products.services.sales import sale_pay, sale_start
from tests.concurrency import errors, run_together
from tests.factories import ProductFactory, UserFactory, checkout_token
from tests.sales.test_ledger import cocreator_contract

pytestmark = [pytest.mark.django_db(transaction=True)]

APPROVED = "4242424242424242"
WITHIN = 5  # seconds a checkout may take while the other transaction holds its lock


@pytest.fixture(autouse=True)
def published_terms():
    # A transactional test's flush removes the migration's rows; put the terms back.
    return TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Co-creation terms"})[0]


def start(product, buyer, label="form"):
    return sale_start(
        product=product,
        buyer=buyer,
        method="card",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer, label),
    )


def checkout(product, buyer, label="form"):
    return sale_pay(sale=start(product, buyer, label), token=APPROVED)


def while_locked(table: str, pk: int, mode: str, call):
    """Run `call` in a thread while this connection holds `SELECT ... FOR <mode>` on one row in
    an open transaction; return (whether it finished within WITHIN seconds, its result)."""
    outcome: list = []

    def worker():
        try:
            outcome.append(call())
        except Exception as exc:  # the test inspects it
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR {mode}", [pk])
        thread.start()
        thread.join(timeout=WITHIN)
        finished = not thread.is_alive()
    thread.join(timeout=30)  # the lock is released: let a blocked payment end before teardown
    assert not thread.is_alive(), "the payment is stuck even after the lock was released"
    return finished, outcome[0]


def assert_paid_once_with_split(sale: Sale) -> None:
    sale.refresh_from_db()
    assert sale.status == Sale.Status.PAID
    assert list(sale.attempts.values_list("status", flat=True)) == [PaymentAttempt.Status.APPROVED]
    split = LedgerEntry.objects.filter(sale=sale, entry_type=LedgerEntry.EntryType.SPLIT)
    assert split.exists()
    assert sum(split.values_list("amount_minor", flat=True)) == sale.amount_minor


@pytest.mark.parametrize("row", ["product", "buyer"])
def test_a_checkout_completes_while_its_product_or_buyer_row_is_being_updated(row):
    product, buyer = ProductFactory(), UserFactory()
    cocreator_contract(product, percent="10")
    table, pk = (
        ("products_product", product.pk) if row == "product" else ("accounts_user", buyer.pk)
    )

    finished, result = while_locked(table, pk, "NO KEY UPDATE", lambda: checkout(product, buyer))

    assert finished, f"the checkout waited for the lock on its {row} row"
    assert isinstance(result, Sale), result
    assert_paid_once_with_split(result)


def test_a_started_checkout_is_paid_while_another_transaction_holds_the_buyer_for_update():
    product, buyer = ProductFactory(), UserFactory()
    cocreator_contract(product, percent="10")
    sale = start(product, buyer)  # inserting the sale needs KEY SHARE on the buyer: before

    finished, result = while_locked(
        "accounts_user", buyer.pk, "UPDATE", lambda: sale_pay(sale=sale, token=APPROVED)
    )

    assert finished, "paying waited for the lock on the buyer's row"
    assert isinstance(result, Sale), result
    assert_paid_once_with_split(result)


def test_eight_buyers_check_out_one_product_at_once():
    product = ProductFactory()
    cocreator_contract(product, percent="10")
    buyers = UserFactory.create_batch(8)

    results = run_together(*[lambda b=b: checkout(product, b) for b in buyers], timeout=30)

    assert errors(results) == []
    assert sorted(sale.buyer_id for sale in results) == sorted(b.pk for b in buyers)
    for sale in results:
        assert_paid_once_with_split(sale)
    assert Sale.objects.filter(product=product, status=Sale.Status.PAID).count() == 8
    assert SimulatedGatewayCharge.objects.filter(kind="charge", outcome="approved").count() == 8
    assert LedgerEntry.objects.filter(entry_type="split").values("sale").distinct().count() == 8
