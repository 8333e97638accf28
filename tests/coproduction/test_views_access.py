"""Who may open each co-production screen, and where the emailed links lead.

Also home of the small builders the other co-production view tests import (make_contract,
make_change): contracts and change requests in a given state without going through the
services, so a test sets up exactly the rows it needs."""

import re
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from coproduction.models import ChangeRequest, Contract, EmailLink, TermsOfUse
from coproduction.services.changes import change_request_propose
from coproduction.services.contracts import contract_invite, contract_request_end
from coproduction.services.links import email_link_create
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# --------------------------------------------------------------------------------- builders


def make_contract(*, product=None, cocreator=None, status=Contract.Status.PENDING, **fields):
    """A contract row in `status` (10 % of all sales, eternal unless told otherwise)."""
    values = {
        "role": Contract.Role.EXPERT,
        "sales_scope": Contract.SalesScope.ALL,
        "commission_percent": Decimal("10"),
        "coproduction_model": Contract.CoproductionModel.REVENUE_SHARE,
        **fields,
    }
    if status != Contract.Status.PENDING:
        values.setdefault("accepted_at", timezone.now())
    if status not in Contract.LIVE:
        values.setdefault("closed_at", timezone.now())
    contract = Contract.objects.create(
        product=product or ProductFactory(),
        cocreator=cocreator or UserFactory(validated=True),
        status=status,
        terms=TermsOfUse.objects.get(version=1),
        **values,
    )
    return contract


def make_change(
    contract,
    *,
    by=None,
    status=ChangeRequest.Status.PENDING,
    kind=ChangeRequest.Kind.CHANGE,
    before=None,
    after=None,
    **fields,
):
    """A change request on `contract`: by default the producer proposes 10 % → 15 %."""
    if kind == ChangeRequest.Kind.CHANGE and after is None:
        before, after = {"commission_percent": "10.00"}, {"commission_percent": "15.00"}
    if status != ChangeRequest.Status.PENDING:
        fields.setdefault("responded_at", timezone.now())
        fields.setdefault("responded_by", contract.cocreator)
    return ChangeRequest.objects.create(
        contract=contract,
        kind=kind,
        status=status,
        before=before or {},
        after=after or {},
        requested_by=by or contract.product.producer,
        **fields,
    )


def text(response) -> str:
    from html import unescape

    return unescape(response.content.decode())


def assert_login_redirect(response, url: str) -> None:
    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("account_login")
    assert parse_qs(target.query)["next"] == [url]


# --------------------------------------------------------------------------------- the table

PEOPLE = ("owner", "invitee", "partner", "other_producer", "other_cocreator", "stranger")
PRODUCER, INVITEE, PARTNER = {"owner"}, {"invitee"}, {"partner"}
PARTIES = {"owner", "partner"}
ANYONE = set(PEOPLE)  # screens that only show the user's own rows


@pytest.fixture
def world():
    """One product with a pending invitation (invitee) and an active contract with a pending
    change (partner); another producer's product with its own cocreator; a stranger."""
    owner = UserFactory(validated=True)
    product = ProductFactory(producer=owner)
    invitee, partner = UserFactory(validated=True), UserFactory(validated=True)
    pending = make_contract(product=product, cocreator=invitee)
    active = make_contract(product=product, cocreator=partner, status=Contract.Status.ACTIVE)
    other_producer, other_cocreator = UserFactory(validated=True), UserFactory(validated=True)
    make_contract(
        product=ProductFactory(producer=other_producer),
        cocreator=other_cocreator,
        status=Contract.Status.ACTIVE,
    )
    return SimpleNamespace(
        owner=owner,
        product=product,
        invitee=invitee,
        partner=partner,
        pending=pending,
        active=active,
        change=make_change(active),
        other_producer=other_producer,
        other_cocreator=other_cocreator,
        stranger=UserFactory(validated=True),
    )


INVITE_DATA = {
    "cocreator_email": "newcomer@example.com",
    "role": "expert",
    "duration": "eternal",
    "sales_scope": "all",
    "affiliate_choice": "all",
    "commission_percent": "5",
    "coproduction_model": "revenue_share",
    "accept_terms": "on",
}
CHANGE_DATA = {
    "duration": "eternal",
    "sales_scope": "all",
    "affiliate_choice": "all",
    "commission_percent": "20",
}


def _none(w):
    return {}


def _product(w):
    return {"product_pk": w.product.pk}


def _pending(w):
    return {"pk": w.pending.pk}


def _active(w):
    return {"pk": w.active.pk}


def _change(w):
    return {"pk": w.active.pk, "change_pk": w.change.pk}


def _answer(w):
    return {**_change(w), "action": "accept"}


GET, POST, BOTH = ("get",), ("post",), ("get", "post")

# url name, url kwargs, methods, POST data, who gets through (None: login only), their status
ROUTES = [
    ("coproduction:index", _none, GET, None, ANYONE, 200),
    ("coproduction:product", _product, GET, None, PRODUCER, 200),
    ("coproduction:invite", _product, BOTH, INVITE_DATA, PRODUCER, 200),
    ("coproduction:resend", _pending, POST, {}, PRODUCER, 302),
    ("coproduction:cancel", _pending, BOTH, {}, PRODUCER, 200),
    ("coproduction:change", _active, BOTH, CHANGE_DATA, PRODUCER, 200),
    ("coproduction:history", _active, GET, None, PARTIES, 200),
    ("coproduction:change_detail", _change, GET, None, PARTIES, 200),
    # The owner is a party too: accepting their own request is refused with a message, not 404.
    ("coproduction:change_answer", _answer, POST, {}, PARTIES, 302),
    ("coproduction:email_link", None, GET, None, None, 302),
    ("coproduction:cocreator", _none, GET, None, ANYONE, 200),
    ("coproduction:information", _pending, GET, None, INVITEE, 200),
    ("coproduction:accept", _pending, BOTH, {"accept_terms": "on"}, INVITEE, 200),
    ("coproduction:decline", _pending, BOTH, {}, INVITEE, 200),
    ("coproduction:request_end", _active, BOTH, {}, PARTNER, 200),
    # Login only, each person's own money: tests/balances_screens/test_balance_page.py.
    ("coproduction:balance", _none, BOTH, {"step": "amount"}, None, 200),
    ("coproduction:withdrawal_cancel", lambda w: {"pk": 1}, POST, {}, None, 404),
    # Login only, each person's own statement: tests/statements/test_views.py.
    ("coproduction:statement", _none, GET, None, None, 200),
    ("coproduction:statement_csv", _none, GET, None, None, 404),
]
# Signed by the payout gateway, no login: tests/balances_screens/test_balance_page.py.
WEBHOOKS = {"coproduction:payout_webhook"}
POST_ONLY = [r[0] for r in ROUTES if r[2] == POST and r[4] is not None]


def route_id(route) -> str:
    return route[0].split(":")[1]


def routes(predicate):
    return pytest.mark.parametrize("route", [r for r in ROUTES if predicate(r)], ids=route_id)


def url_for(route, w) -> str:
    name, kwargs, *_ = route
    if kwargs is None:  # email_link: a real link sent to the invitee
        return _link_path(
            email_link_create(
                user=w.invitee, contract=w.pending, purpose=EmailLink.Purpose.INVITATION
            )
        )
    return reverse(name, kwargs=kwargs(w))


def send(client, method: str, route, w):
    """GET without a body (data would become a query string), POST with the route's data."""
    url = url_for(route, w)
    if method == "get":
        return url, client.get(url)
    return url, client.post(url, route[3] or {})


def snapshot(w) -> dict:
    """Everything a wrongly allowed request could change."""
    return {
        "contracts": sorted(
            Contract.objects.values_list(
                "pk", "status", "commission_percent", "send_count", "last_sent_at"
            )
        ),
        "changes": sorted(ChangeRequest.objects.values_list("pk", "kind", "status")),
        "links_used": EmailLink.objects.filter(used_at__isnull=False).count(),
        "mails": len(mail.outbox),
    }


def test_the_table_lists_every_coproduction_url():
    from coproduction.urls import urlpatterns

    assert {f"coproduction:{p.name}" for p in urlpatterns} == {r[0] for r in ROUTES} | WEBHOOKS


@routes(lambda r: True)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(client, world, route, method):
    before = snapshot(world)

    url, response = send(client, method, route, world)

    assert_login_redirect(response, url)
    assert snapshot(world) == before


@routes(lambda r: r[4] is not None)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unvalidated_user_gets_the_validation_required_page(client, world, route, method):
    client.force_login(UserFactory())
    before = snapshot(world)

    _, response = send(client, method, route, world)

    assert response.status_code == 403
    assert "accounts/validation_required.html" in [t.name for t in response.templates]
    assert "Your account needs to be validated first" in text(response)
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("route", "who", "method"),
    [
        pytest.param(route, who, method, id=f"{route_id(route)}-{who}-{method}")
        for route in ROUTES
        if route[4] not in (None, ANYONE)
        for who in PEOPLE
        if who not in route[4]
        for method in route[2]
    ],
)
def test_everyone_but_the_right_user_gets_404_and_changes_nothing(
    client, world, route, who, method, django_capture_on_commit_callbacks
):
    client.force_login(getattr(world, who))
    before = snapshot(world)

    with django_capture_on_commit_callbacks(execute=True):
        _, response = send(client, method, route, world)

    assert response.status_code == 404
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("route", "who"),
    [
        pytest.param(route, who, id=f"{route_id(route)}-{who}")
        for route in ROUTES
        if route[4] is not None
        for who in sorted(route[4])
    ],
)
def test_the_right_user_gets_through(client, world, route, who):
    client.force_login(getattr(world, who))

    _, response = send(client, route[2][0], route, world)

    assert response.status_code == route[5]


def test_the_addressee_of_an_email_link_gets_through(client, world):
    client.force_login(world.invitee)

    response = client.get(url_for(("coproduction:email_link", None), world))

    assert response.status_code == 302
    assert response.url == reverse("coproduction:information", args=[world.pending.pk])


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_views_refuse_get(client, world, name):
    route = next(r for r in ROUTES if r[0] == name)
    client.force_login(getattr(world, sorted(route[4])[0]))
    before = snapshot(world)

    response = client.get(url_for(route, world))

    assert response.status_code == 405
    assert snapshot(world) == before


def test_a_change_of_another_contract_is_404_under_my_contract(client, world):
    """The change id must belong to the contract in the URL, not just to some contract."""
    theirs = make_change(make_contract(status=Contract.Status.ACTIVE))
    client.force_login(world.owner)
    before = snapshot(world)

    detail = client.get(reverse("coproduction:change_detail", args=[world.active.pk, theirs.pk]))
    answer = client.post(
        reverse("coproduction:change_answer", args=[world.active.pk, theirs.pk, "withdraw"])
    )

    assert (detail.status_code, answer.status_code) == (404, 404)
    assert snapshot(world) == before


def test_the_index_and_the_cocreator_tabs_show_only_the_users_own_rows(client, world):
    client.force_login(world.other_producer)

    index = text(client.get(reverse("coproduction:index")))
    tabs = text(client.get(reverse("coproduction:cocreator") + "?tab=confirmed"))

    assert world.product.name not in index
    assert world.product.name not in tabs
    client.force_login(world.partner)
    assert world.product.name in text(
        client.get(reverse("coproduction:cocreator") + "?tab=confirmed")
    )


# --------------------------------------------------------------------------------- email links


def _link_path(url: str) -> str:
    assert url.startswith(settings.SITE_URL)
    return url.removeprefix(settings.SITE_URL)


def link_in(message) -> str:
    """The path of the answer link in an email."""
    match = re.search(re.escape(settings.SITE_URL) + r"(/co-productions/link/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def invitation(django_capture_on_commit_callbacks):
    """A real invitation through the service, with the email it sends."""
    producer = UserFactory(validated=True)
    cocreator = UserFactory(validated=True)
    with django_capture_on_commit_callbacks(execute=True):
        contract = contract_invite(
            product=ProductFactory(producer=producer),
            actor=producer,
            cocreator_email=cocreator.email,
            role=Contract.Role.EXPERT,
            coproduction_model=Contract.CoproductionModel.REVENUE_SHARE,
            automatic_sales_recovery=False,
            terms_accepted=True,
            end_date=None,
            sales_scope=Contract.SalesScope.ALL,
            all_affiliates=True,
            affiliates=[],
            commission_percent=Decimal("10"),
            affiliate_commission_percent=None,
        )
    (message,) = mail.outbox
    assert message.to == [cocreator.email]
    return SimpleNamespace(
        contract=contract, cocreator=cocreator, producer=producer, url=link_in(message)
    )


def test_an_invitation_link_opens_the_co_production_information_of_that_contract(
    client, invitation
):
    client.force_login(invitation.cocreator)

    response = client.get(invitation.url, follow=True)

    assert response.redirect_chain == [
        (reverse("coproduction:information", args=[invitation.contract.pk]), 302)
    ]
    assert "Co-production Information" in text(response)
    assert invitation.contract.product.name in text(response)


def test_a_change_link_opens_the_change_history(client, django_capture_on_commit_callbacks):
    contract = make_contract(status=Contract.Status.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        change_request_propose(
            contract=contract,
            actor=contract.product.producer,
            end_date=None,
            sales_scope=Contract.SalesScope.ALL,
            all_affiliates=True,
            affiliates=[],
            commission_percent=Decimal("12"),
            affiliate_commission_percent=None,
        )
    (message,) = mail.outbox
    client.force_login(contract.cocreator)

    response = client.get(link_in(message), follow=True)

    assert response.redirect_chain == [(reverse("coproduction:history", args=[contract.pk]), 302)]
    assert "Pending approval" in text(response)


def test_a_termination_request_link_takes_the_producer_to_the_change_history(
    client, django_capture_on_commit_callbacks
):
    contract = make_contract(status=Contract.Status.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        contract_request_end(contract=contract, actor=contract.cocreator)
    (message,) = mail.outbox
    assert message.to == [contract.product.producer.email]
    client.force_login(contract.product.producer)

    response = client.get(link_in(message))

    assert response.url == reverse("coproduction:history", args=[contract.pk])


def test_a_link_used_twice_says_it_was_already_used(client, invitation):
    client.force_login(invitation.cocreator)
    client.get(invitation.url)

    response = client.get(invitation.url, follow=True)

    assert response.status_code == 200
    assert "This link was already used" in text(response)
    # It lands where the request is, not on the dashboard.
    assert response.redirect_chain[0][0] == reverse(
        "coproduction:information", args=[invitation.contract.pk]
    )


def test_another_users_link_shows_a_message_and_gives_no_access(client, invitation):
    client.force_login(UserFactory(validated=True))

    response = client.get(invitation.url, follow=True)

    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert "This link is not valid for your account." in text(response)
    assert invitation.contract.product.name not in text(response)
    # Not spent: the addressee can still use it.
    assert EmailLink.objects.get(user=invitation.cocreator).used_at is None
    client.force_login(invitation.cocreator)
    assert client.get(invitation.url).url == reverse(
        "coproduction:information", args=[invitation.contract.pk]
    )


def test_anonymous_following_a_link_logs_in_first_and_keeps_the_link(client, invitation):
    response = client.get(invitation.url)

    assert_login_redirect(response, invitation.url)
    assert EmailLink.objects.get(user=invitation.cocreator).used_at is None


def test_a_tampered_link_is_refused_with_a_message(client, invitation):
    client.force_login(invitation.cocreator)

    response = client.get(invitation.url.rstrip("/") + "x/", follow=True)

    assert response.status_code == 200
    assert "This link is not valid." in text(response)
    assert EmailLink.objects.get(user=invitation.cocreator).used_at is None


def test_an_invitation_link_after_the_invitation_was_canceled_shows_its_status(client, invitation):
    Contract.objects.filter(pk=invitation.contract.pk).update(status=Contract.Status.CANCELED)
    client.force_login(invitation.cocreator)

    response = client.get(invitation.url, follow=True)

    assert response.redirect_chain == [
        (reverse("coproduction:information", args=[invitation.contract.pk]), 302)
    ]
    assert "Invitation canceled" in text(response)
    assert "Accept invite" not in text(response)
