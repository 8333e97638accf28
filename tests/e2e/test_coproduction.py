"""Browser stories for co-production, as the producer and the cocreator would live them."""

import re

import pytest
from playwright.sync_api import expect

from coproduction.models import ChangeRequest, Contract
from tests.e2e.conftest import link_from_last_email, login
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def invite(page, product, email: str, percent: str) -> None:
    page.goto("/tools/co-productions/")
    page.get_by_label("Product").select_option(label=product.name)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Invite cocreator").click()
    page.get_by_label("Cocreator Email").fill(email)
    page.get_by_label("What will be the cocreator's role?").select_option(label="Launch specialist")
    page.locator("#id_commission_percent").fill(percent)
    page.get_by_label("Co-creation Model").select_option(label="Revenue share")
    page.get_by_label("I have read and accept the Co-creation Terms of Use").check()


def open_actions(page, row_text: str):
    row = page.locator("tr", has_text=row_text)
    row.locator("summary").click()
    return row


def test_whole_contract_story(page, browser, live_server, shot):
    product = ProductFactory(
        name="Data Course",
        price_minor=10000,
        producer__email="paula@example.com",
        producer__full_name="Paula Producer",
    )
    UserFactory(email="caio@example.com", full_name="Caio Cocreator", validated=True)

    # Producer invites; the form shows the end date only for "Set contract end date" and the
    # preview follows the percentage.
    login(page, "paula@example.com", PASSWORD)
    invite(page, product, "caio@example.com", "10")
    expect(page.locator("#field-end_date")).to_have_count(0)
    page.get_by_label("Set contract end date").check()
    expect(page.locator("#field-end_date")).to_be_visible()
    page.get_by_label("Eternal (there is no deadline to end the contract)").check()
    expect(page.locator("#field-end_date")).to_have_count(0)
    page.locator("#id_commission_percent").fill("10")
    # 100.00: fee 10.40, net 89.60, this cocreator 10 % of it.
    expect(page.locator("#share-preview")).to_contain_text("R$8.96")
    shot(page, "20-invite-form")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Invitation sent to caio@example.com.")).to_be_visible()
    expect(page.locator("tr", has_text="caio@example.com")).to_contain_text("Invitation pending")
    shot(page, "21-cocreator-list")
    invitation_link = link_from_last_email(r"/co-productions/link/")

    # The cocreator follows the emailed link, reads the information and accepts.
    cocreator_context = browser.new_context(base_url=live_server.url)
    co = cocreator_context.new_page()
    login(co, "caio@example.com", PASSWORD)
    co.goto(invitation_link)
    expect(co.get_by_role("heading", name="Co-production Information")).to_be_visible()
    expect(co.locator("#information")).to_contain_text("Paula")
    expect(co.locator("#information")).to_contain_text("10 %")
    co.goto("/products/cocreator/")
    expect(co.get_by_role("link", name="Invitations received")).to_be_visible()
    open_actions(co, "Data Course").get_by_role("link", name="Co-production Information").click()
    expect(co.get_by_text("Co-production Terms of Use (version 1)")).to_be_visible()
    shot(co, "22-coproduction-information")
    co.get_by_role("link", name="Accept invite").click()
    co.get_by_role("button", name="Accept invite").click()
    expect(
        co.get_by_text("Read and accept the Co-production Terms of Use to join.")
    ).to_be_visible()
    co.get_by_label("I have read and accept the Co-production Terms of Use").check()
    co.get_by_role("button", name="Accept invite").click()
    expect(co.get_by_text("You are now a cocreator of Data Course.")).to_be_visible()
    expect(co.locator("tr", has_text="Data Course")).to_contain_text("Active")
    shot(co, "23-confirmed-coproductions")
    contract = Contract.objects.get()
    assert contract.status == "active"

    # Producer proposes a new percentage; nothing changes until the cocreator accepts.
    page.goto(f"/tools/co-productions/{product.pk}/")
    open_actions(page, "caio@example.com").get_by_role("link", name="Propose change").click()
    page.locator("#id_commission_percent").fill("15")
    page.get_by_role("button", name="Propose change").click()
    expect(page.get_by_text("Change proposed.")).to_be_visible()
    contract.refresh_from_db()
    assert str(contract.commission_percent) == "10.00"

    co.goto(link_from_last_email(r"/co-productions/link/"))
    expect(co.get_by_role("heading", name="Change History")).to_be_visible()
    row = co.locator("tr", has_text="Commission percentage")
    expect(row).to_contain_text("Pending approval")
    shot(co, "24-change-history-pending")
    row.locator("summary").click()
    row.get_by_role("button", name="Accept").click()
    expect(co.locator("tr", has_text="Commission percentage")).to_contain_text("Accepted")
    contract.refresh_from_db()
    assert str(contract.commission_percent) == "15.00"

    # Producer cancels the active contract: a termination request the cocreator approves.
    page.goto(f"/tools/co-productions/{product.pk}/")
    open_actions(page, "caio@example.com").get_by_role("link", name="Cancel contract").click()
    page.get_by_role("button", name="Request termination").click()
    expect(page.get_by_text("Termination requested.")).to_be_visible()
    contract.refresh_from_db()
    assert contract.status == "active"

    co.goto(f"/co-productions/{contract.pk}/history/")
    row = co.locator("tr", has_text="Termination")
    row.locator("summary").click()
    row.get_by_role("button", name="Accept").click()
    expect(co.locator("tr", has_text="Termination")).to_contain_text("Accepted")
    contract.refresh_from_db()
    assert contract.status == "ended"

    # Both sides see the full history.
    for viewer in (page, co):
        viewer.goto(f"/co-productions/{contract.pk}/history/")
        history = viewer.locator("#change-history")
        expect(history).to_contain_text("Ended")
        expect(history.locator("tbody tr")).to_have_count(2)
        for event in (
            "Invitation sent",
            "Invitation accepted",
            "Change requested",
            "Request accepted",
            "Termination requested",
            "Co-production ended",
        ):
            expect(history.locator(".timeline")).to_contain_text(event)
    shot(page, "25-history-producer")
    cocreator_context.close()
    assert ChangeRequest.objects.filter(status="accepted").count() == 2


def test_decline_asks_for_confirmation(page):
    product = ProductFactory(name="Yoga", producer__email="paula@example.com")
    UserFactory(email="caio@example.com", validated=True)
    login(page, "paula@example.com", PASSWORD)
    invite(page, product, "caio@example.com", "20")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Invitation sent")).to_be_visible()
    page.goto("/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()

    login(page, "caio@example.com", PASSWORD)
    page.goto("/products/cocreator/")
    open_actions(page, "Yoga").get_by_role("link", name="Decline cocreation invitation").click()
    expect(page.get_by_role("heading", name="Decline cocreation invitation")).to_be_visible()
    assert Contract.objects.get().status == "pending"  # nothing happens before confirming
    page.get_by_role("button", name="Confirm and decline").click()
    expect(page.get_by_text("You declined the invitation to Yoga.")).to_be_visible()
    assert Contract.objects.get().status == "declined"


def test_invitation_over_70_percent_is_refused_with_a_message(page, shot):
    product = ProductFactory(name="Bootcamp", producer__email="paula@example.com")
    UserFactory(email="first@example.com", validated=True)
    UserFactory(email="second@example.com", validated=True)
    login(page, "paula@example.com", PASSWORD)
    invite(page, product, "first@example.com", "40")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Invitation sent")).to_be_visible()

    invite(page, product, "second@example.com", "35")
    expect(page.locator("#share-preview")).to_contain_text("Too much")
    shot(page, "26-invite-over-70")
    page.get_by_role("button", name="Continue").click()
    form_error = page.locator("#terms-form form").get_by_role("alert")
    expect(form_error).to_contain_text(re.compile("at least 30 %"))
    assert Contract.objects.count() == 1
