"""zeal is on in the test settings: a page that loads a related object once per row fails the
test that requested it, whatever the test asserts."""

import pytest
from django.conf import settings
from zeal.errors import NPlusOneError

from subscriptions import selectors
from tests.perf.builders import world

pytestmark = pytest.mark.django_db


def test_zeal_is_on_for_every_request():
    assert "zeal" in settings.INSTALLED_APPS
    assert settings.MIDDLEWARE[-1] == "tests.perf.zeal_middleware.zeal_middleware"
    assert settings.ZEAL_RAISE is True


def test_an_n_plus_one_fails_the_test(client, monkeypatch):
    built = world(3)
    url = f"/products/{built.club.pk}/subscribers/"
    client.force_login(built.producer)
    assert client.get(url).status_code == 200  # as the selector is: no N+1

    # The same list without its select_related: each row loads its buyer and its plan with
    # queries of its own.
    joined = selectors.subscribers_for_product

    def without_joins(*, product, status=""):
        return joined(product=product, status=status).select_related(None)

    monkeypatch.setattr(selectors, "subscribers_for_product", without_joins)
    with pytest.raises(NPlusOneError, match=r"N\+1 detected on subscriptions\.Subscription"):
        client.get(url)
