"""Staff need a second factor, and the Django admin is reached only through the site's login
(allauth: its rate limits and its two-factor step). config/urls.py wires these into admin.site."""

from allauth.account.decorators import secure_admin_login
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def staff_needs_mfa(user) -> bool:
    """Staff (and superusers) may do nothing but set up an authenticator app until they have one.
    Recovery codes alone do not count: they come with the app."""
    return (
        user.is_authenticated
        and (user.is_staff or user.is_superuser)
        and not is_mfa_enabled(user, [Authenticator.Type.TOTP])
    )


def admin_has_permission(request) -> bool:
    """admin.site.has_permission: an active staff member with an authenticator app."""
    user = request.user
    return user.is_active and user.is_staff and not staff_needs_mfa(user)


@secure_admin_login
def admin_login(request, extra_context=None):
    """admin.site.login: never takes a password itself (the admin's own form had no throttle and
    no second factor). allauth's secure_admin_login sends anyone logged out to the site's login
    (and back) and refuses whoever is not active staff; staff land where they were going, or on
    setting up their authenticator app first."""
    if staff_needs_mfa(request.user):
        return redirect("mfa_activate_totp")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    return redirect(next_url)
