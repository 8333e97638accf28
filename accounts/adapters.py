"""allauth adapter: emails in lower case; new users get their full name, language and time zone
from the sign-up form; allauth's emails speak the recipient's language."""

from allauth.account.adapter import DefaultAccountAdapter

from accounts.locales import recipient
from accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
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
