"""Every co-production page and HTMX fragment runs as many queries with 30 rows as with 1:
no query per contract, change, event or affiliate."""

import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coproduction.models import ChangeRequest, Contract, ContractEvent
from tests.coproduction.test_views_access import HTMX, make_change, make_contract
from tests.factories import AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

MANY = 30


def measure(request) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code == 200, response
    return len(queries), response


def assert_constant(request, grow, rows_in) -> None:
    """Count the queries of `request` with 1 row, then with MANY rows (`grow(n)` adds n)."""
    grow(1)
    request()  # warm-up: per-process caches are not what is measured
    one, response = measure(request)
    assert rows_in(response) == 1
    grow(MANY - 1)
    many, response = measure(request)
    assert rows_in(response) == MANY
    assert many == one, f"{one} queries with 1 row, {many} with {MANY}"


def count(marker: str):
    return lambda response: response.content.decode().count(marker)


@pytest.fixture
def producer(client):
    user = UserFactory(validated=True)
    client.force_login(user)
    return user


@pytest.fixture
def product(producer):
    return ProductFactory(producer=producer)


def contracts_on(product, *, status=Contract.Status.ACTIVE) -> SimpleNamespace:
    """`grow(n)` adds n contracts on `product`, each naming its own new approved affiliate and,
    when active, with a pending change: every relation a screen could fetch per row."""
    affiliations = []

    def grow(n):
        for _ in range(n):
            affiliation = AffiliationFactory(product=product, approved=True)
            affiliations.append(affiliation)
            # 2 % each: 30 of them stay under 70 %, so no "over the limit" branch is taken.
            contract = make_contract(
                product=product,
                status=status,
                all_affiliates=False,
                commission_percent=Decimal("2"),
            )
            contract.affiliates.set([affiliation])
            if status == Contract.Status.ACTIVE:
                make_change(
                    contract,
                    before={"commission_percent": "2.00"},
                    after={"commission_percent": "1.00"},
                )

    return SimpleNamespace(grow=grow, affiliations=affiliations)


# --------------------------------------------------------------------------------- producer


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("status", ["pending", "active"])
def test_product_contract_list(client, product, htmx, status):
    url = reverse("coproduction:product", args=[product.pk])

    assert_constant(
        lambda: client.get(url, **(HTMX if htmx else {})),
        contracts_on(product, status=status).grow,
        count('<tr id="contract-'),
    )


def test_resend_fragment(client, product):
    target = make_contract(product=product, last_sent_at=timezone.now() - timedelta(hours=1))
    url = reverse("coproduction:resend", args=[target.pk])

    def others(response):
        return count('<tr id="contract-')(response) - 1  # all but the resent one

    # The warm-up resends; later posts are refused as too recent, with the same fragment.
    assert_constant(lambda: client.post(url, **HTMX), contracts_on(product).grow, others)


@pytest.fixture
def terms_world(product):
    return contracts_on(product)


def affiliate_choices(response) -> int:
    return response.content.decode().count('name="affiliates"')


INVITE = {
    "cocreator_email": "x@example.com",
    "role": "expert",
    "duration": "eternal",
    "sales_scope": "all",
    "affiliate_choice": "chosen",
    "commission_percent": "2",
    "coproduction_model": "revenue_share",
}


def test_invite_form(client, product, terms_world):
    url = reverse("coproduction:invite", args=[product.pk])
    data = {**INVITE, "_refresh": "1"}

    assert_constant(lambda: client.post(url, data, **HTMX), terms_world.grow, affiliate_choices)


def affiliate_totals(response) -> int:
    """The preview's "shared with cocreators" line per affiliate."""
    return response.content.decode().count("Sales by affiliate ")


def test_invite_form_full_page(client, product, terms_world):
    url = reverse("coproduction:invite", args=[product.pk])

    assert_constant(lambda: client.get(url), terms_world.grow, affiliate_totals)


def test_invite_refresh_with_every_affiliate_chosen(client, product, terms_world):
    url = reverse("coproduction:invite", args=[product.pk])

    def refresh():
        data = {**INVITE, "_refresh": "1", "affiliates": [a.pk for a in terms_world.affiliations]}
        return client.post(url, data, **HTMX)

    def checked(response):
        return len(
            re.findall(r'name="affiliates" value="\d+"[^>]* checked', response.content.decode())
        )

    assert_constant(refresh, terms_world.grow, checked)


def test_invite_submit_with_a_form_error(client, product, terms_world):
    url = reverse("coproduction:invite", args=[product.pk])
    data = {**INVITE, "commission_percent": "abc"}

    assert_constant(lambda: client.post(url, data), terms_world.grow, affiliate_choices)


@pytest.fixture
def changed(product, terms_world):
    """An active contract whose chosen affiliates grow with the product's."""
    contract = make_contract(
        product=product,
        status=Contract.Status.ACTIVE,
        all_affiliates=False,
        commission_percent=Decimal("2"),
    )

    def grow(n):
        terms_world.grow(n)
        contract.affiliates.set(terms_world.affiliations)

    return SimpleNamespace(contract=contract, grow=grow)


@pytest.mark.parametrize("how", ["page", "refresh"])
def test_propose_change_form(client, changed, how, terms_world):
    url = reverse("coproduction:change", args=[changed.contract.pk])

    def request():
        if how == "page":
            return client.get(url)
        data = {
            "duration": "eternal",
            "sales_scope": "all",
            "affiliate_choice": "chosen",
            "affiliates": [a.pk for a in terms_world.affiliations],
            "commission_percent": "3",
            "_refresh": "1",
        }
        return client.post(url, data, **HTMX)

    assert_constant(request, changed.grow, affiliate_choices)


# --------------------------------------------------------------------------------- cocreator


@pytest.fixture
def me(client):
    user = UserFactory(validated=True)
    client.force_login(user)
    return user


def add_my_contracts(me, status):
    def grow(n):
        for _ in range(n):
            contract = make_contract(cocreator=me, status=status)
            if status == Contract.Status.ACTIVE:
                make_change(contract)

    return grow


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("tab", "status"), [("invitations", "pending"), ("confirmed", "active")])
def test_cocreator_tabs(client, me, tab, status, htmx):
    url = reverse("coproduction:cocreator") + f"?tab={tab}"

    assert_constant(
        lambda: client.get(url, **(HTMX if htmx else {})),
        add_my_contracts(me, status),
        count('<tr id="contract-'),
    )


@pytest.mark.parametrize(
    ("name", "htmx"),
    [("information", False), ("information", True), ("accept", False)],
    ids=["information-page", "information-htmx", "accept-page"],
)
def test_information_with_chosen_affiliates(client, me, name, htmx):
    product = ProductFactory()
    contract = make_contract(
        product=product,
        cocreator=me,
        sales_scope=Contract.SalesScope.AFFILIATE,
        all_affiliates=False,
    )
    emails = []

    def grow(n):
        for _ in range(n):
            affiliation = AffiliationFactory(product=product, approved=True)
            emails.append(affiliation.affiliate.email)
            contract.affiliates.add(affiliation)

    def listed(response):
        return sum(email in response.content.decode() for email in emails)

    url = reverse(f"coproduction:{name}", args=[contract.pk])
    assert_constant(lambda: client.get(url, **(HTMX if htmx else {})), grow, listed)


# --------------------------------------------------------------------------------- history


@pytest.fixture
def history(producer, product):
    """An active contract whose answered changes and events grow; one change stays pending."""
    cocreator = UserFactory(validated=True)
    contract = make_contract(product=product, cocreator=cocreator, status=Contract.Status.ACTIVE)
    pending = make_change(contract, after={"commission_percent": "11.00"}, before={})
    ContractEvent.objects.create(contract=contract, actor=producer, action="invited")

    def grow(n):
        for _ in range(n):
            change = make_change(
                contract,
                status=ChangeRequest.Status.REFUSED,
                requested_at=timezone.now() - timedelta(days=1),
                by=UserFactory(validated=True),  # a different user on every row
                responded_by=UserFactory(validated=True),
            )
            ContractEvent.objects.create(
                contract=contract,
                actor=UserFactory(validated=True),
                action="change_refused",
                change_request=change,
            )

    return SimpleNamespace(contract=contract, cocreator=cocreator, pending=pending, grow=grow)


def refused_rows(response) -> int:
    return response.content.decode().count("badge-change-refused")


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("side", ["producer", "cocreator"])
def test_change_history(client, history, side, htmx):
    if side == "cocreator":
        client.force_login(history.cocreator)
    url = reverse("coproduction:history", args=[history.contract.pk])

    assert_constant(lambda: client.get(url, **(HTMX if htmx else {})), history.grow, refused_rows)


def test_change_answer_fragment(client, history):
    client.force_login(history.cocreator)
    url = reverse(
        "coproduction:change_answer", args=[history.contract.pk, history.pending.pk, "refuse"]
    )

    def others(response):
        return refused_rows(response) - 1  # all but the one just refused

    # The warm-up refuses the change; replays are turned down with the same fragment.
    assert_constant(lambda: client.post(url, **HTMX), history.grow, others)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_change_detail_with_many_affiliates(client, producer, product, history, htmx):
    chosen = []

    def grow(n):
        history.grow(n)
        for _ in range(n):
            affiliation = AffiliationFactory(product=product, approved=True)
            chosen.append({"id": affiliation.pk, "email": affiliation.affiliate.email})
        ChangeRequest.objects.filter(pk=history.pending.pk).update(
            before={"affiliates": {"all": True, "chosen": []}},
            after={"affiliates": {"all": False, "chosen": chosen}},
        )

    def added(response):
        return sum(item["email"] in response.content.decode() for item in chosen)

    url = reverse("coproduction:change_detail", args=[history.contract.pk, history.pending.pk])
    assert_constant(lambda: client.get(url, **(HTMX if htmx else {})), grow, added)
