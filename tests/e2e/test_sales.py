"""Browser story for sales: a purchase through an affiliate link, everyone's numbers, and a
partial refund reversed everywhere (SPEC Money example: 100.00 → 10.40 / 31.36 / 5.82 / 52.42)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from coproduction.services.contracts import contract_accept, contract_invite
from products.models import Sale
from tests.e2e.conftest import login
from tests.factories import PASSWORD, AffiliationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def as_user(browser, live_server, email):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    login(page, email, PASSWORD)
    return context, page


def test_affiliate_sale_split_and_partial_refund_everywhere(page, browser, live_server, shot):
    product = ProductFactory(name="Course", price_minor=10000, producer__email="paula@example.com")
    affiliation = AffiliationFactory(
        product=product, approved=True, commission_percent=35, affiliate__email="alex@example.com"
    )
    caio = UserFactory(email="caio@example.com", validated=True)
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
    UserFactory(email="bruno@example.com")

    # The buyer arrives through the affiliate link and pays.
    login(page, "bruno@example.com", PASSWORD)
    page.goto(f"/p/{product.pk}/?a={affiliation.code}")
    page.get_by_role("link", name="Buy now").click()
    page.get_by_label("Country").select_option("BR")
    # The country change refreshes the form (htmx); let it land before typing into it.
    page.wait_for_load_state("networkidle")
    page.get_by_label("Credit card").check()
    page.get_by_label("Card number", exact=True).fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Pay R$100.00").click()
    expect(page.get_by_role("alert")).to_contain_text("declined")
    page.get_by_label("Card number", exact=True).fill("4242 4242 4242 4242")
    shot(page, "40-checkout")
    page.get_by_role("button", name="Pay R$100.00").click()
    expect(page.get_by_text("Thank you! You bought Course.")).to_be_visible()
    sale = Sale.objects.get()
    assert (sale.status, sale.affiliation_id) == ("paid", affiliation.pk)

    producer_context, producer = as_user(browser, live_server, "paula@example.com")
    producer.goto("/sales/")
    row = producer.locator(f"#sale-{sale.pk}")
    for amount in ("R$100.00", "R$10.40", "R$31.36", "R$5.82", "R$52.42"):
        expect(row).to_contain_text(amount)
    shot(producer, "41-sales-producer")
    producer.goto("/earnings/")
    expect(producer.locator("main")).to_contain_text("R$52.42")

    affiliate_context, affiliate = as_user(browser, live_server, "alex@example.com")
    affiliate.goto("/earnings/")
    expect(affiliate.locator("main")).to_contain_text("R$31.36")
    cocreator_context, cocreator = as_user(browser, live_server, "caio@example.com")
    cocreator.goto("/earnings/")
    expect(cocreator.locator("main")).to_contain_text("R$5.82")
    shot(cocreator, "42-earnings-cocreator")

    # The producer refunds half: every part gives back its proportion.
    producer.goto("/sales/")
    producer.locator(f"#sale-{sale.pk}").get_by_role("link", name="Refund").click()
    producer.get_by_label("Amount to refund").fill("150")
    producer.get_by_role("button", name="Refund").click()
    expect(producer.get_by_text("At most R$100.00 is left to refund")).to_be_visible()
    producer.get_by_label("Amount to refund").fill("50")
    producer.get_by_role("button", name="Refund").click()
    expect(producer.get_by_text("Refund done.")).to_be_visible()
    row = producer.locator(f"#sale-{sale.pk}")
    expect(row).to_contain_text("Partially refunded")
    expect(row).to_contain_text("R$26.21")  # producer's net after giving back 26.21
    shot(producer, "43-sales-after-refund")
    producer.goto("/earnings/")
    expect(producer.locator("main")).to_contain_text("R$26.21")

    affiliate.goto("/earnings/")
    expect(affiliate.locator("main")).to_contain_text("R$15.68")
    cocreator.goto("/earnings/")
    expect(cocreator.locator("main")).to_contain_text("R$2.91")
    page.goto(f"/purchases/{sale.pk}/")
    expect(page.locator(".details")).to_contain_text("Partially refunded")
    expect(page.locator(".details")).to_contain_text("R$50.00")

    for context in (producer_context, affiliate_context, cocreator_context):
        context.close()
