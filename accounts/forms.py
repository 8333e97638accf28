"""Forms: sign-up extra fields (allauth) and the account validation request."""

from django import forms
from django_countries.fields import CountryField

from accounts.models import AccountValidation


class SignupForm(forms.Form):
    """allauth calls signup() after creating the user (ACCOUNT_SIGNUP_FORM_CLASS)."""

    full_name = forms.CharField(label="Full name", max_length=150)

    field_order = ["full_name", "email", "password1", "password2"]

    def signup(self, request, user) -> None:
        user.full_name = self.cleaned_data["full_name"].strip()
        user.save(update_fields=["full_name"])


class ValidationForm(forms.ModelForm):
    country = CountryField(blank_label="Choose a country").formfield()

    class Meta:
        model = AccountValidation
        fields = ["legal_name", "country", "tax_document"]
        labels = {"legal_name": "Legal name", "tax_document": "Tax document"}

    def clean_legal_name(self) -> str:
        value = " ".join(self.cleaned_data["legal_name"].split())
        if len(value) < 3:
            raise forms.ValidationError("Enter your full legal name.")
        return value

    def clean_tax_document(self) -> str:
        value = self.cleaned_data["tax_document"].strip()
        if not any(ch.isalnum() for ch in value) or len(value) < 4:
            raise forms.ValidationError("Enter a valid tax document number.")
        if not all(ch.isalnum() or ch in "-./ " for ch in value):
            raise forms.ValidationError("Use only letters, digits, dots, dashes and slashes.")
        return value


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
