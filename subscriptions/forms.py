"""Subscribe (plan checkout) and update-payment forms."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from products.forms import CheckoutForm, price_field
from products.payments.methods import Method
from subscriptions.models import Subscription
from subscriptions.services.subscribe import SWITCH_FAMILY_ADVICE


class SubscribeForm(CheckoutForm):
    """The checkout form plus an optional second card for the first installment."""

    second_card_number = forms.CharField(
        label=_("Second card number"), required=False, max_length=40
    )
    second_card_amount = price_field(_("Amount on the second card"), required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("method") != Method.CARD:
            # Only a credit card splits the first payment; the fields are hidden for any other
            # method, so what was typed there before switching is dropped, not charged.
            cleaned["second_card_number"] = ""
            cleaned["second_card_amount"] = None
            self.errors.pop("second_card_amount", None)
        elif cleaned.get("second_card_number", "").strip() and not cleaned.get(
            "second_card_amount"
        ):
            self.add_error("second_card_amount", _("Enter how much goes on the second card."))
        if self.has_error("checkout_key"):  # a hidden field: its own error would never show
            self.add_error(
                None, _("This checkout form is incomplete. Reload the page and try again.")
            )
        return cleaned


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Subscription.Status.choices],
    )


class UpdatePaymentForm(forms.Form):
    """The card (or wallet) used from now on; only methods of the subscription's family are
    offered. Every POST is parsed here: an over-long or NUL-laden card number is a form error."""

    method = forms.ChoiceField(label=_("Payment method"), widget=forms.RadioSelect)
    card_number = forms.CharField(label=_("New card number"), required=False, max_length=40)

    def __init__(self, *args, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m.value, m.label) for m in methods]

    def clean(self):
        cleaned = super().clean()
        chosen = self.data.get("method", "") if self.is_bound else ""
        if self.has_error("method") and chosen in Method.values:
            # Another family: say what to do instead of "not one of the choices".
            self.errors.pop("method")
            self.add_error("method", gettext(SWITCH_FAMILY_ADVICE))
        return cleaned
