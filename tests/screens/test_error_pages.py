"""403, 404 and 500 pages in the site's style; the 500 page renders with no request at all."""

import pytest
from django.template import loader
from django.test import RequestFactory
from django.views.defaults import server_error

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_page_is_the_sites_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "css/app.css" in html
    assert 'class="site-header"' in html
    assert 'href="/"' in html  # the way back for an anonymous visitor


def test_a_logged_in_404_offers_the_dashboard(client):
    client.force_login(UserFactory())
    response = client.get("/purchases/999999/")
    assert response.status_code == 404
    assert "Go to the dashboard" in response.content.decode()


def test_the_500_page_is_styled_and_needs_no_request():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "css/app.css" in html
    assert "favicon.svg" in html
    # The way Django renders it: no request, no context processors.
    assert "Something went wrong" in loader.get_template("500.html").render()


def test_an_exception_in_a_view_shows_the_500_page(client, monkeypatch):
    from products.views import sales

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sales.selectors, "purchases_for_buyer", boom)
    client.raise_request_exception = False
    client.force_login(UserFactory())
    response = client.get("/purchases/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_a_refused_page_is_the_sites_403_in_the_readers_language(client):
    """Someone who is not staff opening the admin (and any other PermissionDenied) gets the
    site's page, not Django's bare "403 Forbidden"."""
    client.force_login(UserFactory(language="pt-br"))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Acesso negado" in html and "Sua conta não pode abrir esta página" in html
    assert "css/app.css" in html and 'class="site-header"' in html
    assert "Ir para o painel" in html or "/dashboard/" in html


def test_a_refusal_with_a_reason_says_it(rf):
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    request = rf.get("/")
    request.user = UserFactory()
    response = permission_denied(request, PermissionDenied("Only the producer may do this."))
    assert response.status_code == 403
    assert "Only the producer may do this." in response.content.decode()
