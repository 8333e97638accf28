"""Subscribe (plan checkout) and update-payment forms."""

from django import forms

from products.forms import CheckoutForm, price_field
from subscriptions.models import Subscription


class SubscribeForm(CheckoutForm):
    """The checkout form plus an optional second card for the first installment."""

    second_card_number = forms.CharField(label="Second card number", required=False, max_length=40)
    second_card_amount = price_field("Amount on the second card", required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("second_card_number", "").strip() and not cleaned.get("second_card_amount"):
            self.add_error("second_card_amount", "Enter how much goes on the second card.")
        if self.has_error("checkout_key"):  # a hidden field: its own error would never show
            self.add_error(None, "This checkout form is incomplete. Reload the page and try again.")
        return cleaned


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "All statuses"), *Subscription.Status.choices],
    )


class UpdatePaymentForm(forms.Form):
    method = forms.ChoiceField(label="Payment method", widget=forms.RadioSelect)
    card_number = forms.CharField(label="New card number", required=False, max_length=40)

    def __init__(self, *args, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m.value, m.label) for m in methods]
