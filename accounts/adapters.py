"""allauth adapter: emails in lower case; new users get their full name, language and time zone
from the sign-up form; allauth's emails speak the recipient's language; failed logins are
counted so that one address's guessing never locks the owner out from another."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit

from accounts.locales import recipient
from accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    # allauth counts failed logins under one key per account ("login_failed": ".../key"), so
    # 5 wrong passwords from anywhere lock the owner out everywhere. Here that action's key is
    # the account *and* the client's address (IPv6 per /64), and a second action,
    # "login_failed_account", caps one account's failures from every address at a rate no single
    # address can reach on its own. allauth rolls back both on a successful login
    # (_login_failed_rl_usage) and a password reset clears both.
    def _login_keys(self, request, **credentials) -> tuple[str, str]:
        account = self._get_login_attempts_cache_key(request, **credentials)
        return account, f"{account}:{ratelimit.get_ip(request)}"

    def pre_authenticate(self, request, **credentials) -> None:
        account_key, address_key = self._login_keys(request, **credentials)
        from_address = ratelimit.consume(
            request, app="allauth.account", action="login_failed", key=address_key
        )
        if not from_address:
            raise self.validation_error("too_many_login_attempts")
        # Only attempts the address's own limit let through count for the account.
        from_anywhere = ratelimit.consume(
            request, app="allauth.account", action="login_failed_account", key=account_key
        )
        if not from_anywhere:
            from_address.rollback()
            raise self.validation_error("too_many_login_attempts")
        self._login_failed_rl_usage = ratelimit.RateLimitUsage(
            usage=[*from_address.usage, *from_anywhere.usage]
        )

    def _delete_login_attempts_cached_email(self, request, **credentials) -> None:
        account_key, address_key = self._login_keys(request, **credentials)
        for action, key in (("login_failed", address_key), ("login_failed_account", account_key)):
            ratelimit.clear(request, app="allauth.account", action=action, key=key)

    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()

    def save_user(self, request, user, form, commit=True):
        # Set before allauth's own save, so they go in with the new row (and its first email).
        data = form.cleaned_data
        if data.get("language"):
            user.language = data["language"]
        if data.get("time_zone"):
            user.time_zone = data["time_zone"]
        return super().save_user(request, user, form, commit=commit)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Whoever's request sends it (a sign-up, an admin, a password reset from a shared
        # computer), the mail is read by the account's owner.
        user = context.get("user")
        if not isinstance(user, User):
            user = User.objects.filter(email=email.lower()).first()
        if user is None:
            return super().send_mail(template_prefix, email, context)
        with recipient(user):
            return super().send_mail(template_prefix, email, context)
