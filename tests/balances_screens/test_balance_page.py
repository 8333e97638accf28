"""The Balance page (coproduction:balance): who sees what, the figures and release timeline,
the two-step withdraw flow (password, authenticator code), bad amounts, cancel, the payout
webhook view, and a number of queries that does not grow with the rows shown."""

import uuid
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.locales import format_day
from coproduction import balances
from coproduction.models import LedgerEntry, Withdrawal
from coproduction.payout_gateway import SIGNATURE_HEADER, sign, webhook_body
from coproduction.services.withdrawals import (
    withdrawal_approve,
    withdrawal_request,
    withdrawal_settle,
)
from products.services.refunds import sale_refund
from products.services.sales import sale_pay, sale_start
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    PayoutAccountFactory,
    ProductFactory,
    UserFactory,
    checkout_token,
)

pytestmark = pytest.mark.django_db

URL = reverse("coproduction:balance")
WEBHOOK = reverse("coproduction:payout_webhook")
# A R$ 100.00 sale leaves its producer R$ 89.60 (9.9 % + R$ 0.50 to the platform).
SHARE = 89_60
GUARANTEE = 7


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth marks a used authenticator code in the cache: each test starts with none used.
    cache.clear()
    yield
    cache.clear()


def text(response) -> str:
    return unescape(response.content.decode())


def totp_now() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(timezone.now().timestamp()) // 30))


def sell(producer, *, days_ago=0, price=100_00, currency="BRL"):
    """A paid sale of one of `producer`'s products, `days_ago` days ago (time travel: its
    shares are released guarantee + 1 + 30 days after in BRL, + 15 in the others)."""
    product = ProductFactory(
        producer=producer, price_minor=price, guarantee_days=GUARANTEE, currency=currency
    )
    buyer = UserFactory()
    with time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        sale = sale_start(
            product=product,
            buyer=buyer,
            method="card",
            country="BR",
            affiliate_code=None,
            checkout_token=checkout_token(buyer, uuid.uuid4().hex),
        )
        return sale_pay(sale=sale, token="4242424242424242")


def party(*, account=True, held_until=None, **fields):
    """A validated producer with a Pix payout account (unless account=False)."""
    user = UserFactory(validated=True, **fields)
    if account:
        PayoutAccountFactory(user=user, withdrawals_held_until=held_until)
    return user


def released_party(*, price=100_00, **kwargs):
    user = party(**kwargs)
    sell(user, days_ago=40, price=price)
    return user


def written() -> tuple[int, int]:
    return Withdrawal.objects.count(), LedgerEntry.objects.count()


def paid_withdrawal(user, amount_minor=50_00):
    """A withdrawal reviewed, sent and paid: the account's next ones skip the review."""
    withdrawal = withdrawal_request(party=user, currency="BRL", amount_minor=amount_minor)
    withdrawal_approve(withdrawal_id=withdrawal.pk, admin=UserFactory(is_staff=True))
    withdrawal_settle(withdrawal_id=withdrawal.pk, paid=True, reference="po_test")
    withdrawal.refresh_from_db()
    return withdrawal


def amount_step(client, amount, currency="BRL"):
    return client.post(URL, {"step": "amount", "currency": currency, "amount": amount})


def confirm_step(client, amount_minor, currency="BRL", **extra):
    data = {"step": "confirm", "currency": currency, "amount_minor": amount_minor, **extra}
    return client.post(URL, data)


# ----------------------------------------------------------------------------- access


def test_anonymous_people_are_sent_to_log_in(client):
    for url, method in (
        (URL, "get"),
        (URL, "post"),
        (reverse("coproduction:withdrawal_cancel", args=[1]), "post"),
    ):
        response = getattr(client, method)(url)

        assert response.status_code == 302
        assert response.url == f"{reverse('account_login')}?next={url}"


def test_the_products_menu_links_balance_right_after_earnings(client):
    client.force_login(UserFactory())

    page = text(client.get(reverse("dashboard")))

    earnings = page.index(f'<a href="{reverse("products:earnings")}">Earnings</a>')
    balance = page.index(f'<a href="{URL}">Balance</a>')
    assert page[earnings:balance].count("<a ") == 1  # nothing between the two links


def test_someone_without_money_sees_an_empty_page(client):
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 200
    assert "No balance yet" in text(response)
    assert "Withdrawals" not in text(response)


def test_a_party_sees_only_their_own_balances_and_withdrawals(client):
    mine = released_party()
    theirs = released_party(price=200_00)
    their_withdrawal = withdrawal_request(party=theirs, currency="BRL", amount_minor=123_45)
    client.force_login(mine)

    page = text(client.get(URL))

    assert "R$89.60" in page
    assert "R$179.70" not in page  # their share of R$ 200.00
    assert "R$123.45" not in page
    assert f"withdrawal-{their_withdrawal.pk}" not in page


def test_another_partys_withdrawal_cannot_be_canceled(client):
    theirs = released_party(price=200_00)
    paid_withdrawal(theirs)
    their_withdrawal = withdrawal_request(party=theirs, currency="BRL", amount_minor=50_00)
    assert their_withdrawal.can_cancel
    client.force_login(released_party())

    response = client.post(reverse("coproduction:withdrawal_cancel", args=[their_withdrawal.pk]))

    assert response.status_code == 404
    their_withdrawal.refresh_from_db()
    assert their_withdrawal.status == Withdrawal.Status.REQUESTED


# ---------------------------------------------------------------------- figures, timeline


def test_figures_per_currency_and_the_release_timeline(client):
    user = released_party()
    pending = sell(user, days_ago=2)
    day = balances.release_day(pending.paid_at, GUARANTEE, "BRL")
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == 200
    [panel] = response.context["panels"]
    assert (panel.balance.available_minor, panel.balance.pending_minor) == (SHARE, SHARE)
    page = text(response)
    assert "Balance in BRL" in page
    for label in ("Available", "Pending", "In withdrawal", "Withdrawn"):
        assert label in page
    assert f"R$89.60 becomes available on {format_day(day)}" in page
    assert format_day(day) == day.strftime("%b ") + str(day.day) + day.strftime(", %Y")
    # The withdraw form says the minimum, the fee and how much may be taken out.
    withdraw = page[page.index('id="balance-brl-withdraw"') :]
    assert "R$50.00" in withdraw and "R$3.67 per withdrawal" in withdraw
    assert 'name="amount"' in withdraw


def test_amounts_and_dates_are_in_the_readers_language(client):
    user = released_party(language="pt-br")
    pending = sell(user, days_ago=2)
    day = balances.release_day(pending.paid_at, GUARANTEE, "BRL")
    client.force_login(user)

    page = text(client.get(URL))

    assert "R$\xa089,60" in page
    assert format_day(day, locale="pt-br") in page
    assert " de " in format_day(day, locale="pt-br")


def test_every_release_day_ahead_is_listed_soonest_first(client):
    user = party()
    sales = [sell(user, days_ago=days) for days in (1, 5, 3)]
    client.force_login(user)

    page = text(client.get(URL))

    days = sorted(balances.release_day(s.paid_at, GUARANTEE, "BRL") for s in sales)
    positions = [page.index(f"becomes available on {format_day(d)}") for d in days]
    assert positions == sorted(positions)
    assert "Nothing pending" not in page


def test_a_negative_balance_is_explained_and_offers_no_form(client):
    user = party()
    sale = sell(user, days_ago=40)
    paid_withdrawal(user, amount_minor=80_00)
    # Refunded after most of its share was paid out: the balance is below zero.
    sale_refund(sale=sale, actor=user)
    assert balances.balance_of(user.pk, "BRL").total_minor == SHARE - 80_00 - SHARE
    client.force_login(user)

    response = client.get(URL)

    page = text(response)
    assert "Your balance is negative: withdrawals resume when your earnings cover it." in page
    assert response.context["panels"][0].form is None
    assert 'name="amount"' not in page


def test_without_a_payout_account_the_page_links_to_adding_one(client):
    user = party(account=False)
    sell(user, days_ago=40)
    client.force_login(user)

    page = text(client.get(URL))

    assert "Add a payout account" in page
    assert f'href="{reverse("accounts:payout_account")}"' in page
    assert 'name="amount"' not in page
    assert amount_step(client, "60.00").status_code == 302  # no form to post to
    assert written()[0] == 0


def test_no_second_factor_gets_the_notice_but_may_withdraw(client):
    user = released_party()
    client.force_login(user)

    page = text(client.get(URL))

    assert "Turn on two-factor authentication before your first withdrawal" in page
    assert f'href="{reverse("mfa_index")}"' in page
    assert 'name="amount"' in page
    TOTP.activate(user, TOTP_SECRET)
    assert "Turn on two-factor" not in text(client.get(URL))


def test_each_currency_has_its_card_and_its_own_form(client):
    user = released_party()
    PayoutAccountFactory(user=user, eur=True)
    sell(user, days_ago=40, price=100_00, currency="EUR")
    sell(user, days_ago=40, price=100_00, currency="USD")
    client.force_login(user)

    response = client.get(URL)

    assert [p.currency for p in response.context["panels"]] == ["BRL", "EUR", "USD"]
    page = text(response)
    for currency in ("brl", "eur"):
        assert page.count(f'id="id_{currency}_amount"') == 1
        assert page.count(f'id="field-{currency}-amount"') == 1
    assert "€89.60" in page
    # No payout account kind takes USD yet: nothing to add, nothing to withdraw.
    usd = page[page.index('id="balance-usd-withdraw"') :]
    assert "Withdrawals in USD are not available yet." in usd[:600]
    assert "Add a payout account" not in usd

    refused = amount_step(client, "5.00", currency="EUR")

    brl, eur, usd = refused.context["panels"]
    assert not brl.form.is_bound and usd.form is None
    assert eur.form.errors["amount"] == ["The smallest withdrawal is €20.00."]
    assert amount_step(client, "60.00", currency="USD").status_code == 302
    confirm = amount_step(client, "20.00", currency="EUR")
    assert "€19.00" in text(confirm)  # you receive: 20.00 - 1.00
    assert confirm_step(client, 2000, currency="EUR", password=PASSWORD).status_code == 302
    assert Withdrawal.objects.get().currency == "EUR"


# ----------------------------------------------------------------------- withdraw flow


def test_withdraw_with_the_password(client):
    user = released_party()
    client.force_login(user)

    confirm = amount_step(client, "60.00")

    assert confirm.status_code == 200
    assert written()[0] == 0  # nothing yet: the amount is only shown back
    page = text(confirm)
    assert "Confirm your withdrawal" in page
    for figure, value in (("amount", "R$60.00"), ("fee", "R$3.67"), ("net", "R$56.33")):
        assert value in page[page.index(f'id="confirm-{figure}"') :][:80]
    assert user.payout_accounts.get().display in page
    assert 'name="code"' not in page
    assert 'value="6000"' in page  # the hidden amount, in minor units

    done = confirm_step(client, 6000, password=PASSWORD)

    assert done.status_code == 302
    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.party, withdrawal.amount_minor, withdrawal.fee_minor) == (user, 6000, 367)
    assert withdrawal.status == Withdrawal.Status.IN_REVIEW  # the first to this account
    page = text(client.get(done.url))
    assert "Withdrawal of R$60.00 requested" in page
    row = page[page.index(f'id="withdrawal-{withdrawal.pk}"') :]
    assert "In review" in row[:1500] and "R$56.33" in row[:1500]
    view = balances.balance_of(user.pk, "BRL")
    assert (view.available_minor, view.in_withdrawal_minor) == (SHARE - 6000, 6000)


def test_amounts_typed_as_the_reader_writes_them(client):
    client.force_login(released_party(language="pt-br"))

    confirm = amount_step(client, "60,50")

    assert confirm.status_code == 200
    assert 'value="6050"' in text(confirm)


def test_a_wrong_password_is_refused(client):
    client.force_login(released_party())

    response = confirm_step(client, 6000, password="not-my-password")

    assert response.status_code == 200
    assert "Your password is not correct." in text(response)
    assert written()[0] == 0


def test_with_an_authenticator_app_the_code_is_asked_too(client):
    user = released_party()
    TOTP.activate(user, TOTP_SECRET)
    client.force_login(user)
    before = written()

    confirm = amount_step(client, "60.00")
    assert 'name="code"' in text(confirm)
    wrong = "000000" if totp_now() != "000000" else "111111"
    refused = confirm_step(client, 6000, password=PASSWORD, code=wrong)
    missing = confirm_step(client, 6000, password=PASSWORD)

    assert refused.status_code == missing.status_code == 200
    assert "The code is not correct." in text(refused)
    assert written() == before

    accepted = confirm_step(client, 6000, password=PASSWORD, code=totp_now())

    assert accepted.status_code == 302
    assert Withdrawal.objects.get().amount_minor == 6000


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("", "This field is required."),
        ("abc", "Enter an amount such as"),
        ("-10.00", "Enter an amount above zero."),
        ("0", "Enter an amount above zero."),
        ("60\x00", "Enter an amount such as"),
        ("9" * 10_000, "Enter an amount such as"),
        ("60.001", "decimal places"),
        ("89.61", "You can withdraw up to R$89.60."),
        ("1000000", "You can withdraw up to R$89.60."),
        ("49.99", "The smallest withdrawal is R$50.00."),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_bad_amounts_are_form_errors_and_write_nothing(client, amount, error):
    client.force_login(released_party())
    before = written()

    response = amount_step(client, amount)

    assert response.status_code == 200
    form = response.context["panels"][0].form
    assert form.errors["amount"]
    assert error in " ".join(form.errors["amount"])
    assert error in text(response) or error == "This field is required."
    assert "Confirm your withdrawal" not in text(response)
    assert written() == before


@pytest.mark.parametrize(
    "data",
    [
        {"amount_minor": "abc"},
        {"amount_minor": "-5"},
        {"amount_minor": str(10**30)},
        {"currency": "USD"},
        {"currency": "X\x00"},
        {"step": "other"},
    ],
    ids=lambda d: repr(d)[:30],
)
def test_a_tampered_confirmation_starts_again_and_writes_nothing(client, data):
    client.force_login(released_party())
    before = written()

    response = client.post(
        URL,
        {"step": "confirm", "currency": "BRL", "amount_minor": 6000, "password": PASSWORD} | data,
    )

    assert response.status_code == 302
    assert "Start the withdrawal again" in text(client.get(response.url))
    assert written() == before


def test_the_service_refusal_is_shown_on_the_confirmation(client):
    """More than can be withdrawn, sent past the first step: the service says no, no 500."""
    client.force_login(released_party())
    before = written()

    response = confirm_step(client, SHARE + 1, password=PASSWORD)

    assert response.status_code == 200
    assert "You can withdraw up to R$89.60." in text(response)
    assert written() == before


def test_a_held_payout_account_is_said_before_and_refused_at_confirmation(client):
    user = party(held_until=timezone.now() + timedelta(hours=20))
    sell(user, days_ago=40)
    client.force_login(user)
    before = written()

    assert "Changed recently: withdrawals held until" in text(client.get(URL))
    response = confirm_step(client, 6000, password=PASSWORD)

    assert response.status_code == 200
    assert "withdrawals are held until" in text(response)
    assert written() == before


# -------------------------------------------------------------------------------- cancel


def test_a_requested_withdrawal_can_be_canceled(client):
    user = released_party(price=200_00)
    paid_withdrawal(user)
    withdrawal = withdrawal_request(party=user, currency="BRL", amount_minor=60_00)
    assert withdrawal.status == Withdrawal.Status.REQUESTED  # dispatched on commit, not here
    client.force_login(user)
    page = text(client.get(URL))
    cancel_url = reverse("coproduction:withdrawal_cancel", args=[withdrawal.pk])
    assert page.count(f'action="{cancel_url}"') == 1
    available = balances.balance_of(user.pk, "BRL").available_minor

    response = client.post(cancel_url, {"page": "1"})

    assert response.status_code == 302
    assert response.url == f"{URL}#withdrawals"
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELED
    assert balances.balance_of(user.pk, "BRL").available_minor == available + 60_00
    page = text(client.get(URL))
    assert "Withdrawal of R$60.00 canceled" in page
    assert f'action="{cancel_url}"' not in page


def test_a_withdrawal_in_review_offers_no_cancel_and_refuses_one(client):
    user = released_party()
    withdrawal = withdrawal_request(party=user, currency="BRL", amount_minor=60_00)
    client.force_login(user)
    cancel_url = reverse("coproduction:withdrawal_cancel", args=[withdrawal.pk])

    assert f'action="{cancel_url}"' not in text(client.get(URL))
    response = client.post(cancel_url)

    assert response.status_code == 302
    assert "This withdrawal can no longer be canceled." in text(client.get(response.url))
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.IN_REVIEW


def test_cancel_is_post_only(client):
    user = released_party()
    withdrawal = withdrawal_request(party=user, currency="BRL", amount_minor=60_00)
    client.force_login(user)

    response = client.get(reverse("coproduction:withdrawal_cancel", args=[withdrawal.pk]))

    assert response.status_code == 405


def test_failed_and_rejected_withdrawals_say_why(client):
    user = released_party(price=300_00)
    failed = withdrawal_request(party=user, currency="BRL", amount_minor=60_00)
    withdrawal_approve(withdrawal_id=failed.pk, admin=UserFactory(is_staff=True))
    withdrawal_settle(withdrawal_id=failed.pk, paid=False, failure="The account is closed.")
    client.force_login(user)

    page = text(client.get(URL))

    row = page[page.index(f'id="withdrawal-{failed.pk}"') :][:2000]
    assert "Failed" in row and "The account is closed." in row


# ------------------------------------------------------------------------------- webhook


def sent_withdrawal():
    user = released_party()
    withdrawal = withdrawal_request(party=user, currency="BRL", amount_minor=60_00)
    withdrawal_approve(withdrawal_id=withdrawal.pk, admin=UserFactory(is_staff=True))
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.SENT
    return withdrawal


def post_webhook(client, body: bytes, signature: str | None = None):
    signature = sign(body) if signature is None else signature
    return client.post(
        WEBHOOK, body, content_type="application/json", headers={SIGNATURE_HEADER: signature}
    )


def test_the_webhook_pays_a_sent_withdrawal(client):
    withdrawal = sent_withdrawal()
    body = webhook_body(
        event_id="evt_1",
        kind="payout.paid",
        external_id=withdrawal.idempotency_key,
        reference="po_1",
    )

    response = post_webhook(client, body)
    again = post_webhook(client, body)

    assert (response.status_code, response.json()) == (200, {"result": "processed"})
    assert (again.status_code, again.json()) == (200, {"result": "duplicate"})
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reference) == (Withdrawal.Status.PAID, "po_1")
    view = balances.balance_of(withdrawal.party_id, "BRL")
    assert (view.in_withdrawal_minor, view.withdrawn_minor) == (0, 60_00 - 367)
    client.force_login(withdrawal.party)
    page = text(client.get(URL))
    assert "Paid" in page[page.index(f'id="withdrawal-{withdrawal.pk}"') :][:1500]


def test_a_failed_payout_gives_the_money_back(client):
    withdrawal = sent_withdrawal()
    body = webhook_body(
        event_id="evt_f",
        kind="payout.failed",
        external_id=withdrawal.idempotency_key,
        reference="po_f",
        failure="Closed account.",
    )

    response = post_webhook(client, body)

    assert response.json() == {"result": "processed"}
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.failure) == (Withdrawal.Status.FAILED, "Closed account.")
    assert balances.balance_of(withdrawal.party_id, "BRL").available_minor == SHARE


@pytest.mark.parametrize(
    ("body", "signature", "status"),
    [
        (b'{"id": "e", "type": "payout.paid", "external_id": "k"}', "sha256=" + "0" * 64, 400),
        (b'{"id": "e", "type": "payout.paid", "external_id": "k"}', "", 400),
        (b"not json", None, 400),
        (b"[1, 2]", None, 400),
        (b"\xff\xfe", None, 400),
        (b'{"id": "e\\u0000", "type": "payout.paid", "external_id": "k"}', None, 400),
        (b'{"id": "e", "type": "payout.lost", "external_id": "k"}', None, 422),
        (b'{"id": "e", "type": "payout.paid"}', None, 422),
        (b'{"id": 5, "type": "payout.paid", "external_id": "k"}', None, 422),
    ],
    ids=[
        "bad signature",
        "no signature",
        "not json",
        "not an object",
        "not utf-8",
        "nul",
        "unknown type",
        "no external id",
        "id not text",
    ],
)
def test_the_webhook_refuses_what_it_cannot_trust_or_read(client, body, signature, status):
    withdrawal = sent_withdrawal()

    response = post_webhook(client, body, signature)

    assert response.status_code == status
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.SENT


def test_a_bad_signature_on_a_real_event_changes_nothing(client):
    withdrawal = sent_withdrawal()
    body = webhook_body(
        event_id="evt_2", kind="payout.paid", external_id=withdrawal.idempotency_key, reference="p"
    )

    response = post_webhook(client, body, sign(body + b" "))

    assert response.status_code == 400
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.SENT


def test_the_webhook_is_post_only(client):
    assert client.get(WEBHOOK).status_code == 405


def test_an_unknown_payout_is_stored_and_ignored(client):
    body = webhook_body(event_id="evt_u", kind="payout.paid", external_id="nobody", reference="p")

    response = post_webhook(client, body)

    assert (response.status_code, response.json()) == (200, {"result": "ignored"})


# ------------------------------------------------------------------------------- queries


def busy_party(rows: int):
    """A party with `rows` withdrawals (all in review) and `rows` release days ahead."""
    user = released_party(price=rows * 60_00)
    for days in range(rows):
        sell(user, days_ago=days, price=10_00)
    for _ in range(rows):
        withdrawal_request(party=user, currency="BRL", amount_minor=50_00)
    view = balances.balance_of(user.pk, "BRL")
    assert len(view.releases) == rows
    assert Withdrawal.objects.filter(party=user).count() == rows
    return user


def test_the_page_makes_the_same_queries_for_1_and_30_rows(client, django_assert_num_queries):
    few, many = busy_party(1), busy_party(30)
    client.force_login(few)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    client.force_login(many)

    with django_assert_num_queries(len(queries)):
        response = client.get(URL)

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 30
    assert len(response.context["panels"][0].balance.releases) == 30


def test_the_history_is_paged_newest_first(client):
    user = released_party(price=60 * 60_00)
    first = withdrawal_request(party=user, currency="BRL", amount_minor=50_00)
    for _ in range(50):
        withdrawal_request(party=user, currency="BRL", amount_minor=50_00)
    newest = Withdrawal.objects.filter(party=user).order_by("-requested_at", "-pk").first()
    client.force_login(user)

    one = client.get(URL)
    two = client.get(URL, {"page": 2})

    assert len(one.context["page"].object_list) == 50
    assert one.context["page"].object_list[0] == newest
    assert list(two.context["page"].object_list) == [first]
    assert "51\u201351 of 51" in text(two)  # en dash
