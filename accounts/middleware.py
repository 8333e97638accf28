"""Per-request rules about the person: a logged-in person reads in their account's language and
time zone (anyone else follows the browser: LocaleMiddleware, before this one, already chose from
the cookie or Accept-Language; both are undone after the response, so nothing that runs later in
the thread inherits someone's language or zone); staff set up a second factor before anything
else."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.locales import supported_language, user_zone
from accounts.staff_access import staff_needs_mfa


class PersonLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = supported_language(user.language)
            translation.activate(language)
            request.LANGUAGE_CODE = language
            timezone.activate(user_zone(user))
        else:
            timezone.deactivate()
        try:
            response = self.get_response(request)
            # LocaleMiddleware only sets it when missing; it would read the language after
            # the reset below.
            response.headers.setdefault("Content-Language", translation.get_language())
            return response
        finally:
            timezone.deactivate()
            translation.deactivate()


# What a staff member without a second factor may still reach: setting one up (allauth may ask
# for the password again first), the email verification it needs, and logging out.
MFA_SETUP_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "account_reauthenticate",
        "account_logout",
        "account_email",
        "account_confirm_email",
        "account_email_verification_sent",
        "set_language",
    }
)


class StaffMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not staff_needs_mfa(user):
            return None
        if request.resolver_match.url_name in MFA_SETUP_URL_NAMES:
            return None
        if getattr(request, "htmx", False):
            # A fragment of a page they may see (the setup pages' bell): nothing. Sending
            # the page to the setup would loop, the setup page loads the bell again.
            return HttpResponse(status=204)
        messages.warning(
            request,
            _("Staff accounts need two-factor authentication: set up an authenticator app first."),
        )
        return redirect("mfa_activate_totp")


class PrivateCacheMiddleware:
    """Whatever a logged-in person is answered (pages, fragments, CSV exports, errors) is theirs:
    no shared cache (proxy, CDN) may keep it and no browser may store it on disk, where the next
    person at a shared computer would find it with the back button."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Replaces whatever a view said (a "public, max-age" would be a leak).
            response.headers["Cache-Control"] = "private, no-store"
        return response
