from datetime import UTC, datetime, time

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.management.commands.seed_demo import DEMO_PASSWORD, USERS
from accounts.models import User
from coproduction.models import LedgerEntry
from products.models import Affiliation, Plan, Product, Refund, Sale
from subscriptions.models import Subscription
from subscriptions.services.billing import recurrences_collect, recurrences_create_due

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_every_readme_login_works(client):
    call_command("seed_demo")
    counts = (User.objects.count(), Product.objects.count(), Plan.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Product.objects.count(), Plan.objects.count()) == counts
    assert counts == (7, 2, 3)

    for email, _name, validated, staff, _language, _zone in USERS:
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert response.url == "/dashboard/", email
        user = User.objects.get(email=email)
        assert (user.is_validated, user.is_staff) == (validated, staff)
        client.post("/accounts/logout/")

    assert Sale.objects.filter(subscription=None).count() == 12
    # platform, cocreator and producer on each sale, plus the affiliate on the 4 affiliate sales
    one_time = LedgerEntry.objects.filter(entry_type="split", sale__subscription=None)
    assert one_time.count() == 12 * 3 + 4
    assert Refund.objects.count() == 1
    for sale in Sale.objects.filter(subscription=None):
        assert sum(e.amount_minor for e in sale.ledger.filter(entry_type="split")) == 19700

    # Billing demo: three subscriptions whose second installment is due today.
    subscriptions = Subscription.objects.all()
    assert subscriptions.count() == 3
    assert all(s.next_charge_date <= timezone.now().date() for s in subscriptions)
    # At noon UTC: a recurrence is due from BILLING_LOCAL_HOUR of its date in its zone.
    noon = datetime.combine(timezone.now().date(), time(12), tzinfo=UTC)
    with time_machine.travel(noon, tick=False):
        assert recurrences_create_due() == 3
        recurrences_collect()
    statuses = {s.checkout_key: s.recurrences.get(number=2).status for s in subscriptions}
    assert statuses == {
        "demo-sub-card": "paid",
        "demo-sub-declined": "scheduled",  # retried tomorrow
        "demo-sub-boleto": "pending",  # slip issued
    }

    statuses = set(Affiliation.objects.values_list("affiliate__email", "status"))
    assert ("affiliate2@demo.test", "pending") in statuses
    assert ("affiliate1@demo.test", "approved") in statuses


def test_the_demo_has_something_waiting_in_the_cocreators_inbox():
    from accounts.models import Notification
    from coproduction.models import Contract

    call_command("seed_demo")
    call_command("seed_demo")
    caio = User.objects.get(email="cocreator@demo.test")
    assert Contract.objects.filter(cocreator=caio, status=Contract.Status.PENDING).count() == 1
    assert (
        Notification.objects.filter(recipient=caio, kind=Notification.Kind.INVITATION).count() == 1
    )
