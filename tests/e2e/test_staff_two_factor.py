"""Browser story: a staff member without a second factor logs in, is sent to set up an
authenticator app (the code computed as the app would, with allauth's own TOTP functions),
keeps the recovery codes and reaches the admin; the next login asks for a code."""

import base64
import re
import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory


def code_for(secret: str, *, later: bool = False) -> str:
    """The app's code now (or for the next 30 s step: a code is accepted once)."""
    step = int(time.time()) // 30 + (1 if later else 0)
    return format_hotp_value(hotp_value(secret, step))


def test_staff_set_up_two_factor_and_reach_the_admin(page, shot):
    UserFactory(
        email="ops@example.com", full_name="Olga Ops", is_staff=True, authenticator_app=False
    )

    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    page.locator("input[name=login]").fill("ops@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    # Not the admin yet: staff set up a second factor first (allauth asks for the password).
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))
    expect(page.get_by_text("Staff accounts need two-factor authentication")).to_be_visible()
    shot(page, "security-00-reauthenticate-1280")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/"))
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    secret = page.locator("#authenticator_secret").input_value()
    assert base64.b32decode(secret)  # what an app would scan
    shot(page, "security-01-activate-totp-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "security-01-activate-totp-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator("input[name=code]").fill(code_for(secret))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    codes = page.locator("#recovery_codes").input_value().split()
    assert len(codes) == 10
    shot(page, "security-02-recovery-codes-1280")

    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    shot(page, "security-03-admin-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "security-03-admin-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Next time, the password alone is not enough.
    page.goto("/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()
    page.goto("/admin/")
    page.locator("input[name=login]").fill("ops@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    shot(page, "security-04-code-asked-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "security-04-code-asked-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    # The activation used this step's code; allauth accepts each code once.
    page.locator("input[name=code]").fill(codes[0])
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
