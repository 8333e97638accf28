"""Forms: sign-up extra fields (allauth), the account validation request, the header's language
switcher and the account settings."""

from allauth.core import context
from django import forms
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from accounts.locales import browser_defaults, is_time_zone, time_zone_choices
from accounts.models import AccountValidation, Notification
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
