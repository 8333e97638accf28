"""A former cocreator sees the sales made while their contract was in force, not the ones after
it ended or expired (unless they still earn on them through automatic sales recovery)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from coproduction.models import Contract, LedgerEntry
from products.models import Sale
from products.reports import COCREATOR, sales_for_role
from tests.coproduction.factories import ContractFactory
from tests.factories import ProductFactory, SaleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ProductFactory(producer__time_zone="UTC")


def test_sales_after_an_agreed_end_are_not_listed(client, product):
    contract = ContractFactory(product=product, active=True)
    before = SaleFactory(product=product, paid=True)
    Contract.objects.filter(pk=contract.pk).update(
        status=Contract.Status.ENDED, closed_at=timezone.now()
    )
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        after = SaleFactory(product=product, paid=True)

    listed = list(sales_for_role(user=contract.cocreator, role=COCREATOR))

    assert listed == [before]
    client.force_login(contract.cocreator)
    html = client.get(reverse("products:sales") + "?role=cocreator").content.decode()
    assert f'id="sale-{before.pk}"' in html
    assert f'id="sale-{after.pk}"' not in html
    csv = b"".join(
        client.get(reverse("products:sales_csv") + "?role=cocreator").streaming_content
    ).decode()
    assert f"{after.pk}" not in [line.split(",")[0] for line in csv.splitlines()]


def test_sales_after_the_end_date_of_an_expired_contract_are_not_listed(product):
    today = timezone.localdate()
    contract = ContractFactory(product=product, active=True, end_date=today)
    before = SaleFactory(product=product, paid=True)
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.EXPIRED)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        SaleFactory(product=product, paid=True)

    assert list(sales_for_role(user=contract.cocreator, role=COCREATOR)) == [before]


def test_an_active_cocreator_sees_every_sale(product):
    contract = ContractFactory(product=product, active=True)
    sales = [SaleFactory(product=product, paid=True) for _ in range(2)]
    listed = set(sales_for_role(user=contract.cocreator, role=COCREATOR))
    assert listed == set(sales)


def test_a_later_sale_they_still_earn_on_is_listed(product):
    """Automatic sales recovery: a share on a sale after the end keeps it in their history
    (here the share is written while in force and the sale's date moved past the end)."""
    contract = ContractFactory(product=product, active=True, automatic_sales_recovery=True)
    later = SaleFactory(product=product, paid=True)
    assert LedgerEntry.objects.filter(sale=later, beneficiary=contract.cocreator).exists()
    ended = timezone.now()
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.ENDED, closed_at=ended)
    Sale.objects.filter(pk=later.pk).update(paid_at=ended + timedelta(days=30))

    assert list(sales_for_role(user=contract.cocreator, role=COCREATOR)) == [later]
