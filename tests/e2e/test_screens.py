"""Browser checks of the screens a new user walked: every table keeps its ⋮ and action columns
in view at 1280 px however long a badge is, becomes cards at phone width (390 px) with no
sideways scroll; the slip page; the checkout runs with no console error."""

import pytest
from playwright.sync_api import expect

from products.models import Sale
from products.services.sales import sale_pay
from subscriptions.models import Subscription
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.e2e.conftest import login
from tests.factories import (
    PASSWORD,
    PlanFactory,
    ProductFactory,
    SaleFactory,
    UserFactory,
)
from tests.subscriptions.factories import SubscriptionFactory, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": 1280, "phone": 390}
LONG_EMAIL = "maria-fernanda.albuquerque-de-souza.cocreator@example-long-domain.com.br"


def world():
    producer = UserFactory(
        email="paula@example.com", full_name="Paula Producer", validated=True, time_zone="UTC"
    )
    course = ProductFactory(
        producer=producer, name="Launch Masterclass for Digital Producers", price_minor=19990
    )
    club = ProductFactory(producer=producer, name="Growth Club", subscription=True)
    # A contract whose cocreator asked to end it: the termination badge is the long one.
    contract = ContractFactory(
        product=course,
        active=True,
        cocreator__email=LONG_EMAIL,
        cocreator__full_name="Maria Fernanda Albuquerque de Souza",
        affiliate_commission_percent=15,
    )
    # An earlier change the producer asked for: its short email leaves the long column name
    # "User responsible for the change" as the taller half of its cell on a phone.
    ChangeRequestFactory(contract=contract, refused=True)
    ChangeRequestFactory(contract=contract, by_cocreator=True)
    ContractFactory(product=course, cocreator__email="pending.invite@example.com")

    buyer = UserFactory(
        email="bruno.buyer@example.com",
        full_name="Bruno Buyer",
        time_zone="America/Sao_Paulo",
    )
    for _ in range(2):
        SaleFactory(product=course, buyer=buyer, paid=True)
    slip_sale = sale_pay(
        sale=SaleFactory(product=course, buyer=buyer, method="boleto", country="BR"), token=""
    )
    monthly = PlanFactory(product=club, name="Monthly", periodicity="monthly", price_minor=4990)
    yearly = PlanFactory(product=club, name="Founders yearly", periodicity="yearly")
    subscribe(monthly, buyer)
    cash = subscribe(yearly, buyer, method="boleto", token="")
    SubscriptionFactory(
        plan=monthly,
        buyer=UserFactory(email="a.very.long.subscriber.address@example-company.com.br"),
        status=Subscription.Status.CANCELED_BY_ADMIN,
        end_reason="5 consecutive unpaid recurrences",
    )
    for _ in range(3):
        subscribe(monthly)
    return {
        "course": course,
        "club": club,
        "contract": contract,
        "slip_sale": slip_sale,
        "cash": cash,
    }


ROW_ACTIONS = "td.actions summary, td.actions a, td.actions button"


# At phone width each cell shows its column's name (data-label) beside its value: a label that
# wraps onto more lines than its value has ("User responsible for the change") must make its
# cell taller, not run into the next cell. The label is a pseudo-element, so it is measured as
# a copy with its computed font, width and case.
LABELS_OUTSIDE_THEIR_CELLS = """() => {
    const bad = [];
    for (const td of document.querySelectorAll('.table-stack td[data-label]')) {
        const label = getComputedStyle(td, '::before');
        if (!td.offsetParent || label.content === 'none' || !td.dataset.label) continue;
        const copy = document.createElement('div');
        for (const name of ['font', 'letterSpacing', 'textTransform', 'lineHeight', 'width',
                            'overflowWrap', 'marginTop']) copy.style[name] = label[name];
        copy.style.position = 'absolute';
        copy.style.visibility = 'hidden';
        copy.textContent = td.dataset.label;
        document.body.appendChild(copy);
        const needed = copy.getBoundingClientRect().height + parseFloat(label.marginTop)
            + parseFloat(getComputedStyle(td).paddingTop);
        copy.remove();
        const height = td.getBoundingClientRect().height;
        if (height + 1 < needed) bad.push(`${td.dataset.label}: ${height} < ${needed}`);
    }
    return bad;
}"""


def assert_fits(page, name: str, shot, *, actions: str | None = ROW_ACTIONS) -> None:
    """No sideways scroll, and every action cell's controls are inside the viewport."""
    page.wait_for_load_state("load")
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    shot(page, name)
    assert scroll <= width, f"{name}: page scrolls sideways ({scroll} > {width})"
    overlaps = page.evaluate(LABELS_OUTSIDE_THEIR_CELLS)
    assert not overlaps, f"{name}: labels run past their cells: {overlaps}"
    if actions is None:
        return
    controls = page.locator(actions)
    count = controls.count()
    assert count, f"{name}: no actions found"
    for index in range(count):
        control = controls.nth(index)
        if not control.is_visible():
            continue
        box = control.bounding_box()
        assert box is not None, f"{name}: action {index} has no box"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (
            f"{name}: action {index} is outside the viewport: {box} (width {width})"
        )
        # Inside its table's scroll box too: a column scrolled out of a table-wrap is hidden.
        inside = control.evaluate(
            """el => {
                const wrap = el.closest('.table-wrap');
                if (!wrap) return true;
                const a = el.getBoundingClientRect(), w = wrap.getBoundingClientRect();
                return a.left >= w.left - 1 && a.right <= w.right + 1;
            }"""
        )
        assert inside, f"{name}: action {index} is scrolled out of its table"


@pytest.mark.parametrize("device", WIDTHS)
def test_tables_keep_their_actions_in_view_and_never_scroll_sideways(
    browser, live_server, shot, device
):
    w = world()
    width = WIDTHS[device]
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    page = context.new_page()

    login(page, "paula@example.com", PASSWORD)
    page.goto(f"/tools/co-productions/{w['course'].pk}/")
    expect(page.locator(f"#contract-{w['contract'].pk}")).to_contain_text("pending approval")
    assert_fits(page, f"screens-{device}-coproductions", shot)
    # The ⋮ menu opens and its items are reachable.
    page.locator(f"#contract-{w['contract'].pk} summary").click()
    item = page.locator(f"#contract-{w['contract'].pk} .dropdown-menu a").first
    expect(item).to_be_visible()
    box = item.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    page.keyboard.press("Escape")

    page.goto(f"/products/{w['club'].pk}/subscribers/")
    expect(page.locator("#subscriber-list")).to_contain_text("a.very.long.subscriber.address")
    assert_fits(page, f"screens-{device}-subscribers", shot)

    page.goto("/sales/")
    expect(page.locator("#sales-table")).to_contain_text("Launch Masterclass")
    assert_fits(page, f"screens-{device}-sales", shot, actions="a.sale-refund-link")

    page.goto(f"/co-productions/{w['contract'].pk}/history/")
    expect(page.get_by_role("columnheader", name="Cocreator response date")).to_be_attached()
    assert_fits(page, f"screens-{device}-change-history", shot)
    context.close()

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    login(page, "bruno.buyer@example.com", PASSWORD)
    page.goto("/subscriptions/")
    expect(page.locator("main table")).to_contain_text("Founders yearly · Yearly")
    expect(page.locator("main table")).not_to_contain_text("Monthly · Monthly")
    assert_fits(page, f"screens-{device}-my-subscriptions", shot)

    page.goto("/purchases/")
    assert_fits(page, f"screens-{device}-my-purchases", shot)

    page.goto(f"/purchases/{w['slip_sale'].pk}/")
    expect(page.get_by_role("link", name="See the slip")).to_be_visible()
    assert_fits(page, f"screens-{device}-purchase-slip", shot, actions=None)

    page.goto(f"/purchases/{w['slip_sale'].pk}/slip/")
    expect(page.get_by_role("heading", name="Payment slip")).to_be_visible()
    copy = page.get_by_role("button", name="Copy")
    expect(copy).to_be_visible()
    assert_fits(page, f"screens-{device}-slip", shot, actions=".copy-field button")

    page.goto(f"/subscriptions/{w['cash'].pk}/")
    expect(page.locator(".details")).to_contain_text("Waiting for the slip to be paid until")
    assert_fits(page, f"screens-{device}-subscription-slip", shot, actions=None)
    context.close()


def test_the_slip_line_is_copied_with_the_button(browser, live_server):
    w = world()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    login(page, "bruno.buyer@example.com", PASSWORD)
    page.goto(f"/purchases/{w['slip_sale'].pk}/slip/")
    line = page.locator("#slip-line").input_value()
    assert line == w["slip_sale"].attempts.get().gateway_reference
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == line
    context.close()


def test_checkout_and_subscribe_run_without_console_errors(page, live_server):
    product = ProductFactory(name="Course", price_minor=10000)
    plan = PlanFactory(product=ProductFactory(subscription=True), name="Monthly")
    UserFactory(email="bruno@example.com")
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))

    login(page, "bruno@example.com", PASSWORD)
    page.goto(f"/p/{product.pk}/checkout/")
    page.get_by_label("Country").select_option("BR")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Credit card").check()
    page.get_by_label("Card number", exact=True).fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay R$100.00").click()
    expect(page.get_by_text("Thank you! You bought Course.")).to_be_visible()

    page.goto(f"/p/{plan.product.pk}/subscribe/{plan.pk}/")
    page.get_by_label("Country").select_option("BR")
    page.wait_for_load_state("networkidle")
    # Two cards only for the credit card.
    page.get_by_label("Boleto Bancário").check()
    expect(page.locator("#two-cards")).to_be_hidden()
    page.get_by_label("PayPal").check()
    expect(page.locator("#two-cards")).to_be_hidden()
    page.get_by_label("Credit card").check()
    expect(page.locator("#two-cards")).to_be_visible()
    page.get_by_label("Card number", exact=True).fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("You subscribed to")).to_be_visible()
    assert errors == []
    assert Sale.objects.filter(status=Sale.Status.PAID).count() == 2
