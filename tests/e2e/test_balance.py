"""Browser story for money out (issue 12): a cocreator whose share of a sale has been released
adds a Pix key, sees the release timeline and the available amount on the Balance page,
withdraws (amount, then the password), an admin approves it in the payouts queue, the payout
simulator's signed webhook confirms it (Celery runs eagerly in the live server), and the
Balance page shows it paid and withdrawn."""

import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.utils import timezone
from playwright.sync_api import expect

from coproduction import balances
from coproduction.models import Withdrawal
from coproduction.services.contracts import contract_accept, contract_invite
from products.money import format_money
from products.services.sales import sale_pay, sale_start
from tests.e2e.conftest import login
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    ProductFactory,
    UserFactory,
    checkout_token,
)

pytestmark = pytest.mark.django_db(transaction=True)

GUARANTEE = 7


def money(amount_minor: int) -> str:
    return format_money(amount_minor, "BRL", locale="en")


def buy(product):
    buyer = UserFactory()
    sale = sale_start(
        product=product,
        buyer=buyer,
        method="card",
        country="BR",
        affiliate_code=None,
        checkout_token=checkout_token(buyer, uuid.uuid4().hex),
    )
    return sale_pay(sale=sale, token="4242424242424242")


def cocreator_with_sales():
    """Caio holds 10 % of a R$ 2,000.00 course since 45 days ago: the sale paid 40 days ago is
    released (guarantee 7 days + 1 + 30 days of holding), those paid 3 days ago and today are
    pending, each released on its own day."""
    product = ProductFactory(
        name="Course",
        price_minor=2000_00,
        guarantee_days=GUARANTEE,
        producer__email="paula@example.com",
    )
    caio = UserFactory(email="caio@example.com", full_name="Caio Souza", validated=True)
    with time_machine.travel(timezone.now() - timedelta(days=45), tick=False):
        contract = contract_invite(
            product=product,
            actor=product.producer,
            cocreator_email=caio.email,
            role="expert",
            coproduction_model="revenue_share",
            automatic_sales_recovery=False,
            terms_accepted=True,
            end_date=None,
            sales_scope="all",
            all_affiliates=True,
            affiliates=[],
            commission_percent=Decimal("10"),
            affiliate_commission_percent=None,
        )
        contract_accept(contract=contract, actor=caio, terms_accepted=True)
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        buy(product)
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        buy(product)
    pending = buy(product)
    return caio, pending


def code_now() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))


def test_a_cocreator_withdraws_and_the_payout_is_confirmed(page, browser, live_server, shot):
    caio, pending = cocreator_with_sales()
    view = balances.balance_of(caio.pk, "BRL")
    share = view.available_minor
    assert 2 * share == view.pending_minor  # one sale released, two pending
    assert share - 60_00 > 50_00  # what is left can be withdrawn too
    release = balances.release_day(pending.paid_at, GUARANTEE, "BRL")
    assert len(view.releases) == 2 and view.releases[-1].day == release
    UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)  # with TOTP

    # Chromium logs every resource, inline script or style the Content-Security-Policy blocks.
    blocked = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )

    # A Pix key in his own name, confirmed with his password.
    login(page, caio.email, PASSWORD)
    page.goto("/account/payout-account/")
    page.get_by_label("Receive withdrawals by").select_option("pix")
    page.get_by_label("Pix key type").select_option("email")
    page.get_by_label("Pix key", exact=True).fill("caio@example.com")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Save payout account").click()
    expect(page.get_by_text("Payout account added.")).to_be_visible()

    # Products > Balance: what is available, what is pending and when it is released.
    page.locator(".nav-menu summary", has_text="Products").click()
    page.get_by_role("link", name="Balance", exact=True).click()
    page.wait_for_url(re.compile(r"/balance/$"))
    expect(page.locator("#balance-brl-available")).to_contain_text(money(share))
    expect(page.locator("#balance-brl-pending")).to_contain_text(money(2 * share))
    day = f"{release:%b} {release.day}, {release.year}"
    expect(page.locator("#balance-brl-releases")).to_contain_text(
        f"{money(share)} becomes available on {day}"
    )
    expect(page.locator("#balance-mfa-notice")).to_contain_text(
        "Turn on two-factor authentication before your first withdrawal"
    )

    # Too much first, then R$ 60.00: the fee and what he receives are shown before confirming.
    withdraw = page.locator("#balance-brl-withdraw")
    withdraw.get_by_label("Amount to withdraw").fill("100000")
    withdraw.get_by_role("button", name="Continue").click()
    expect(page.locator("#balance-brl-withdraw")).to_contain_text(
        f"You can withdraw up to {money(share)}."
    )
    page.locator("#balance-brl-withdraw").get_by_label("Amount to withdraw").fill("60.00")
    page.locator("#balance-brl-withdraw").get_by_role("button", name="Continue").click()
    confirm = page.locator("#withdraw-confirm")
    expect(confirm.locator("#confirm-amount")).to_have_text("R$60.00")
    expect(confirm.locator("#confirm-fee")).to_have_text("R$3.67")
    expect(confirm.locator("#confirm-net")).to_have_text("R$56.33")
    expect(confirm.locator("#confirm-account")).to_contain_text("Pix (email)")
    shot(page, "balance-confirm")
    confirm.get_by_label("Your password").fill(PASSWORD)
    confirm.get_by_role("button", name="Confirm withdrawal").click()
    expect(page.get_by_text("Withdrawal of R$60.00 requested.")).to_be_visible()
    withdrawal = Withdrawal.objects.get()
    row = page.locator(f"#withdrawal-{withdrawal.pk}")
    expect(row).to_contain_text("In review")
    expect(row).to_contain_text("R$56.33")
    expect(page.locator("#balance-brl-in-withdrawal")).to_contain_text("R$60.00")
    expect(page.locator("#balance-brl-available")).to_contain_text(money(share - 60_00))

    # The admin approves it in the payouts queue; the simulator pays it and its signed
    # webhook settles it at once (eager Celery), before the admin's page comes back.
    admin_context = browser.new_context(base_url=live_server.url)
    admin = admin_context.new_page()
    admin.goto("/admin/")
    admin.locator("input[name=login]").fill("ops@example.com")
    admin.locator("input[name=password]").fill(PASSWORD)
    admin.get_by_role("button", name="Sign In").click()
    admin.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    admin.locator("input[name=code]").fill(code_now())
    admin.get_by_role("button", name="Sign In").click()
    expect(admin.get_by_role("heading", name="Site administration")).to_be_visible()
    admin.goto("/admin/coproduction/withdrawal/?status__exact=in_review")
    admin.locator(f"input[name=_selected_action][value='{withdrawal.pk}']").check()
    admin.locator("select[name=action]").select_option("approve_withdrawals")
    admin.get_by_role("button", name="Go").click()
    expect(admin.get_by_text("1 withdrawal approved.")).to_be_visible()
    admin_context.close()
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert withdrawal.reference.startswith("po_")

    page.reload()
    row = page.locator(f"#withdrawal-{withdrawal.pk}")
    expect(row).to_contain_text("Paid")
    expect(page.locator("#balance-brl-withdrawn")).to_contain_text("R$56.33")
    expect(page.locator("#balance-brl-in-withdrawal")).to_contain_text("R$0.00")
    expect(page.locator("#balance-brl-available")).to_contain_text(money(share - 60_00))
    shot(page, "balance-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "balance-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The month's statement counts the payout and its fee.
    page.get_by_role("link", name="Monthly statement").click()
    expect(page.locator("main")).to_contain_text("R$56.33")
    expect(page.locator("main")).to_contain_text("R$3.67")
    assert blocked == []


def test_amounts_in_the_millions_stay_whole_on_a_phone(browser, live_server, shot):
    """At 390 px each figure is one line under or beside its label: an amount in the millions
    of pesos is never cut in two (it was, in two columns of tiles: "COP 98,765,43 / 2.10")."""
    producer = UserFactory(email="paula@example.com", validated=True)
    product = ProductFactory(producer=producer, price_minor=98_765_432_10, currency="COP")
    buy(product)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 900})
    page = context.new_page()
    login(page, "paula@example.com", PASSWORD)
    page.goto("/balance/")
    figure = page.locator("#balance-cop-pending .earnings-total-net")
    expect(figure).to_be_visible()
    shot(page, "balance-phone-millions")
    lines = figure.evaluate(
        "el => Math.round(el.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(el).lineHeight || 0) || 0)"
    )
    box, card = figure.bounding_box(), page.locator("#balance-cop-pending").bounding_box()
    assert lines <= 1, f"the amount takes {lines} lines"
    assert box["x"] + box["width"] <= card["x"] + card["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    context.close()
