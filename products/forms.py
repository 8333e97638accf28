"""Product, plan and affiliation forms; prices are typed in major units, stored in minor units."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _
from django_countries.fields import Country, CountryField

from products.fields import MoneyField
from products.models import MAX_AFFILIATE_PERCENT, Affiliation, Plan, Product
from products.money import (
    Currency,
    format_money,
    price_limits,
    price_range_error,
    to_major,
    to_minor,
)
from products.payments import keys
from products.payments.methods import Method, methods_for_country


def price_field(
    label: str, *, required: bool = True, allow_zero: bool = False
) -> forms.DecimalField:
    """An amount typed in major units, above zero (or from zero): a refund, a second card's part.
    A price a producer sets has a range per currency instead: see limited_price_field."""
    return _major_units_field(
        label,
        required=required,
        min_value=Decimal("0") if allow_zero else Decimal("0.01"),
        error_messages={"min_value": _("Enter a price of at least %(limit_value)s.")},
    )


def limited_price_field(label: str, *, required: bool = True) -> forms.DecimalField:
    """A price a producer sets. Its range depends on the currency, which only the form knows
    once it is cleaned, so the form checks it (check_price_ranges); zero and negative prices
    get the same sentence as any other price out of range."""
    return _major_units_field(label, required=required)


def _major_units_field(label: str, *, required: bool, **bounds) -> forms.DecimalField:
    # 12 digits: the largest maximum (COP 40 000 000.00) and any refund fit, an absurd number not.
    # Typed as the reader writes numbers: "1.234,56" in pt-BR and es, "1,234.56" in en.
    return MoneyField(label=label, required=required, max_digits=12, decimal_places=2, **bounds)


def _price_range_text(currency: str) -> str:
    low, high = price_limits(currency)
    # Translators: a price range, e.g. "R$ 5.00 to R$ 20,000.00".
    return _("%(low)s to %(high)s") % {
        "low": format_money(low, currency),
        "high": format_money(high, currency),
    }


class MinorUnitsMixin:
    """Maps form fields in major units to model fields in minor units, with the right currency."""

    money_fields: dict[str, str] = {}

    def currency(self) -> str:
        raise NotImplementedError

    def initial_from_minor(self, instance) -> None:
        for form_field, model_field in self.money_fields.items():
            value = getattr(instance, model_field, None)
            if value is not None:
                self.initial[form_field] = to_major(value, self.currency())

    def check_price_ranges(self, values: dict[str, int | None], *, free: tuple[str, ...] = ()):
        """Add the range sentence to each price outside its currency's limits (products.money);
        the model fields named in `free` may also be 0."""
        for form_field, model_field in self.money_fields.items():
            amount = values.get(model_field)
            if amount is None or self.has_error(form_field):
                continue
            error = price_range_error(amount, self.currency(), free_allowed=model_field in free)
            if error:
                self.add_error(form_field, error)

    def minor_values(self) -> dict[str, int | None]:
        values = {}
        for form_field, model_field in self.money_fields.items():
            amount = self.cleaned_data.get(form_field)
            if amount is None:
                values[model_field] = None
                continue
            try:
                values[model_field] = to_minor(amount, self.currency())
            except ValueError as exc:
                self.add_error(form_field, str(exc))
        return values


class ProductForm(MinorUnitsMixin, forms.ModelForm):
    price = limited_price_field(_("Price"), required=False)
    money_fields = {"price": "price_minor"}

    class Meta:
        model = Product
        fields = [
            "name",
            "description",
            "kind",
            "currency",
            "price",
            "affiliate_commission_percent",
            "guarantee_days",
            "cocreators_may_be_affiliates",
            "is_active",
        ]
        # The model fields without a verbose name get their (same) English label here.
        labels = {
            "name": _("Name"),
            "description": _("Description"),
            "kind": _("Type"),
            "currency": _("Currency"),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "cocreators_may_be_affiliates": _(
                "If on, a cocreator who sells as an affiliate earns both shares."
            ),
            "affiliate_commission_percent": _(
                "Offered to new affiliates; you can change it per affiliate."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["affiliate_commission_percent"].widget.attrs.update(step="0.01")
        # The currency is chosen on the same form, so every currency's range is listed.
        ranges = " · ".join(_price_range_text(code) for code in Currency.values)
        self.fields["price"].help_text = _("Per currency: %(ranges)s.") % {"ranges": ranges}
        if self.instance.pk:
            self.initial_from_minor(self.instance)

    def currency(self) -> str:
        # Also called from __init__ (initial prices), before cleaned_data exists.
        cleaned = getattr(self, "cleaned_data", {})
        return cleaned.get("currency") or self.instance.currency

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Enter the product's name."))
        return name

    def clean(self):
        cleaned = super().clean()
        one_time = cleaned.get("kind") == Product.Kind.ONE_TIME
        if one_time and cleaned.get("price") is None and not self.has_error("price"):
            self.add_error("price", _("A one-time product needs a price."))
        if cleaned.get("currency"):
            values = self.minor_values()
            if one_time:  # a subscription's price is its plans'; this one is dropped
                self.check_price_ranges(values)
            cleaned.update(values)
        cleaned.pop("price", None)
        return cleaned


class PlanForm(MinorUnitsMixin, forms.ModelForm):
    price = limited_price_field(_("Price per installment"))
    promo_first_price = limited_price_field(_("Promotional first installment"), required=False)
    money_fields = {"price": "price_minor", "promo_first_price": "promo_first_price_minor"}

    class Meta:
        model = Plan
        fields = ["name", "periodicity", "price", "promo_first_price", "installments", "is_active"]
        labels = {"name": _("Name"), "periodicity": _("Periodicity")}

    def __init__(self, *args, product: Product, **kwargs):
        self.product = product
        super().__init__(*args, **kwargs)
        installments = self.fields["installments"]
        installments.widget.attrs.update(min=1, max=120)
        # The model field allows 0 (the database constraint refuses it): say "at least 1" here.
        installments.validators = [MinValueValidator(1), MaxValueValidator(120)]
        low = format_money(price_limits(self.currency())[0], self.currency())
        self.fields["price"].help_text = _("From %(range)s.") % {
            "range": _price_range_text(self.currency())
        }
        self.fields["promo_first_price"].help_text = _(
            "Empty: the regular price. 0: a free first installment. Otherwise from %(low)s, "
            "below the regular price."
        ) % {"low": low}
        if self.instance.pk:
            self.initial_from_minor(self.instance)

    def currency(self) -> str:
        return self.product.currency

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Give the plan a name, e.g. Monthly."))
        return name

    def clean(self):
        cleaned = super().clean()
        values = self.minor_values()
        self.check_price_ranges(values, free=("promo_first_price_minor",))
        price, promo = values.get("price_minor"), values.get("promo_first_price_minor")
        if (
            price is not None
            and promo is not None
            and promo >= price
            and not self.has_error("promo_first_price")
        ):
            self.add_error(
                "promo_first_price",
                _("The promotional price must be lower than the regular price."),
            )
        cleaned.update(values)
        cleaned.pop("price", None)
        cleaned.pop("promo_first_price", None)
        return cleaned


class AffiliationCommissionForm(forms.ModelForm):
    class Meta:
        model = Affiliation
        fields = ["commission_percent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["commission_percent"]
        field.min_value = Decimal("0.01")
        field.widget.attrs.update(step="0.01", min="0.01", max=MAX_AFFILIATE_PERCENT)
        field.validators.append(MinValueValidator(Decimal("0.01")))


class CheckoutForm(forms.Form):
    """Country first: it decides which payment methods exist (SPEC, seed 002)."""

    country = CountryField(blank_label=_("Choose your country")).formfield(label=_("Country"))
    method = forms.ChoiceField(label=_("Payment method"), widget=forms.RadioSelect)
    card_number = forms.CharField(
        label=_("Card number"),
        required=False,
        max_length=40,
        help_text=_(
            "Test cards: 4242 4242 4242 4242 approved · 4000 0000 0000 0002 declined · "
            "4000 0000 0000 9995 insufficient funds · 4000 0000 0000 0119 gateway error."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    # A signed token the server issued to this buyer (products.payments.keys), never a key.
    checkout_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=200,
        # A hidden field's error has no label to sit next to: say what to do.
        error_messages={
            "required": keys.FORM_EXPIRED,
            "max_length": keys.FORM_EXPIRED,
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        country = (self.data.get("country") if self.is_bound else None) or self.initial.get(
            "country", ""
        )
        self.fields["method"].choices = [
            (m.value, m.label) for m in methods_for_country(str(country))
        ]
        if not self.is_bound and self.initial.get("method") not in dict(
            self.fields["method"].choices
        ):
            self.initial["method"] = ""  # not offered in the newly chosen country

    def clean(self):
        cleaned = super().clean()
        self._say_method_not_offered()
        method = cleaned.get("method")
        if method == Method.CARD and not cleaned.get("card_number", "").strip():
            self.add_error("card_number", _("Enter the card number."))
        if (
            method in (Method.PAYPAL, Method.GOOGLE_PAY, Method.SAMSUNG_PAY)
            and not cleaned.get("card_number", "").strip()
        ):
            cleaned["card_number"] = "tok_approved"  # the wallet authorizes in its own window
        return cleaned

    def _say_method_not_offered(self) -> None:
        """A method that exists but not in the chosen country is named, with the country, in
        words ("Boleto Bancário is not available in Mexico."), never Django's "boleto is not one
        of the available choices"."""
        chosen = self.data.get("method", "") if self.is_bound else ""
        if not self.has_error("method") or chosen not in Method.values:
            return
        country = self.cleaned_data.get("country")
        if not country:
            return
        self.errors.pop("method")
        self.add_error(
            "method",
            _("%(method)s is not available in %(country)s. Choose another payment method.")
            % {"method": Method(chosen).label, "country": Country(code=country).name},
        )


class RefundForm(forms.Form):
    amount = price_field(_("Amount to refund"))
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
