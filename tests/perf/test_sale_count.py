"""The Sales history's count (products.reports.NewestSaleIds.count) is kept under the viewer's
ledger stamp: a visit with nothing new counts nothing, and a new sale, which pays the producer
in the transaction that makes it count, shows in the count at once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ProductFactory, UserFactory
from tests.pagination.builders import paid_sales

pytestmark = pytest.mark.django_db

DASH = "\N{EN DASH}"


def visit(client):
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("products:sales")).content.decode()
    counted = [q for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    return html, counted


def test_the_count_is_read_once_and_follows_each_new_sale(client):
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, price_minor=10000)
    now = timezone.now()
    paid_sales([(product, now - timedelta(minutes=i)) for i in range(2)])
    client.force_login(producer)

    html, counted = visit(client)
    assert f"1{DASH}2 of 2" in html and len(counted) == 1

    html, counted = visit(client)
    assert f"1{DASH}2 of 2" in html and counted == []  # nothing new: nothing counted

    paid_sales([(product, now)])
    html, counted = visit(client)
    assert f"1{DASH}3 of 3" in html and len(counted) == 1
