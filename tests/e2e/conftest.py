"""Browser-test harness: Debian's Chromium driven by Playwright against pytest-django's live server.

Screenshots land in ./screenshots (git-ignored) so anyone can look at the main screens.
"""

import importlib
import os
import re
import shutil
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    # Generous: a loaded 2-core CI machine renders slower than a laptop.
    expect.set_options(timeout=15_000)
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def published_terms(request):
    """Transactional tests flush the rows data migrations made; publish the Terms of Use again."""
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from coproduction.models import TermsOfUse, TermsOfUseText

    migration = importlib.import_module("coproduction.migrations.0002_terms_of_use_v1")
    texts = importlib.import_module("coproduction.migrations.0007_terms_of_use_v1_texts")
    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": migration.TERMS_V1})
    for language, (title, body) in texts.TEXTS_V1.items():
        TermsOfUseText.objects.get_or_create(
            terms=terms, language=language, defaults={"title": title, "body": body}
        )


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot():
    """shot(page, "name") saves screenshots/name.png (full page)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        from playwright.sync_api import Error as PlaywrightError

        path = SCREENSHOTS / f"{name}.png"
        # A click that submits a form may still be navigating: a screenshot taken then can hang
        # in headless Chromium (seen in CI: "fonts loaded", then a 20 s timeout) or fail
        # ("Protocol error (Page.captureScreenshot): Unable to capture screenshot", seen in CI
        # while the next page replaced the one being captured). Wait for the page to load, and
        # retry; a screenshot is a record for people, not an assertion.
        for attempt in range(3):
            try:
                page.wait_for_load_state("load")
                page.screenshot(path=str(path), full_page=attempt == 0, timeout=10_000)
                return path
            except PlaywrightError:  # TimeoutError is one too
                page.wait_for_timeout(250)
                continue
        warnings.warn(f"screenshot {name} failed three times", stacklevel=2)
        return path

    return take


def login(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/dashboard/"))


def link_from_last_email(pattern: str) -> str:
    """The path of the first link in the newest email that matches pattern (any host)."""
    assert mail.outbox, "no email was sent"
    body = mail.outbox[-1].body
    for url in re.findall(r"https?://\S+", body):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if re.search(pattern, path):
            return path
    raise AssertionError(f"no link matching {pattern!r} in:\n{body}")
