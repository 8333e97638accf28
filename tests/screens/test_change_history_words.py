"""Change History's columns are seed 000's words."""

import re

import pytest
from django.urls import reverse

from tests.coproduction.factories import ChangeRequestFactory

pytestmark = pytest.mark.django_db

SEED_COLUMNS = [
    "Type of change",
    "Request date",
    "Cocreator response date",
    "User responsible for the change",
    "Request status",
    "Actions",
]


def test_change_history_columns_use_the_seed_words(client):
    change = ChangeRequestFactory()
    client.force_login(change.contract.cocreator)
    response = client.get(reverse("coproduction:history", args=[change.contract.pk]))
    html = response.content.decode()
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert re.findall(r"<th>(.*?)</th>", head) == SEED_COLUMNS
    # Each cell carries its column's word for the stacked phone layout.
    for word in SEED_COLUMNS:
        assert f'data-label="{word}"' in html
