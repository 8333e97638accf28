import pytest
from django.core.management import call_command

from accounts.management.commands.seed_demo import DEMO_PASSWORD, USERS
from accounts.models import User
from coproduction.models import LedgerEntry
from products.models import Affiliation, Plan, Product, Refund, Sale

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_every_readme_login_works(client):
    call_command("seed_demo")
    counts = (User.objects.count(), Product.objects.count(), Plan.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Product.objects.count(), Plan.objects.count()) == counts
    assert counts == (7, 2, 3)

    for email, _name, validated, staff in USERS:
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert response.url == "/dashboard/", email
        user = User.objects.get(email=email)
        assert (user.is_validated, user.is_staff) == (validated, staff)
        client.post("/accounts/logout/")

    assert Sale.objects.count() == 12
    # platform, cocreator and producer on each sale, plus the affiliate on the 4 affiliate sales
    assert LedgerEntry.objects.filter(entry_type="split").count() == 12 * 3 + 4
    assert Refund.objects.count() == 1
    for sale in Sale.objects.all():
        assert sum(e.amount_minor for e in sale.ledger.filter(entry_type="split")) == 19700

    statuses = set(Affiliation.objects.values_list("affiliate__email", "status"))
    assert ("affiliate2@demo.test", "pending") in statuses
    assert ("affiliate1@demo.test", "approved") in statuses
