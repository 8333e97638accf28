"""The producer's and the cocreator's Sales pages, read per product through the (product,
paid_at) index, list the same sales in the same order as the sales history's queryset, page
after page."""

import re

import pytest
from django.urls import reverse

from products import reports
from tests.perf.builders import world

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [reports.PRODUCER, reports.COCREATOR])
def test_every_page_lists_the_next_sales_newest_first(client, role):
    built = world(50)  # 200 sales over 52 products, some paid the same day
    person = built.producer if role == reports.PRODUCER else built.cocreator
    client.force_login(person)
    expected = list(reports.sales_for_role(user=person, role=role).values_list("pk", flat=True))
    listed = []
    for number in (1, 2, 3, 4):
        query = {"page": number, "role": role}
        html = client.get(reverse("products:sales"), query).content.decode()
        listed += [int(pk) for pk in re.findall(r'<tr id="sale-(\d+)"', html)]

    assert len(expected) == 200
    assert listed == expected
