"""Forms: sign-up extra fields (allauth), the account validation request, the header's language
switcher, the account settings, confirming one's identity (password and authenticator code)
and payout accounts."""

from allauth.core import context
from allauth.mfa.models import Authenticator
from django import forms
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from accounts.locales import browser_defaults, is_time_zone, time_zone_choices
from accounts.models import AccountValidation, Notification, PayoutAccount
from accounts.payout_accounts import CO_BANKS, FIELDS, payout_account_clean
from accounts.tax_documents import tax_document_clean


class LanguageField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Language"))
        super().__init__(choices=settings.LANGUAGES, **kwargs)


class TimeZoneField(forms.ChoiceField):
    """A select of accounts.locales' zones; a value is accepted when is_time_zone says so."""

    default_error_messages = {"invalid_choice": _("Choose a time zone from the list.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Time zone"))
        super().__init__(choices=time_zone_choices, **kwargs)

    def valid_value(self, value) -> bool:
        return is_time_zone(value)


class SignupForm(forms.Form):
    """allauth calls signup() after creating the user (ACCOUNT_SIGNUP_FORM_CLASS); the adapter's
    save_user stores the language and time zone with the new user."""

    full_name = forms.CharField(label=_("Full name"), max_length=150)
    # Offered from the browser (Accept-Language); a client that sends none gets the same default.
    language = LanguageField(required=False)
    time_zone = TimeZoneField(
        required=False, help_text=_("Dates and times are shown to you in this time zone.")
    )

    field_order = ["full_name", "email", "password1", "password2", "language", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # allauth builds this form itself; its middleware keeps the request at hand.
        request = context.request
        self.defaults = browser_defaults(request) if request else (settings.LANGUAGE_CODE, "UTC")
        self.fields["language"].initial, self.fields["time_zone"].initial = self.defaults
        if not self.is_bound:
            # static/js/time_zone.js picks the browser's own zone when the list has it.
            self.fields["time_zone"].widget.attrs["data-browser-time-zone"] = True

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or self.defaults[0]

    def clean_time_zone(self) -> str:
        return self.cleaned_data["time_zone"] or self.defaults[1]

    def signup(self, request, user) -> None:
        user.full_name = self.cleaned_data["full_name"].strip()
        user.save(update_fields=["full_name"])


class ValidationForm(forms.ModelForm):
    country = CountryField(blank_label=_("Choose a country")).formfield()

    class Meta:
        model = AccountValidation
        fields = ["legal_name", "country", "tax_document"]
        labels = {"legal_name": _("Legal name"), "tax_document": _("Tax document")}

    def clean_legal_name(self) -> str:
        value = " ".join(self.cleaned_data["legal_name"].split())
        if len(value) < 3:
            raise forms.ValidationError(_("Enter your full legal name."))
        return value

    def clean_tax_document(self) -> str:
        value = self.cleaned_data["tax_document"].strip()
        if not any(ch.isalnum() for ch in value) or len(value) < 4:
            raise forms.ValidationError(_("Enter a valid tax document number."))
        if not all(ch.isalnum() or ch in "-./ " for ch in value):
            raise forms.ValidationError(_("Use only letters, digits, dots, dashes and slashes."))
        country = self.cleaned_data.get("country")
        if not country:
            return value  # the country's own error says what to fix first
        return tax_document_clean(country=country, number=value)


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)


class LanguageForm(forms.Form):
    """The header's language switcher: a language, and where to go back to."""

    language = LanguageField()
    next = forms.CharField(required=False)

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_next(self) -> str:
        url = self.cleaned_data["next"]
        safe = url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return url if safe else "/"


class AccountSettingsForm(forms.Form):
    language = LanguageField()
    time_zone = TimeZoneField()


class InboxFilterForm(forms.Form):
    """The inbox's filters (GET): a group of kinds, and unread only."""

    group = forms.ChoiceField(label=_("Show"), required=False)
    unread = forms.BooleanField(label=_("Unread only"), required=False)

    def __init__(self, *args, **kwargs):
        from accounts.notifications import GROUPS, group_label

        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", _("Everything"))] + [
            (group, group_label(group)) for group in GROUPS
        ]


class MarkReadForm(forms.Form):
    """Mark one notification read (`notification`), or all of them (none given)."""

    notification = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class NotificationEmailForm(forms.Form):
    """Which kinds also come by email (all of them unless turned off); the inbox has them all."""

    by_email = forms.MultipleChoiceField(
        label=_("Also send me an email for"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["by_email"]
        field.choices = Notification.Kind.choices
        if not self.is_bound:
            field.initial = [k for k in Notification.Kind.values if k not in user.email_off]

    def email_off(self) -> list[str]:
        chosen = set(self.cleaned_data["by_email"])
        return [k for k in Notification.Kind.values if k not in chosen]


class IdentityConfirmationForm(forms.Form):
    """The person at the keyboard is the account's owner: their password, and a code from their
    authenticator app when they use one (allauth.mfa's TOTP). Subclass it, or use it beside
    another form, for anything that moves money or where it goes (`user` is the owner)."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.authenticator = Authenticator.objects.filter(
            user_id=user.pk, type=Authenticator.Type.TOTP
        ).first()
        if self.authenticator is not None:
            self.fields["code"] = forms.CharField(
                label=_("Code from your authenticator app"),
                max_length=20,
                widget=forms.TextInput(
                    attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}
                ),
            )

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Your password is not correct."), code="password")
        return password

    def full_clean(self) -> None:
        super().full_clean()
        # The code last, once everything else is right: allauth accepts a code once, so a typo
        # elsewhere must not use it up.
        if "code" in self.fields and self.is_bound and not self.errors:
            code = "".join(self.cleaned_data["code"].split())
            if not (len(code) == 6 and code.isascii() and code.isdigit()) or not (
                self.authenticator.wrap().validate_code(code)
            ):
                self.add_error("code", forms.ValidationError(_("The code is not correct.")))


class PayoutAccountForm(IdentityConfirmationForm):
    """Add or replace a payout account. Every kind's fields are on the form (static/js/
    payout_account.js hides the other kinds'); accounts.payout_accounts checks the chosen
    kind's, and that the account is in the validated holder's own name and document."""

    kind = forms.ChoiceField(label=_("Receive withdrawals by"), choices=PayoutAccount.Kind)
    pix_key_type = forms.ChoiceField(
        label=_("Pix key type"),
        required=False,
        choices=[
            ("", _("Choose the key type")),
            *((value, capfirst(label)) for value, label in PayoutAccount.PixKeyType.choices),
        ],
    )
    pix_key = forms.CharField(label=_("Pix key"), required=False, max_length=100)
    iban = forms.CharField(
        label=_("IBAN"),
        required=False,
        max_length=50,
        help_text=_("Accounts in Portugal and the other SEPA countries."),
    )
    clabe = forms.CharField(
        label=_("CLABE"), required=False, max_length=30, help_text=_("18 digits.")
    )
    bank_code = forms.ChoiceField(label=_("Bank"), required=False)
    account_type = forms.ChoiceField(
        label=_("Account type"),
        required=False,
        choices=[
            ("", _("Choose the account type")),
            *((value, capfirst(label)) for value, label in PayoutAccount.AccountType.choices),
        ],
    )
    account_number = forms.CharField(label=_("Account number"), required=False, max_length=30)
    holder_name = forms.CharField(
        label=_("Account holder"),
        max_length=200,
        help_text=_("Your legal name, as validated: payouts go only to your own accounts."),
    )
    holder_document = forms.CharField(
        label=_("Holder's tax document"), max_length=40, help_text=_("Yours, as validated.")
    )

    field_order = [
        "kind",
        "pix_key_type",
        "pix_key",
        "iban",
        "clabe",
        "bank_code",
        "account_type",
        "account_number",
        "holder_name",
        "holder_document",
        "password",
        "code",
    ]
    # Which kind each field belongs to: the script shows only the chosen kind's.
    KIND_FIELDS = {
        "pix_key_type": "pix",
        "pix_key": "pix",
        "iban": "iban",
        "clabe": "clabe",
        "bank_code": "co_bank",
        "account_type": "co_bank",
        "account_number": "co_bank",
    }

    def __init__(self, *args, validation: AccountValidation, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(self.field_order)
        self.validation = validation
        # The values as stored (accounts.payout_accounts.payout_account_clean), once valid.
        self.payout_data: dict | None = None
        self.fields["bank_code"].choices = [
            ("", _("Choose your bank")),
            *sorted(CO_BANKS.items(), key=lambda item: item[1]),
        ]
        for name, kind in self.KIND_FIELDS.items():
            self.fields[name].widget.attrs["data-payout-kind"] = kind

    def clean(self):
        cleaned = super().clean()
        data = {name: cleaned.get(name, "") for name in FIELDS}
        if any(name in self.errors for name in FIELDS):
            return cleaned  # the field's own error (too long, a null character) comes first
        try:
            self.payout_data = payout_account_clean(
                user=self.user, data=data, validation=self.validation
            )
        except forms.ValidationError as error:
            self.add_error(None, error)
        return cleaned
