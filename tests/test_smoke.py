import pytest

from tests.factories import AffiliationFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_factories_build_valid_objects():
    user = UserFactory(validated=True)
    assert user.is_validated
    assert not UserFactory().is_validated
    plan = PlanFactory()
    assert plan.product.is_subscription
    affiliation = AffiliationFactory(approved=True)
    assert affiliation.status == "approved"
    assert len(affiliation.code) == 10


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"htmx" in response.content
