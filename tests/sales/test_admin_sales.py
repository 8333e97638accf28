"""The platform's actions on sales in the admin: refund what is left, record a chargeback."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from coproduction.models import LedgerEntry
from products.models import Refund, Sale
from products.money import format_money
from products.services.sales import sale_refund
from tests.factories import SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:products_sale_changelist")


@pytest.fixture
def admin_user(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def run_action(client, action, *sales):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [sale.pk for sale in sales]}
    )


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def ledger_total(sale) -> int:
    return sum(LedgerEntry.objects.filter(sale=sale).values_list("amount_minor", flat=True))


def test_refund_in_full_refunds_what_is_left_and_warns_about_the_rest(client, admin_user):
    partly = SaleFactory(paid=True)
    sale_refund(sale=partly, actor=partly.product.producer, amount_minor=2500)
    done = SaleFactory(paid=True)
    sale_refund(sale=done, actor=done.product.producer)
    unpaid = SaleFactory()

    response = run_action(client, "refund_in_full", partly, done, unpaid)

    assert response.status_code == 302
    assert response.url == CHANGELIST
    partly.refresh_from_db()
    assert (partly.status, partly.refunded_minor) == (Sale.Status.REFUNDED, 10000)
    last = partly.refunds.order_by("-pk").first()
    assert (last.amount_minor, last.requested_by, last.reason) == (
        7500,
        admin_user,
        "Refunded by the platform",
    )
    assert ledger_total(partly) == 0
    assert Sale.objects.get(pk=unpaid.pk).status == Sale.Status.PENDING
    assert sorted(flashed(response)) == sorted(
        [
            "1 sale refunded.",
            f"{done}: Nothing is left to refund on this sale.",
            f"{unpaid}: Nothing is left to refund on this sale.",
        ]
    )


def test_refund_in_full_long_after_the_guarantee(client, time_machine):
    sale = SaleFactory(paid=True)
    time_machine.move_to(sale.paid_at + timedelta(days=365))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    run_action(client, "refund_in_full", sale)

    sale.refresh_from_db()
    assert sale.status == Sale.Status.REFUNDED


def test_record_chargeback_reverses_only_what_is_left(client, admin_user):
    sale = SaleFactory(paid=True)
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=4000)
    other = SaleFactory(paid=True)

    response = run_action(client, "record_chargeback", sale, other)

    assert flashed(response) == ["2 sales charged back."]
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_minor) == (Sale.Status.CHARGED_BACK, 10000)
    chargeback = sale.refunds.get(kind=Refund.Kind.CHARGEBACK)
    assert (chargeback.amount_minor, chargeback.requested_by) == (6000, admin_user)
    assert sum(chargeback.ledger_entries.values_list("amount_minor", flat=True)) == -6000
    assert ledger_total(sale) == 0
    assert Sale.objects.get(pk=other.pk).status == Sale.Status.CHARGED_BACK


def test_a_second_chargeback_is_refused_with_a_warning(client, admin_user):
    sale = SaleFactory(paid=True)
    client.get(run_action(client, "record_chargeback", sale).url)  # shows "1 sale charged back."

    response = run_action(client, "record_chargeback", sale)

    assert flashed(response) == [f"{sale}: Nothing is left to charge back on this sale."]
    assert sale.refunds.count() == 1


def test_people_who_are_not_staff_cannot_run_the_actions(client):
    sale = SaleFactory(paid=True)
    client.force_login(UserFactory())

    response = run_action(client, "refund_in_full", sale)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    sale.refresh_from_db()
    assert (sale.status, sale.refunds.count()) == (Sale.Status.PAID, 0)


def test_staff_without_permission_on_sales_cannot_run_the_actions(client):
    sale = SaleFactory(paid=True)
    client.force_login(UserFactory(is_staff=True))

    response = run_action(client, "record_chargeback", sale)

    assert response.status_code == 403
    sale.refresh_from_db()
    assert sale.status == Sale.Status.PAID


def test_the_sale_page_shows_its_refunds_and_ledger(client, admin_user):
    sale = SaleFactory(paid=True)
    sale_refund(sale=sale, actor=sale.product.producer, amount_minor=1000)

    response = client.get(reverse("admin:products_sale_change", args=[sale.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    entries = LedgerEntry.objects.filter(sale=sale)
    assert entries.count() == 4  # two split lines, two reversing lines
    for amount in entries.values_list("amount_minor", flat=True):
        # As money, not minor units.
        assert f">{format_money(amount, sale.currency)}<" in content
        assert f">{amount}<" not in content
