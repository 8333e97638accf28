"""The sign-up form allauth uses (ACCOUNT_FORMS["signup"]): allauth's own, with our fields
(accounts.forms.SignupForm), answering an existing email as slowly as a new one."""

from allauth.account.forms import SignupForm
from django.contrib.auth.hashers import make_password


class EvenSignupForm(SignupForm):
    def try_save(self, request):
        # A new email costs a password hash (set_password); an existing one (allauth only mails
        # its owner, ACCOUNT_PREVENT_ENUMERATION) would answer ~40x faster and tell that the
        # account exists. The same hash, thrown away, makes both take the same time.
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)
