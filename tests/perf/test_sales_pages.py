"""The producer's Sales pages, read per product through the (product, paid_at) index, list the
same sales in the same order as the sales history's queryset, page after page."""

import re

import pytest
from django.urls import reverse

from products import reports
from tests.perf.builders import world

pytestmark = pytest.mark.django_db


def test_every_page_lists_the_next_sales_newest_first(client):
    built = world(50)  # 200 sales over 52 products, some paid the same day
    client.force_login(built.producer)
    expected = list(
        reports.sales_for_role(user=built.producer, role=reports.PRODUCER).values_list(
            "pk", flat=True
        )
    )
    listed = []
    for number in (1, 2, 3, 4):
        html = client.get(reverse("products:sales"), {"page": number}).content.decode()
        listed += [int(pk) for pk in re.findall(r'<tr id="sale-(\d+)"', html)]

    assert len(expected) == 200
    assert listed == expected
