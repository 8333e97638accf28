"""The earnings page: each person's own ledger totals by product and month, net of refunds and
chargebacks, one currency at a time, with a server-drawn chart, in a fixed number of queries.

Also home of the builders test_sales_history.py imports (worked_case, paid_sales)."""

import datetime as dt
import re
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coproduction.services.contracts import contract_accept, contract_invite
from coproduction.services.ledger import ledger_write_splits
from products import reports
from products.models import Sale
from products.services.sales import sale_chargeback, sale_refund
from tests.factories import PASSWORD, AffiliationFactory, ProductFactory, SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

EARNINGS = reverse("products:earnings")


# --------------------------------------------------------------------------------- builders


def at(year: int, month: int, day: int = 15):
    return time_machine.travel(dt.datetime(year, month, day, 12, tzinfo=dt.UTC), tick=False)


def co_produce(product, cocreator, percent: str):
    """Invite and accept through the services, as a real co-production starts."""
    contract = contract_invite(
        product=product,
        actor=product.producer,
        cocreator_email=cocreator.email,
        role="expert",
        coproduction_model="revenue_share",
        automatic_sales_recovery=False,
        terms_accepted=True,
        end_date=None,
        sales_scope="all",
        all_affiliates=True,
        affiliates=[],
        commission_percent=Decimal(percent),
        affiliate_commission_percent=None,
    )
    return contract_accept(contract=contract, actor=cocreator, terms_accepted=True)


def worked_case(*, currency: str = "BRL", producer=None, name: str | None = None):
    """SPEC's example: 100.00 through a 35 % affiliate with a 10 % cocreator, paid through the
    real services. Split: platform 10.40, affiliate 31.36, cocreator 5.82, producer 52.42."""
    producer = producer or UserFactory(validated=True)
    extra = {"name": name} if name else {}
    product = ProductFactory(producer=producer, currency=currency, price_minor=10000, **extra)
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=35)
    cocreator = UserFactory(validated=True)
    contract = co_produce(product, cocreator, "10")
    sale = SaleFactory(
        product=product, affiliation=affiliation, paid=True, checkout_key=uuid.uuid4().hex
    )
    return SimpleNamespace(
        producer=producer,
        product=product,
        affiliation=affiliation,
        affiliate=affiliation.affiliate,
        cocreator=cocreator,
        contract=contract,
        sale=sale,
    )


def paid_sales(case, count: int, *, affiliate: bool = True) -> list[Sale]:
    """`count` more paid sales of the case's product, split by the real ledger service in one
    batch (quicker than paying each through the gateway when a test needs fifty)."""
    buyer = UserFactory()
    now = timezone.now()
    sales = Sale.objects.bulk_create(
        Sale(
            product=case.product,
            buyer=buyer,
            affiliation=case.affiliation if affiliate else None,
            amount_minor=case.product.price_minor,
            currency=case.product.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            paid_at=now,
        )
        for _ in range(count)
    )
    assert ledger_write_splits(sale_ids=[s.pk for s in sales]) == count
    return sales


def page(client, user, url=EARNINGS, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's visible words with whitespace collapsed, for 'R$52.42'-style checks."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -------------------------------------------------------------------------------- access


def test_anonymous_is_sent_to_login():
    response = Client().get(EARNINGS)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_real_login_reaches_the_page(client):
    case = worked_case()
    assert client.login(email=case.producer.email, password=PASSWORD)
    assert "R$52.42" in text(client.get(EARNINGS).content.decode())


def test_post_is_refused(client):
    client.force_login(UserFactory())
    assert client.post(EARNINGS).status_code == 405


# ------------------------------------------------------------------------------- amounts


def test_worked_case_each_person_sees_their_own_share(client):
    case = worked_case()

    producer_page = text(page(client, case.producer))
    cocreator_page = text(page(client, case.cocreator))
    affiliate_page = text(page(client, case.affiliate))

    assert "R$52.42" in producer_page
    assert "R$5.82" in cocreator_page
    assert "R$31.36" in affiliate_page
    # Nobody sees anyone else's share, nor the platform's fee.
    for html, others in (
        (producer_page, ["R$5.82", "R$31.36", "R$10.40"]),
        (cocreator_page, ["R$52.42", "R$31.36", "R$10.40"]),
        (affiliate_page, ["R$52.42", "R$5.82", "R$10.40"]),
    ):
        for amount in others:
            assert amount not in html
    assert case.product.name in cocreator_page


def test_worked_case_report_numbers_and_roles():
    case = worked_case()

    expected = {
        case.producer: (5242, "Producer"),
        case.cocreator: (582, "Cocreator"),
        case.affiliate: (3136, "Affiliate"),
    }
    for user, (amount, role) in expected.items():
        [item] = reports.earnings_by_product(user=user)
        assert (item.product_id, item.currency, item.roles) == (case.product.pk, "BRL", [role])
        assert (item.gross, item.reversed, item.net) == (amount, 0, amount)


def test_partial_refund_is_reversed_proportionally_everywhere(client):
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)

    expected = {
        case.producer: (5242, -2621, 2621),
        case.cocreator: (582, -291, 291),
        case.affiliate: (3136, -1568, 1568),
    }
    for user, (gross, reversed_, net) in expected.items():
        [item] = reports.earnings_by_product(user=user)
        assert (item.gross, item.reversed, item.net) == (gross, reversed_, net)
        [month] = reports.earnings_by_month(user=user)
        assert (month.gross, month.reversed, month.net) == (gross, reversed_, net)
    html = text(page(client, case.cocreator))
    assert "-R$2.91" in html
    assert "R$2.91" in html.replace("-R$2.91", "")
    html = text(page(client, case.producer))
    assert "-R$26.21" in html and "R$26.21 earned" not in html


def test_chargeback_takes_back_everything_left():
    case = worked_case()
    sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    sale_chargeback(sale=case.sale, actor=None)

    [item] = reports.earnings_by_product(user=case.producer)
    assert (item.gross, item.reversed, item.net) == (5242, -5242, 0)


def test_a_person_in_two_roles_on_one_product_sees_both():
    """A cocreator who is also the affiliate (when the product allows it) earns both shares."""
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, cocreators_may_be_affiliates=True)
    partner = UserFactory(validated=True)
    affiliation = AffiliationFactory(
        product=product, affiliate=partner, approved=True, commission_percent=35
    )
    co_produce(product, partner, "10")
    SaleFactory(product=product, affiliation=affiliation, paid=True)

    [item] = reports.earnings_by_product(user=partner)
    assert item.roles == ["Affiliate", "Cocreator"]
    assert item.net == 3136 + 582


# ------------------------------------------------------------------------------ by month


def test_months_group_sales_and_reversals_by_when_they_happened(client):
    with at(2026, 1, 20):
        case = worked_case()
    with at(2026, 2, 3):
        sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
        # A direct sale pays the producer the net less the cocreator's 10 %: 89.60 - 8.96.
        SaleFactory(product=case.product, paid=True)

    months = reports.earnings_by_month(user=case.producer)
    assert [(m.month, m.gross, m.reversed, m.net) for m in months] == [
        (dt.date(2026, 2, 1), 8064, -2621, 8064 - 2621),
        (dt.date(2026, 1, 1), 5242, 0, 5242),
    ]
    with at(2026, 2, 10):
        html = text(page(client, case.producer))
    assert "January 2026 BRL R$52.42 R$0.00 R$52.42" in html
    assert "February 2026 BRL R$80.64 -R$26.21 R$54.43" in html
    # The product keeps its totals across months: 52.42 + 80.64 earned, 26.21 given back.
    assert "R$133.06 -R$26.21 R$106.85" in html


def test_month_boundary_follows_the_entry_time():
    with at(2026, 3, 31):
        case = worked_case()
    with at(2026, 4, 1):
        SaleFactory(product=case.product, affiliation=case.affiliation, paid=True)

    months = reports.earnings_by_month(user=case.cocreator)
    assert [(m.month, m.net) for m in months] == [
        (dt.date(2026, 4, 1), 582),
        (dt.date(2026, 3, 1), 582),
    ]


# ---------------------------------------------------------------------------- currencies


def test_currencies_are_never_added_together(client):
    brl = worked_case(currency="BRL", name="Real course")
    usd = worked_case(currency="USD", producer=brl.producer, name="Dollar course")

    report = reports.earnings_report(user=brl.producer)
    assert [(t.currency, t.net) for t in report.totals] == [("BRL", 5242), ("USD", 5242)]
    assert [(p.name, p.currency) for p in report.by_product] == [
        ("Dollar course", "USD"),
        ("Real course", "BRL"),
    ]
    assert sorted((m.currency, m.net) for m in report.by_month) == [("BRL", 5242), ("USD", 5242)]
    assert [c.currency for c in report.charts] == ["BRL", "USD"]
    html = text(page(client, brl.producer))
    assert "R$52.42" in html and "$52.42" in html
    assert "104.84" not in html  # the two would be summed by mistake
    assert usd.product.name in html


# ------------------------------------------------------------------------------- privacy


def test_other_users_see_none_of_it(client):
    case = worked_case()
    stranger = UserFactory(validated=True)
    buyer = case.sale.buyer

    for user in (stranger, buyer):
        html = page(client, user)
        assert "No earnings yet" in html
        assert case.product.name not in html
        assert "bar-chart" not in html  # no chart (the header's bell is an svg too)
    assert reports.earnings_by_product(user=stranger) == []


def test_the_platform_fee_is_nobodys_earning():
    case = worked_case()
    admin = UserFactory(validated=True, is_staff=True)
    assert reports.earnings_by_product(user=admin) == []
    total = sum(
        t.net
        for user in (case.producer, case.cocreator, case.affiliate)
        for t in reports.earnings_report(user=user).totals
    )
    assert total == 10000 - 1040


# --------------------------------------------------------------------------------- chart


def test_chart_is_an_accessible_svg_of_the_last_twelve_months(client):
    with at(2026, 2, 10):
        case = worked_case()
        html = page(client, case.producer)

    svg = re.search(r"<svg class=\"bar-chart\".*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg
    assert "<title id=" in svg and "<desc id=" in svg
    assert "Net earnings per month, last 12 months (BRL)" in svg
    assert "Feb 2026: R$52.42" in svg
    assert "Mar 2025: R$0.00" in svg  # the oldest of the twelve months
    assert svg.count('class="bar-chart-bar') == 12
    assert svg.count("<rect") == 1  # only February has money
    assert ">52.42</text>" in svg
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")


def test_chart_draws_losses_below_the_baseline():
    january, february = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    months = [
        reports.MonthEarnings(currency="BRL", gross=0, reversed=-2621, net=-2621, month=february),
        reports.MonthEarnings(currency="BRL", gross=5242, reversed=0, net=5242, month=january),
    ]
    [chart] = reports.earnings_charts(months, today=dt.date(2026, 2, 20))

    bars = {bar.month: bar for bar in chart.bars}
    gain, loss = bars[january], bars[february]
    assert gain.y + gain.height == pytest.approx(chart.baseline_y, abs=0.1)
    assert loss.y == chart.baseline_y and loss.negative
    assert gain.height == pytest.approx(2 * loss.height, abs=0.2)
    assert loss.amount_label == "\u221226.21"
    assert chart.total == 5242 - 2621
    assert bars[dt.date(2025, 3, 1)].height == 0


def test_chart_leaves_out_currencies_without_recent_months():
    old = reports.MonthEarnings(currency="USD", net=100, month=dt.date(2024, 5, 1))
    recent = reports.MonthEarnings(currency="BRL", net=100, month=dt.date(2026, 5, 1))
    charts = reports.earnings_charts([recent, old], today=dt.date(2026, 5, 2))
    assert [c.currency for c in charts] == ["BRL"]


def test_last_months_cross_the_year():
    months = reports.last_months(dt.date(2026, 2, 27))
    assert len(months) == 12
    assert months[0] == dt.date(2025, 3, 1) and months[-1] == dt.date(2026, 2, 1)
    assert months[9:11] == [dt.date(2025, 12, 1), dt.date(2026, 1, 1)]


@pytest.mark.parametrize(
    ("minor", "label"),
    [
        (5242, "52.42"),
        (123456, "1,234.56"),
        (999999, "9,999.99"),
        (1234567, "12.3K"),
        (123456789, "1.2M"),
        (-2621, "\u221226.21"),
        (-1234567, "\u221212.3K"),
    ],
)
def test_compact_bar_labels(minor, label):
    assert reports.compact_amount(minor, "BRL") == label


@pytest.mark.parametrize(
    ("minor", "label"),
    [(123456, "1.234,56"), (1234567, "12,3\u00a0mil"), (123456789, "1,2\u00a0mi")],
)
def test_compact_bar_labels_in_portuguese(minor, label):
    from django.utils import translation

    with translation.override("pt-br"):
        assert reports.compact_amount(minor, "BRL") == label


def test_the_chart_coordinates_are_never_localized(client):
    """pt-BR writes 12,5: an SVG coordinate must stay 12.5 or the chart falls apart."""
    user = UserFactory(validated=True, language="pt-br")
    product = ProductFactory(producer=user)
    SaleFactory(product=product, paid=True, amount_minor=12345)
    client.force_login(user)

    page = client.get(reverse("products:earnings")).content.decode()

    assert re.search(r'<rect x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="[0-9.]+"', page)
    assert not re.search(r'(x|y|width|height)="[0-9]+,[0-9]', page)


# -------------------------------------------------------------------------- query counts


def _queries(client, user, url=EARNINGS, **params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
        assert response.status_code == 200
    return len(queries)


def test_earnings_queries_do_not_grow_with_sales(client):
    with at(2026, 1, 10):
        case = worked_case()
        sale_refund(sale=case.sale, actor=case.producer, amount_minor=5000)
    people = (case.producer, case.cocreator, case.affiliate)
    few = {user: _queries(client, user) for user in people}

    with at(2026, 2, 10):
        paid_sales(case, 39)
    with at(2026, 3, 10):  # another month adds rows to the month table, not queries
        paid_sales(case, 10)
    many = {user: _queries(client, user) for user in people}

    assert many == few
    assert max(few.values()) <= 6
    [item] = reports.earnings_by_product(user=case.cocreator)
    assert item.net == 291 + 49 * 582
    assert len(reports.earnings_by_month(user=case.cocreator)) == 3
