"""The statement page and its CSV: the signed-in person's own figures only, the month picker,
the CSV's rows and name, bad parameters (a message, or not found for the file, never an
error), and the same queries whatever the number of entries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ProductFactory, UserFactory
from tests.statements.builders import at, march, sell

pytestmark = pytest.mark.django_db

PAGE = reverse("coproduction:statement")
CSV = reverse("coproduction:statement_csv")
MARCH = {"currency": "BRL", "year": "2026", "month": "3"}


@pytest.fixture
def month(time_machine, django_capture_on_commit_callbacks):
    built = march(time_machine, django_capture_on_commit_callbacks)
    time_machine.move_to(at(2026, 4, 10, 12), tick=False)
    return built


@pytest.fixture
def signed_in(client, month):
    client.force_login(month.party)
    return month


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_page_needs_a_login(client):
    for url in (PAGE, CSV):
        response = client.get(url, MARCH)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_the_month_s_statement(client, signed_in):
    response = client.get(PAGE, MARCH)

    assert response.status_code == 200
    html = response.content.decode()
    for shown in (
        "March 2026",
        "R$179.20",  # opening
        "Own course",
        "Their course",
        "Cocreator",
        "-R$44.80",  # the refund
        "-R$8.96",  # the chargeback
        "-R$3.67",  # the fee
        "-R$56.33",  # paid out
        "R$262.56",  # closing
        "of which R$50.00 in withdrawal",
    ):
        assert shown in html, shown
    statement = response.context["statement"]
    assert statement.balances and statement.closing_minor == 26256
    assert f"{CSV}?currency=BRL&amp;year=2026&amp;month=3" in html
    assert "Download CSV" in html


def test_the_month_picker(client, signed_in):
    response = client.get(PAGE, MARCH)

    html = response.content.decode()
    assert f'rel="prev" href="{PAGE}?currency=BRL&amp;year=2026&amp;month=2"' in html
    assert f'rel="next" href="{PAGE}?currency=BRL&amp;year=2026&amp;month=4"' in html
    # The months with entries, and this month (the default).
    assert [m.isoformat() for m in response.context["months"]] == [
        "2026-04-01",
        "2026-03-01",
        "2026-01-01",
    ]
    assert '<option value="2026-03" selected>' in html
    assert 'value="2026-02"' not in html
    # The picker's own parameter.
    picked = client.get(PAGE, {"currency": "BRL", "period": "2026-01"})
    assert picked.context["statement"].month == 1 and not picked.context["choice"].problems
    # January is the first: nothing before it; April is this month: nothing after it.
    assert 'rel="prev"' not in picked.content.decode()
    assert 'rel="next"' not in client.get(PAGE).content.decode()


def test_the_defaults_are_this_month_in_the_first_currency(client, signed_in):
    response = client.get(PAGE)

    statement = response.context["statement"]
    assert (statement.currency, statement.year, statement.month) == ("BRL", 2026, 4)
    assert statement.opening_minor == statement.closing_minor == 26256
    assert "Nothing moved in your balance this month." in response.content.decode()


def test_the_csv(client, signed_in):
    response = client.get(CSV, MARCH)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-03-BRL.csv"'
    assert rows(response) == [
        ["Date range", "2026-03-01", "2026-03-31", "America/Sao_Paulo"],
        ["Currency", "BRL"],
        [],
        ["section", "product", "role", "amount"],
        ["Opening balance", "", "", "179.20"],
        ["Earnings", "Own course", "producer", "179.20"],
        ["Earnings", "Their course", "cocreator", "17.92"],
        ["Refunds", "Own course", "", "-44.80"],
        ["Chargebacks", "Their course", "", "-8.96"],
        ["Withdrawal fees", "", "", "-3.67"],
        ["Payouts", "", "", "-56.33"],
        ["Closing balance", "", "", "262.56"],
        ["Of which in withdrawal", "", "", "50.00"],
    ]


def test_a_product_title_is_never_a_formula_in_the_csv(client, time_machine):
    party = UserFactory(validated=True)
    sell(time_machine, ProductFactory(producer=party, name="=HYPERLINK(1)"), at(2026, 3, 2))
    time_machine.move_to(at(2026, 4, 10), tick=False)
    client.force_login(party)

    earnings = [row for row in rows(client.get(CSV, MARCH)) if row[:1] == ["Earnings"]]

    assert earnings == [["Earnings", "'=HYPERLINK(1)", "producer", "89.60"]]


def test_another_party_sees_only_their_own(client, month):
    client.force_login(month.other)

    # No parameter names a party: a party_id is ignored.
    response = client.get(PAGE, {**MARCH, "party_id": month.party.pk})

    html = response.content.decode()
    assert response.context["statement"].party_id == month.other.pk
    assert "Own course" not in html and "R$179.20" not in html and "R$262.56" not in html
    assert "Their course" in html and "R$161.28" in html
    sheet = rows(client.get(CSV, {**MARCH, "party_id": month.party.pk}))
    assert ["Earnings", "Their course", "producer", "161.28"] in sheet
    assert not [row for row in sheet if "Own course" in row]


@pytest.mark.parametrize(
    "params",
    [
        {"year": "abc", "month": "3"},
        {"year": "2026", "month": "13"},
        {"year": "2026", "month": "0"},
        {"year": "2026", "month": "-1"},
        {"year": "1999", "month": "12"},
        {"year": "2026", "month": "5"},  # not begun yet
        {"year": "99999999999999999999", "month": "1"},
        {"year": "2026\x00", "month": "3"},
        {"year": "2026", "month": "3\x00"},
        {"year": "2026"},
        {"period": "2026"},
        {"period": "x-y"},
        {"period": "2026-03\x00"},
        {"currency": "XXX"},
        {"currency": "BRL\x00"},
        {"currency": "EUR"},  # no balance in it
        {"currency": ""},
    ],
)
def test_bad_parameters_show_a_message_and_the_file_is_not_found(client, signed_in, params):
    response = client.get(PAGE, params)

    assert response.status_code == 200
    assert response.context["choice"].problems
    assert 'class="message message-warning"' in response.content.decode()
    statement = response.context["statement"]
    assert statement.currency == "BRL"
    assert client.get(CSV, params).status_code == 404


def test_someone_without_a_balance_sees_no_statement(client):
    client.force_login(UserFactory())

    response = client.get(PAGE)

    assert response.status_code == 200
    assert response.context["statement"] is None
    assert "No statements yet" in response.content.decode()
    assert client.get(CSV).status_code == 404
    assert client.get(PAGE, {"currency": "BRL\x00", "year": "x"}).status_code == 200


def test_the_page_s_queries_do_not_grow_with_the_entries(client, time_machine):
    party = UserFactory(validated=True)
    product = ProductFactory(producer=party)
    sell(time_machine, product, at(2026, 3, 2, 12))
    time_machine.move_to(at(2026, 4, 10, 12), tick=False)
    client.force_login(party)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE, MARCH).status_code == 200
            assert client.get(CSV, MARCH).status_code == 200
        return len(queries)

    measure()  # warm-up
    one = measure()
    for minute in range(1, 50):
        sell(time_machine, product, at(2026, 3, 2, 12, minute))
    time_machine.move_to(at(2026, 4, 10, 12), tick=False)
    many = measure()
    assert client.get(PAGE, MARCH).context["statement"].earnings_minor == 50 * 8960
    assert many == one, f"{one} queries with 1 sale, {many} with 50"
