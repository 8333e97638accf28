"""Browser stories for the foundation: sign-up to validation, products and plans, affiliates."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import AccountValidation, User
from products.models import Affiliation, Plan, Product
from tests.e2e.conftest import link_from_last_email, login
from tests.factories import PASSWORD, AffiliationFactory, ProductFactory, UserFactory


def test_sign_up_verify_log_in_and_submit_validation(page, shot):
    page.goto("/")
    shot(page, "01-home")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Full name").fill("Nina Newcomer")
    page.get_by_label("Email").fill("nina@example.com")
    page.locator("input[name=password1]").fill("a-long-pass-2026")
    page.locator("input[name=password2]").fill("a-long-pass-2026")
    shot(page, "02-signup")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    page.goto(link_from_last_email(r"/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    user = User.objects.get(email="nina@example.com")
    assert user.full_name == "Nina Newcomer"
    assert user.emailaddress_set.get().verified

    # Log out and back in, as a person returning later would.
    page.goto("/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()
    login(page, "nina@example.com", "a-long-pass-2026")
    expect(page.get_by_text("Not submitted")).to_be_visible()
    shot(page, "03-dashboard-new-user")

    page.get_by_role("link", name="Validate my account").first.click()
    page.get_by_label("Legal name").fill("Nina Maria Newcomer")
    page.get_by_label("Country").select_option("PT")
    page.get_by_label("Tax document").fill("123456789")
    page.get_by_role("button", name="Submit for validation").click()
    expect(page.get_by_text("Thanks! Your data was sent for review.")).to_be_visible()
    expect(page.get_by_text("Pending review")).to_be_visible()
    shot(page, "04-validation-pending")
    validation = AccountValidation.objects.get(user=user)
    assert (validation.status, validation.country.code) == ("pending", "PT")


def test_unvalidated_user_is_told_to_validate_before_creating_products(page):
    UserFactory(email="pending@example.com")
    login(page, "pending@example.com", PASSWORD)
    page.goto("/products/new/")
    expect(
        page.get_by_role("heading", name="Your account needs to be validated first")
    ).to_be_visible()
    assert not Product.objects.exists()


def test_producer_creates_a_subscription_product_and_a_plan(page, shot):
    UserFactory(email="maker@example.com", validated=True)
    login(page, "maker@example.com", PASSWORD)
    page.goto("/products/")
    shot(page, "05-my-products-empty")
    page.get_by_role("link", name="New product").first.click()
    page.get_by_label("Name").fill("Yoga Club")
    page.get_by_label("Description").fill("Weekly classes, live and recorded.")
    page.get_by_label("Type").select_option("subscription")
    page.get_by_label("Currency").select_option("EUR")
    shot(page, "06-product-form")
    page.get_by_role("button", name="Create product").click()

    expect(page.get_by_role("heading", name="Plans", exact=True)).to_be_visible()
    product = Product.objects.get(name="Yoga Club")
    assert (product.kind, product.currency, product.price_minor) == ("subscription", "EUR", None)

    # A wrong promotional price is refused in place (HTMX swap), nothing saved.
    page.get_by_label("Name").fill("Monthly")
    page.get_by_label("Periodicity").select_option("monthly")
    page.get_by_label("Price per installment").fill("29.90")
    page.get_by_label("Promotional first installment").fill("35")
    page.get_by_role("button", name="Add plan").click()
    expect(
        page.get_by_text("The promotional price must be lower than the regular price.")
    ).to_be_visible()
    assert not Plan.objects.exists()

    page.get_by_label("Promotional first installment").fill("9.90")
    page.get_by_role("button", name="Add plan").click()
    expect(page.locator("#plans-panel table")).to_contain_text("€29.90")
    expect(page.locator("#plans-panel table")).to_contain_text("€9.90")
    shot(page, "07-plans")
    plan = Plan.objects.get(product=product)
    assert (plan.price_minor, plan.promo_first_price_minor) == (2990, 990)

    page.goto(f"/p/{product.pk}/")
    expect(page.get_by_role("heading", name="Yoga Club")).to_be_visible()
    shot(page, "08-public-page")


def test_one_time_product_needs_a_price(page):
    UserFactory(email="maker@example.com", validated=True)
    login(page, "maker@example.com", PASSWORD)
    page.goto("/products/new/")
    page.get_by_label("Name").fill("E-book")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("A one-time product needs a price.")).to_be_visible()
    page.get_by_label("Price").fill("-3")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("Enter a price between R$5.00 and R$50,000.00.")).to_be_visible()
    page.get_by_label("Price").fill("19.90")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("“E-book” was created.")).to_be_visible()
    assert Product.objects.get().price_minor == 1990


def test_affiliate_requests_and_producer_approves(page, browser, live_server, shot):
    product = ProductFactory(name="Course", producer__email="maker@example.com")
    UserFactory(email="promoter@example.com", validated=True)

    login(page, "promoter@example.com", PASSWORD)
    page.goto(f"/p/{product.pk}/")
    page.get_by_role("button", name="Request affiliation").click()
    expect(page.get_by_text("Your request was sent to the producer.")).to_be_visible()
    assert mail.outbox[-1].to == ["maker@example.com"]

    producer_context = browser.new_context(base_url=live_server.url)
    producer_page = producer_context.new_page()
    login(producer_page, "maker@example.com", PASSWORD)
    producer_page.goto(link_from_last_email(r"/affiliates/"))
    row = producer_page.locator("tr", has_text="promoter@example.com")
    expect(row).to_contain_text("Pending approval")
    shot(producer_page, "09-affiliates-pending")
    row.get_by_role("button", name="Approve").click()
    expect(row).to_contain_text("Approved")
    row.get_by_label(re.compile("Commission percentage")).fill("42.5")
    row.get_by_role("button", name="Save").click()
    expect(producer_page.get_by_text("Commission saved.")).to_be_visible()
    shot(producer_page, "10-affiliates-approved")
    producer_context.close()

    affiliation = Affiliation.objects.get()
    assert (affiliation.status, str(affiliation.commission_percent)) == ("approved", "42.50")
    page.goto("/affiliations/")
    expect(page.get_by_text(f"?a={affiliation.code}")).to_be_visible()
    shot(page, "11-my-affiliations")


def test_another_producer_cannot_open_my_affiliates(page):
    product = ProductFactory()
    AffiliationFactory(product=product)
    UserFactory(email="other@example.com", validated=True)
    login(page, "other@example.com", PASSWORD)
    response = page.goto(f"/products/{product.pk}/affiliates/")
    assert response.status == 404


pytestmark = pytest.mark.django_db(transaction=True)
