"""The co-production story and a subscription purchase in Brazilian Portuguese (issue 9): a pt-BR
producer, a pt-BR cocreator and a pt-BR buyer; every visible string is Portuguese, amounts read
R$ 1.234,56. A line of the page that is an English catalog entry whose translation differs
fails the test."""

import re
from datetime import date, timedelta
from functools import cache

import pytest
from django.utils import translation
from playwright.sync_api import expect

from config.i18n import extract
from coproduction.models import Contract
from subscriptions.models import Subscription
from tests.e2e.conftest import link_from_last_email
from tests.factories import PASSWORD, PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

NBSP = "\u00a0"


def pt(english: str, context: str | None = None) -> str:
    with translation.override("pt-br"):
        if context:
            return translation.pgettext(context, english)
        return translation.gettext(english)


@cache
def english_patterns() -> list[tuple[str, re.Pattern]]:
    """Each English catalog entry whose Portuguese differs, as a whole-line pattern."""
    patterns = []
    for message in extract():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for english in ids:
            if not english or len(re.sub(r"%\(\w+\)s|[^A-Za-z]", "", english)) < 4:
                continue
            if pt(english, message.context) == english:
                continue  # the same word in both (Status, PayPal, E-mail…)
            parts = re.split(r"%\(\w+\)s|%s", english)
            body = r".+?".join(re.escape(part) for part in parts)
            patterns.append((english, re.compile(rf"^{body}$")))
    return patterns


def untranslated(page) -> list[str]:
    """Visible lines (and parts between ·) that are English catalog entries."""
    text = page.locator("body").inner_text().replace(NBSP, " ")
    found = []
    for line in text.splitlines():
        for part in re.split(r" · |\s*\|\s*", line):
            part = part.strip()
            if not part:
                continue
            for english, pattern in english_patterns():
                if pattern.match(part):
                    found.append(f"{part!r} (catalog: {english!r})")
                    break
    return found


def assert_portuguese(page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    assert untranslated(page) == [], page.url


def portuguese_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="pt-BR", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)
    return context, context.new_page()


def login_pt(page, email: str) -> None:
    page.goto("/accounts/login/")
    assert_portuguese(page)  # anonymous: the browser's language
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/dashboard/"))


def open_actions(page, row_text: str):
    row = page.locator("tr", has_text=row_text)
    row.locator("summary").click()
    return row


def test_the_co_production_story_in_portuguese(browser, live_server, shot):
    product = ProductFactory(
        name="Curso de Dados",
        price_minor=123456,
        producer__email="paula@example.com",
        producer__full_name="Paula Produtora",
        producer__language="pt-br",
        producer__time_zone="America/Sao_Paulo",
    )
    UserFactory(
        email="caio@example.com",
        full_name="Caio Coprodutor",
        validated=True,
        language="pt-br",
        time_zone="America/Sao_Paulo",
    )
    producer_context, page = portuguese_page(browser, live_server)
    cocreator_context, co = portuguese_page(browser, live_server)

    # Invite: the seed's words, in Portuguese, and the preview in reais.
    login_pt(page, "paula@example.com")
    assert_portuguese(page)
    page.goto(f"/tools/co-productions/{product.pk}/")
    assert_portuguese(page)
    page.get_by_role("link", name="Convidar coprodutor").click()
    expect(page.get_by_role("heading", name="Convidar coprodutor")).to_be_visible()
    page.get_by_label(pt("Cocreator Email")).fill("caio@example.com")
    page.get_by_label(pt("What will be the cocreator's role?")).select_option(index=2)
    page.locator("#id_commission_percent").fill("10")
    page.get_by_label(pt("Co-creation Model")).select_option(index=1)
    page.get_by_label(pt("I have read and accept the Co-creation Terms of Use")).check()
    preview = page.locator("#share-preview")
    expect(preview).to_contain_text(f"R${NBSP}1.234,56")  # the sale the preview splits
    assert_portuguese(page)
    shot(page, "pt-20-invite-form")
    page.get_by_role("button", name=pt("Continue")).click()
    expect(page.locator("tr", has_text="caio@example.com")).to_contain_text(
        pt("Invitation pending", "contract status")
    )
    assert_portuguese(page)

    # The cocreator: "Sou coprodutor" → "Convites recebidos" → accept.
    login_pt(co, "caio@example.com")
    co.goto("/products/cocreator/")
    expect(co.get_by_role("link", name="Sou coprodutor")).to_be_visible()
    expect(co.get_by_role("link", name="Convites recebidos")).to_be_visible()
    assert_portuguese(co)
    open_actions(co, "Curso de Dados").get_by_role(
        "link", name=pt("Co-production Information")
    ).click()
    assert_portuguese(co)
    co.get_by_role("link", name=pt("Accept invite")).click()
    co.get_by_label(pt("I have read and accept the Co-production Terms of Use")).check()
    assert_portuguese(co)
    co.get_by_role("button", name=pt("Accept invite")).click()
    expect(co.get_by_role("link", name="Coproduções confirmadas")).to_be_visible()
    expect(co.locator("tr", has_text="Curso de Dados")).to_contain_text(
        pt("Active", "contract status")
    )
    assert_portuguese(co)
    shot(co, "pt-23-confirmed-coproductions")
    contract = Contract.objects.get()

    # A change; the cocreator sees "Histórico de alterações", "Aguardando aprovação".
    page.goto(f"/tools/co-productions/{product.pk}/")
    open_actions(page, "caio@example.com").get_by_role("link", name=pt("Propose change")).click()
    assert_portuguese(page)
    page.locator("#id_commission_percent").fill("15")
    page.get_by_role("button", name=pt("Propose change")).click()
    shot(page, "pt-24-change-proposed")
    expect(
        page.get_by_text(pt("Change proposed. It applies once the cocreator accepts it."))
    ).to_be_visible()
    assert_portuguese(page)
    co.goto(link_from_last_email(r"/co-productions/link/"))
    expect(co.get_by_role("heading", name="Histórico de alterações")).to_be_visible()
    expect(co.locator("#change-history")).to_contain_text("Aguardando aprovação")
    assert_portuguese(co)
    shot(co, "pt-24-change-history")
    row = co.locator("tr", has_text=pt("Commission percentage"))
    row.locator("summary").click()
    row.get_by_role("button", name=pt("Accept")).click()
    expect(co.locator("tr", has_text=pt("Commission percentage"))).to_contain_text(
        pt("Accepted", "change request status")
    )
    assert_portuguese(co)

    # The cocreator asks to end it: "Solicitar encerramento da coprodução".
    co.goto("/products/cocreator/?tab=confirmed")
    open_actions(co, "Curso de Dados").get_by_role(
        "link", name="Solicitar encerramento da coprodução"
    ).click()
    assert_portuguese(co)
    co.locator("main form button[type=submit]").click()
    expect(co.get_by_role("heading", name="Histórico de alterações")).to_be_visible()
    assert_portuguese(co)
    page.goto(f"/co-productions/{contract.pk}/history/")
    assert_portuguese(page)
    shot(page, "pt-25-history-producer")
    producer_context.close()
    cocreator_context.close()


def test_a_subscription_purchase_in_portuguese(browser, live_server, shot):
    plan = PlanFactory(
        name="Mensal",
        price_minor=123456,
        product__name="Clube de Crescimento",
        product__producer__language="pt-br",
    )
    UserFactory(email="bruno@example.com", language="pt-br", time_zone="America/Sao_Paulo")
    context, page = portuguese_page(browser, live_server)

    page.goto(f"/p/{plan.product.pk}/")
    assert_portuguese(page)  # the public page follows the browser
    expect(page.locator("main")).to_contain_text(f"R${NBSP}1.234,56")
    login_pt(page, "bruno@example.com")
    page.goto(f"/p/{plan.product.pk}/")
    page.get_by_role("link", name=pt("Subscribe")).click()
    page.get_by_label(pt("Country")).select_option("BR")
    page.wait_for_load_state("networkidle")
    page.get_by_label(pt("Credit card")).check()
    page.get_by_label(pt("Card number"), exact=True).fill("4242 4242 4242 4242")
    assert_portuguese(page)
    shot(page, "pt-30-subscribe")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".details")).to_contain_text(pt("Active", "subscription status"))
    expect(page.locator("main")).to_contain_text(f"R${NBSP}1.234,56")
    assert_portuguese(page)
    shot(page, "pt-31-subscription")
    subscription = Subscription.objects.get()
    assert subscription.time_zone == "America/Sao_Paulo"
    assert subscription.anchor_date <= date.today() + timedelta(days=1)
    page.goto("/subscriptions/")
    assert_portuguese(page)
    context.close()


class _FakePage:
    def __init__(self, text):
        self.text = text

    def locator(self, _selector):
        return self

    def inner_text(self):
        return self.text


def test_the_check_finds_english_left_on_a_page():
    page = _FakePage("Convidar coprodutor\nChange History\nR$ 1.234,56 · Pending approval")

    found = untranslated(page)

    assert len(found) == 2
    assert "Change History" in found[0] and "Pending approval" in found[1]
