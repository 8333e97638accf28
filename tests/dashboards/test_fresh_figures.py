"""The dashboards keep some figures in the cache and read others every time: whatever changes,
the next page shows it. The ledger's sums (revenue, own earnings, a cocreator's earnings) are
kept under a key naming the person's balance rows, which every ledger writer updates in the
same transaction; the subscription figures follow statuses that move no money, so they are
read on every visit. Each test loads the page once (filling the cache), changes one thing, and
loads it again."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountValidation
from coproduction.models import LedgerEntry
from products.services.refunds import sale_refund
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.lifecycle import subscription_cancel
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory, terms_of_use
from tests.dashboards.builders import first_paid, paid, recurrence
from tests.factories import AccountValidationFactory, PlanFactory, ProductFactory, UserFactory
from tests.sales.test_earnings import worked_case
from tests.subscriptions.factories import SubscriptionFactory

# Committed transactions: a balance row's updated_at is the writing transaction's now(), as
# in production (inside one test transaction every write would share the same instant).
pytestmark = pytest.mark.django_db(transaction=True)

LEDGER_TABLE = LedgerEntry._meta.db_table


@pytest.fixture(autouse=True)
def _empty_cache():
    terms_of_use()  # a transactional test's flush removed the migration's rows
    cache.clear()
    yield
    cache.clear()


def page(client, user) -> tuple[str, list[str]]:
    """The dashboard's sections (the page less its header and its CSRF token) and the SQL of
    its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    sections = html[html.index('<div class="page-header">') : html.index("</main>")]
    return sections, [q["sql"] for q in queries.captured_queries]


def chart_of(html: str) -> str:
    return html[html.index('<section class="card dash-chart">') : html.index("</svg>")]


def ledger_reads(sqls: list[str]) -> int:
    return sum(f'FROM "{LEDGER_TABLE}"' in sql for sql in sqls)


# ------------------------------------------------------------------------- ledger sums


def test_the_producers_money_is_read_from_the_cache_until_the_ledger_moves(client):
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer, name="Course")
    paid(product, 1, amount_minor=10000)

    first, first_sqls = page(client, producer)
    again, again_sqls = page(client, producer)

    assert "R$100.00" in first and again == first
    assert ledger_reads(first_sqls) == 2 and ledger_reads(again_sqls) == 0

    paid(product, 1, amount_minor=5000)
    after, after_sqls = page(client, producer)

    assert ledger_reads(after_sqls) == 2
    assert "R$150.00" in after and "2 sales" in after
    # The chart, drawn once per report, is drawn again for the new one.
    assert "Revenue R$100.00" in chart_of(first) and "Revenue R$150.00" in chart_of(after)


def test_a_refund_shows_on_the_next_page(client):
    case = worked_case()
    before, _ = page(client, case.producer)
    assert "R$100.00" in before

    sale_refund(sale=case.sale, actor=case.producer, amount_minor=4000)
    after, _ = page(client, case.producer)

    assert "R$60.00" in after  # revenue this month: 100.00 paid, 40.00 given back
    assert "R$100.00" not in after.split("Your earnings this month")[0]


def test_the_report_is_drawn_in_the_readers_language(client):
    """The charts' labels are written out when the report is built: a reader who switches
    language gets a report of their own, though no money moved."""
    producer = UserFactory(validated=True)
    paid(ProductFactory(producer=producer), 1, amount_minor=123456)
    english, _ = page(client, producer)

    producer.language = "pt-br"
    producer.save(update_fields=["language"])
    portuguese, _ = page(client, producer)

    assert "R$1,234.56" in chart_of(english)
    assert "R$\xa01.234,56" in chart_of(portuguese) and "R$1,234.56" not in portuguese


def test_a_cocreators_earnings_follow_each_new_sale(client):
    cocreator = UserFactory(validated=True)
    contract = ContractFactory(
        cocreator=cocreator, active=True, accepted_at=timezone.now() - timedelta(days=1)
    )
    paid(contract.product, 1, amount_minor=10000)
    first, first_sqls = page(client, cocreator)
    _again, again_sqls = page(client, cocreator)
    assert ledger_reads(first_sqls) == 1 and ledger_reads(again_sqls) == 0

    paid(contract.product, 1, amount_minor=10000)
    after, _ = page(client, cocreator)

    # 10 % of 89.60 per sale (the platform's fee first): 8.96, then 17.92.
    assert "R$8.96" in first and "R$17.92" not in first
    assert "R$17.92" in after


# ------------------------------------------------------------------ subscription figures


def test_a_cancellation_shows_on_the_next_page(client):
    """A cancellation moves no money: the subscriber counts, churn and MRR are read again."""
    producer = UserFactory(validated=True)
    plan = PlanFactory(product__producer=producer, price_minor=1000)
    kept = first_paid(
        SubscriptionFactory(plan=plan, status=Subscription.Status.ACTIVE),
        timezone.now() - timedelta(days=40),
    )
    leaving = first_paid(
        SubscriptionFactory(plan=plan, status=Subscription.Status.ACTIVE),
        timezone.now() - timedelta(days=40),
    )
    before, _ = page(client, producer)
    assert "2 active or overdue subscriptions" in before and "R$20.00" in before

    subscription_cancel(subscription=leaving, actor=leaving.buyer)
    after, _ = page(client, producer)

    assert "1 active or overdue subscription<" in after and "R$10.00" in after
    assert "1 of 2 subscribers at the start of the month canceled" in after
    assert kept.pk  # the other one still counts


def test_a_status_written_by_a_bulk_update_shows_on_the_next_page(client):
    """Billing writes statuses set-based (no model signal runs): nothing is cached to miss."""
    producer = UserFactory(validated=True)
    plan = PlanFactory(product__producer=producer, price_minor=4990)
    overdue = SubscriptionFactory(plan=plan, status=Subscription.Status.OVERDUE)
    charge = recurrence(overdue, status=Recurrence.Status.SCHEDULED)
    before, _ = page(client, producer)
    assert "1 overdue charge still being retried" in before

    Recurrence.objects.filter(pk=charge.pk).update(status=Recurrence.Status.PAID)
    Subscription.objects.filter(pk=overdue.pk).update(status=Subscription.Status.ACTIVE)
    after, _ = page(client, producer)

    assert "Recoverable revenue" not in after
    assert "still being retried" not in after


# ------------------------------------------------------------------------ what waits


def test_lists_show_eight_then_link_to_the_rest_oldest_request_first(client):
    producer = UserFactory(validated=True)
    product = ProductFactory(producer=producer)
    requests = []
    for index in range(9):
        contract = ContractFactory(product=product, active=True, product__name=f"P{index}")
        requests.append(
            ChangeRequestFactory(
                contract=contract,
                by_cocreator=True,
                requested_at=timezone.now() - timedelta(hours=9 - index),
            )
        )

    html, _ = page(client, producer)

    links = [reverse("coproduction:history", args=[r.contract_id]) for r in requests]
    shown = [link for link in links if link in html]
    assert shown == links[:8]
    assert [html.index(link) for link in shown] == sorted(html.index(link) for link in shown)
    assert "More termination requests in Co-productions" in html


def test_the_validation_is_read_with_the_roles(client):
    """The roles' query brings the validation request: the page does not ask for it again."""
    producer = UserFactory()
    ProductFactory(producer=producer)
    AccountValidationFactory(user=producer, rejected=True)

    html, sqls = page(client, producer)

    assert "Rejected" in html and "Correct and resubmit" in html
    validation_table = AccountValidation._meta.db_table
    assert sum(f'FROM "{validation_table}"' in sql for sql in sqls) == 0
