"""Invite cocreator and Propose change forms (the seed's labels, in its order), and Accept; the
Balance page's withdraw (amount, then confirmation) and cancel forms."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.forms import IdentityConfirmationForm
from coproduction.models import MAX_SHARE_PERCENT, Contract
from products.fields import MoneyField
from products.models import Affiliation, Product
from products.money import format_money, to_minor


def _above_limit_message() -> str:
    text = gettext("The producer keeps at least %(keep)s %%: at most %(limit)s %%.") % {
        "keep": 100 - MAX_SHARE_PERCENT,
        "limit": MAX_SHARE_PERCENT,
    }
    # Django %-formats messages with the validator's params: a bare "%" would crash.
    return text.replace("%", "%%")


def percent_field(label: str, *, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.01"),
        max_value=Decimal(MAX_SHARE_PERCENT),
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "max": MAX_SHARE_PERCENT}),
        error_messages={
            "min_value": _("The percentage must be above 0."),
            "max_value": lazy(_above_limit_message, str)(),
        },
    )


class AffiliateChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Affiliation) -> str:
        return f"{obj.affiliate.get_full_name()} ({obj.affiliate.email})"


class ContractTermsForm(forms.Form):
    """The terms an invitation sets and a change proposes."""

    duration = forms.ChoiceField(
        label=_("Contract end date"),
        choices=[
            ("date", _("Set contract end date")),
            ("eternal", _("Eternal (there is no deadline to end the contract)")),
        ],
        widget=forms.RadioSelect,
        initial="eternal",
    )
    end_date = forms.DateField(
        label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sales_scope = forms.ChoiceField(
        label=_("Receive commissions from which sales?"),
        choices=Contract.SalesScope.choices,
        widget=forms.RadioSelect,
        initial=Contract.SalesScope.ALL,
    )
    affiliate_choice = forms.ChoiceField(
        label=_("Which affiliates count?"),
        choices=[("all", _("All affiliates")), ("chosen", _("Only the affiliates I choose"))],
        widget=forms.RadioSelect,
        initial="all",
        required=False,
    )
    affiliates = AffiliateChoiceField(
        label=_("Affiliates"),
        queryset=Affiliation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    commission_percent = percent_field(_("Commission Percentage"))
    specific_affiliate_percent = forms.BooleanField(
        label=_("Would you like to set a specific commission percentage for Affiliate sales?"),
        required=False,
    )
    affiliate_commission_percent = percent_field(
        _("Commission percentage for affiliate sales"), required=False
    )

    def __init__(self, *args, product: Product, **kwargs):
        self.product = product
        super().__init__(*args, **kwargs)
        self.fields["affiliates"].queryset = product.affiliations.filter(
            status=Affiliation.Status.APPROVED
        ).select_related("affiliate")
        self.fields["commission_percent"].help_text = _(
            "Of what remains of each sale after the platform fee and the affiliate's commission."
        )

    def value(self, name: str):
        """The current value of a field: submitted data when bound, else the initial value."""
        if self.is_bound:
            if name == "affiliates":
                return self.data.getlist(self.add_prefix(name))
            return self[name].value()
        return self.initial.get(name, self.fields[name].initial)

    @property
    def show(self) -> dict[str, bool]:
        """Which conditional fields apply to the values chosen so far."""
        covers_affiliates = self.value("sales_scope") != Contract.SalesScope.DIRECT
        return {
            "end_date": self.value("duration") == "date",
            "affiliate_choice": covers_affiliates,
            "affiliates": covers_affiliates and self.value("affiliate_choice") == "chosen",
            "specific_affiliate_percent": covers_affiliates,
            "affiliate_commission_percent": covers_affiliates
            and bool(self.value("specific_affiliate_percent")),
        }

    def clean(self):
        cleaned = super().clean()
        # Fields that do not apply to the choices made are not on the screen; an error on one
        # would leave the form refused with nothing to show. Their values are dropped below.
        for name, applies in self.show.items():
            if not applies:
                self._errors.pop(name, None)
        if cleaned.get("duration") == "date":
            end_date = cleaned.get("end_date")
            if end_date is None and "end_date" not in self.errors:
                self.add_error("end_date", _("Enter the contract end date."))
            elif end_date is not None and end_date <= timezone.localdate():
                self.add_error("end_date", _("The contract end date must be after today."))
        else:
            cleaned["end_date"] = None
        if cleaned.get("sales_scope") == Contract.SalesScope.DIRECT:
            cleaned.update(
                affiliate_choice="all",
                affiliates=[],
                specific_affiliate_percent=False,
                affiliate_commission_percent=None,
            )
        if cleaned.get("affiliate_choice") != "chosen":
            cleaned["affiliates"] = []
        elif not cleaned.get("affiliates") and "affiliates" not in self.errors:
            self.add_error("affiliates", _("Choose at least one affiliate, or all affiliates."))
        if not cleaned.get("specific_affiliate_percent"):
            cleaned["affiliate_commission_percent"] = None
        elif (
            cleaned.get("affiliate_commission_percent") is None
            and "affiliate_commission_percent" not in self.errors
        ):
            self.add_error(
                "affiliate_commission_percent", _("Enter the percentage for affiliate sales.")
            )
        return cleaned

    def terms(self) -> dict:
        """Keyword arguments for the services."""
        data = self.cleaned_data
        return {
            "end_date": data["end_date"],
            "sales_scope": data["sales_scope"],
            "all_affiliates": data.get("affiliate_choice") != "chosen",
            "affiliates": list(data.get("affiliates") or []),
            "commission_percent": data["commission_percent"],
            "affiliate_commission_percent": data.get("affiliate_commission_percent"),
        }

    @classmethod
    def initial_for(cls, contract: Contract) -> dict:
        return {
            "duration": "date" if contract.end_date else "eternal",
            "end_date": contract.end_date,
            "sales_scope": contract.sales_scope,
            "affiliate_choice": "all" if contract.all_affiliates else "chosen",
            "affiliates": [str(a.pk) for a in contract.affiliates.all()],
            "commission_percent": contract.commission_percent,
            "specific_affiliate_percent": contract.affiliate_commission_percent is not None,
            "affiliate_commission_percent": contract.affiliate_commission_percent,
        }


class InviteForm(ContractTermsForm):
    cocreator_email = forms.EmailField(label=_("Cocreator Email"), max_length=254)
    role = forms.ChoiceField(
        label=_("What will be the cocreator's role?"),
        choices=[("", _("Choose a role")), *Contract.Role.choices],
    )
    coproduction_model = forms.ChoiceField(
        label=_("Co-creation Model"),
        choices=[("", _("Choose a model")), *Contract.CoproductionModel.choices],
    )
    automatic_sales_recovery = forms.BooleanField(
        label=_("Product with automatic sales recovery"),
        required=False,
        help_text=_(
            "The cocreator keeps earning on recurring charges of subscriptions sold while "
            "the contract was active, even after it ends."
        ),
    )
    accept_terms = forms.BooleanField(
        label=_("I have read and accept the Co-creation Terms of Use"),
        error_messages={
            "required": _("Read and accept the Co-creation Terms of Use to send the invitation.")
        },
    )

    field_order = [
        "cocreator_email",
        "role",
        "duration",
        "end_date",
        "sales_scope",
        "affiliate_choice",
        "affiliates",
        "commission_percent",
        "specific_affiliate_percent",
        "affiliate_commission_percent",
        "coproduction_model",
        "automatic_sales_recovery",
        "accept_terms",
    ]

    def clean_cocreator_email(self) -> str:
        return self.cleaned_data["cocreator_email"].strip().lower()


class ChangeForm(ContractTermsForm):
    """Propose change: the same terms, prefilled with the contract's current ones."""


class AcceptForm(forms.Form):
    accept_terms = forms.BooleanField(
        label=_("I have read and accept the Co-production Terms of Use"),
        error_messages={"required": _("Read and accept the Co-production Terms of Use to join.")},
    )


# --------------------------------------------------------------------- Balance: withdrawals

# Far above any balance, far below PostgreSQL's bigint: a tampered hidden amount is refused
# as a form error instead of reaching the database.
MAX_WITHDRAWAL_MINOR = 10**15


class WithdrawAmountForm(forms.Form):
    """A withdrawal's first step: the amount in the currency's major units, typed as the reader
    writes numbers, at least the currency's minimum and at most what can be withdrawn now. The
    service checks both again under the balance's lock; this shows them before confirming.
    One form per currency on the page: `currency` says which was sent, ids are per currency."""

    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    amount = MoneyField(
        label=_("Amount to withdraw"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={"min_value": _("Enter an amount above zero.")},
    )

    def __init__(self, *args, balance, limits: dict, **kwargs):
        kwargs.setdefault("auto_id", f"id_{balance.currency.lower()}_%s")
        super().__init__(*args, **kwargs)
        self.balance = balance
        self.limits = limits
        self.initial.setdefault("currency", balance.currency)
        self.fields["amount"].widget.attrs["placeholder"] = format_money(
            limits["minimum"], balance.currency
        )

    def clean_currency(self) -> str:
        if self.cleaned_data["currency"] != self.balance.currency:
            raise forms.ValidationError(_("Start the withdrawal again."), code="currency")
        return self.balance.currency

    def clean(self):
        cleaned = super().clean()
        amount = cleaned.get("amount")
        if amount is None or self.has_error("currency"):
            return cleaned
        currency = self.balance.currency
        amount_minor = to_minor(amount, currency)  # decimal_places already checked
        if amount_minor < self.limits["minimum"]:
            self.add_error(
                "amount",
                gettext("The smallest withdrawal is %(amount)s.")
                % {"amount": format_money(self.limits["minimum"], currency)},
            )
        elif amount_minor > self.balance.withdrawable_minor:
            self.add_error(
                "amount",
                gettext("You can withdraw up to %(amount)s.")
                % {"amount": format_money(self.balance.withdrawable_minor, currency)},
            )
        else:
            cleaned["amount_minor"] = amount_minor
        return cleaned


class WithdrawConfirmForm(IdentityConfirmationForm):
    """A withdrawal's second step: the amount chosen in the first (hidden, in minor units) and
    the owner's password, plus the authenticator code when they use one."""

    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    amount_minor = forms.IntegerField(
        widget=forms.HiddenInput, min_value=1, max_value=MAX_WITHDRAWAL_MINOR
    )

    def __init__(self, *args, user, currencies, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.currencies = frozenset(currencies)

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if currency not in self.currencies:
            raise forms.ValidationError(_("Start the withdrawal again."), code="currency")
        return currency

    @property
    def details_valid(self) -> bool:
        """Whether the hidden amount and currency came back as they were sent."""
        return not (self.has_error("currency") or self.has_error("amount_minor"))


class WithdrawalCancelForm(forms.Form):
    """Cancel a requested withdrawal; `page` brings the person back to the history page they
    were on."""

    page = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
