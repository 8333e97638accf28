import pytest
from django.core.management import call_command

from accounts.management.commands.seed_demo import DEMO_PASSWORD, USERS
from accounts.models import User
from products.models import Affiliation, Plan, Product

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_every_readme_login_works(client):
    call_command("seed_demo")
    counts = (User.objects.count(), Product.objects.count(), Plan.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Product.objects.count(), Plan.objects.count()) == counts
    assert counts == (6, 2, 3)

    for email, _name, validated, staff in USERS:
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert response.url == "/dashboard/", email
        user = User.objects.get(email=email)
        assert (user.is_validated, user.is_staff) == (validated, staff)
        client.post("/accounts/logout/")

    statuses = set(Affiliation.objects.values_list("affiliate__email", "status"))
    assert ("affiliate2@demo.test", "pending") in statuses
    assert ("affiliate1@demo.test", "approved") in statuses
