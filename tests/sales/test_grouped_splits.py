"""The Sales page's split (reports.grouped_sale_splits, one SQL statement) is each sale's whole
split (reports.sale_splits) with its cocreators summed into one line, at the place of the
first, when there are more than SPLIT_COCREATOR_LINES of them: the same lines, amounts,
reversals and emails as grouping the whole split in Python, for 0 to 7 cocreators, with and
without an affiliate, refunded in part or not at all."""

import uuid

import pytest
from django.utils import translation
from django.utils.translation import ngettext

from products import reports
from products.services.refunds import sale_refund
from products.services.sales import sale_pay, sale_start
from tests.factories import AffiliationFactory, ProductFactory, UserFactory, checkout_token
from tests.sales.test_earnings import co_produce

pytestmark = pytest.mark.django_db


def grouped_in_python(lines: list[reports.SplitLine]) -> list[reports.SplitLine]:
    """The rule as the page applied it before SQL did (products/views/earnings.py)."""
    cocreators = [line for line in lines if line.role == reports.COCREATOR]
    if len(cocreators) <= reports.SPLIT_COCREATOR_LINES:
        return lines
    count = len(cocreators)
    together = reports.SplitLine(
        role=reports.COCREATOR,
        label=ngettext("%(count)s cocreator", "%(count)s cocreators", count) % {"count": count},
        email="",
        gross=sum(line.gross for line in cocreators),
        reversed=sum(line.reversed for line in cocreators),
    )
    first = lines.index(cocreators[0])
    others = [line for line in lines if line.role != reports.COCREATOR]
    return [*others[:first], together, *others[first:]]


@pytest.mark.parametrize("cocreators", [0, 1, 3, 4, 7])
@pytest.mark.parametrize("affiliate", [False, True])
def test_the_pages_split_is_the_whole_split_grouped(cocreators, affiliate):
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, price_minor=19_700)
    for n in range(cocreators):
        co_produce(product, UserFactory(validated=True), f"{n + 1}.5")
    affiliation = (
        AffiliationFactory(product=product, approved=True, commission_percent=20)
        if affiliate
        else None
    )
    sales = []
    for _ in range(3):
        buyer = UserFactory()
        sale = sale_start(
            product=product,
            buyer=buyer,
            method="card",
            country="BR",
            affiliate_code=affiliation.code if affiliation else None,
            checkout_token=checkout_token(buyer, uuid.uuid4().hex),
        )
        sales.append(sale_pay(sale=sale, token="4242424242424242"))
    sale_refund(sale=sales[1], actor=producer, amount_minor=5_001)
    sale_refund(sale=sales[2], actor=producer)
    ids = [sale.pk for sale in sales]

    for language in ("en", "pt-br"):
        with translation.override(language):
            whole = reports.sale_splits(ids)
            grouped = reports.grouped_sale_splits(ids)
            expected = {pk: grouped_in_python(lines) for pk, lines in whole.items()}
            assert grouped == expected
    assert set(grouped) == set(ids)
    assert [sum(line.reversed for line in grouped[pk]) for pk in ids] == [0, -5_001, -19_700]
    for lines in grouped.values():
        shown = sum(1 for line in lines if line.role == reports.COCREATOR)
        assert shown == (1 if cocreators > reports.SPLIT_COCREATOR_LINES else cocreators)
