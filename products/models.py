"""Products a producer sells, their subscription plans, and the affiliates who promote them."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.locales import end_of_day, user_zone
from config.site import absolute_url
from products.money import Currency, format_money

# An affiliate's commission is a share of the net; the producer always keeps part of it.
MAX_AFFILIATE_PERCENT = 80
AFFILIATE_PERCENT_VALIDATORS = [MinValueValidator(0), MaxValueValidator(MAX_AFFILIATE_PERCENT)]


class Product(models.Model):
    class Kind(models.TextChoices):
        ONE_TIME = "one_time", _("One-time purchase")
        SUBSCRIPTION = "subscription", _("Subscription")

    producer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("producer"),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.BRL
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.ONE_TIME)
    # One-time products have a price; subscription products are priced by their plans.
    price_minor = models.BigIntegerField(_("price (minor units)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    cocreators_may_be_affiliates = models.BooleanField(
        _("cocreators may also be affiliates"), default=False
    )
    affiliate_commission_percent = models.DecimalField(
        _("default affiliate commission (%)"),
        max_digits=5,
        decimal_places=2,
        default=30,
        validators=AFFILIATE_PERCENT_VALIDATORS,
    )
    guarantee_days = models.PositiveSmallIntegerField(
        _("guarantee period (days)"), default=7, validators=[MaxValueValidator(60)]
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                # isnull=False: in SQL a NULL price makes "price_minor > 0" unknown, which passes.
                condition=(
                    Q(kind="one_time", price_minor__isnull=False, price_minor__gt=0)
                    | Q(kind="subscription")
                ),
                name="product_one_time_has_price",
            ),
            models.CheckConstraint(
                condition=Q(affiliate_commission_percent__gte=0)
                & Q(affiliate_commission_percent__lte=MAX_AFFILIATE_PERCENT),
                name="product_affiliate_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("products:public", args=[self.pk])

    @property
    def is_subscription(self) -> bool:
        return self.kind == self.Kind.SUBSCRIPTION

    @property
    def price_display(self) -> str:
        return format_money(self.price_minor, self.currency)


class Plan(models.Model):
    class Periodicity(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")
        BIMONTHLY = "bimonthly", _("Every two months")
        QUARTERLY = "quarterly", _("Quarterly")
        SEMIANNUAL = "semiannual", _("Semiannual")
        YEARLY = "yearly", _("Yearly")

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="plans", verbose_name=_("product")
    )
    name = models.CharField(_("name"), max_length=80)
    periodicity = models.CharField(
        _("periodicity"), max_length=20, choices=Periodicity.choices, default=Periodicity.MONTHLY
    )
    price_minor = models.BigIntegerField(_("price (minor units)"))
    promo_first_price_minor = models.BigIntegerField(
        _("promotional first installment"), null=True, blank=True
    )
    installments = models.PositiveSmallIntegerField(
        _("number of installments"),
        null=True,
        blank=True,
        help_text=_("Leave empty to charge until the subscription is canceled."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["product", "price_minor", "pk"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(condition=Q(price_minor__gt=0), name="plan_price_positive"),
            models.CheckConstraint(
                condition=Q(promo_first_price_minor__isnull=True)
                | (
                    Q(promo_first_price_minor__gte=0)
                    & Q(promo_first_price_minor__lt=models.F("price_minor"))
                ),
                name="plan_promo_below_price",
            ),
            models.CheckConstraint(
                condition=Q(installments__isnull=True) | Q(installments__gte=1),
                name="plan_installments_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name}: {self.name}"

    @property
    def price_display(self) -> str:
        return format_money(self.price_minor, self.product.currency)

    @property
    def promo_display(self) -> str:
        return format_money(self.promo_first_price_minor, self.product.currency)


def new_affiliate_code() -> str:
    return secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")[:10]


class Affiliation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("affiliation status", "Pending approval")
        APPROVED = "approved", pgettext_lazy("affiliation status", "Approved")
        REFUSED = "refused", pgettext_lazy("affiliation status", "Refused")
        REVOKED = "revoked", pgettext_lazy("affiliation status", "Revoked")

    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REFUSED},
        Status.APPROVED: {Status.REVOKED},
        Status.REFUSED: {Status.PENDING},
        Status.REVOKED: {Status.PENDING},
    }

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="affiliations", verbose_name=_("product")
    )
    affiliate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="affiliations",
        verbose_name=_("affiliate"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    commission_percent = models.DecimalField(
        _("commission (%)"), max_digits=5, decimal_places=2, validators=AFFILIATE_PERCENT_VALIDATORS
    )
    code = models.CharField(_("code"), max_length=16, unique=True, default=new_affiliate_code)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "pk"]
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "affiliate"], name="affiliation_one_per_product_and_user"
            ),
            models.CheckConstraint(
                condition=Q(commission_percent__gt=0)
                & Q(commission_percent__lte=MAX_AFFILIATE_PERCENT),
                name="affiliation_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.affiliate} → {self.product}"

    @property
    def can_decide(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def can_revoke(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def link(self) -> str:
        return f"{absolute_url(self.product.get_absolute_url())}?a={self.code}"


class Sale(models.Model):
    """One charge a buyer pays: a one-time purchase (or, later, one subscription recurrence).
    The record the split and the ledger hang on; its amount never changes once created."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("sale status", "Waiting for payment")
        PAID = "paid", pgettext_lazy("sale status", "Paid")
        # Charged at the gateway, but the split could not be written: parked for an admin.
        NEEDS_ATTENTION = "needs_attention", pgettext_lazy("sale status", "Paid, needs attention")
        PARTIALLY_REFUNDED = (
            "partially_refunded",
            pgettext_lazy("sale status", "Partially refunded"),
        )
        REFUNDED = "refunded", pgettext_lazy("sale status", "Refunded")
        CHARGED_BACK = "charged_back", pgettext_lazy("sale status", "Charged back")
        # The slip or debit expired, or the recurrence's window closed, unpaid.
        EXPIRED = "expired", pgettext_lazy("sale status", "Not paid")

    TRANSITIONS = {
        Status.PENDING: {Status.PAID, Status.NEEDS_ATTENTION, Status.EXPIRED},
        # Money the gateway confirms after the date is applied (a recurrence still billable).
        Status.EXPIRED: {Status.PAID, Status.NEEDS_ATTENTION},
        Status.NEEDS_ATTENTION: {Status.PAID},
        Status.PAID: {Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.CHARGED_BACK},
        Status.PARTIALLY_REFUNDED: {
            Status.PARTIALLY_REFUNDED,
            Status.REFUNDED,
            Status.CHARGED_BACK,
        },
        Status.REFUNDED: set(),
        Status.CHARGED_BACK: set(),
    }
    COUNTED = (Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.CHARGED_BACK)
    UNPAID = (Status.PENDING, Status.EXPIRED)

    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="sales",
        verbose_name=_("product"),
        db_index=False,  # the (product, paid_at) index in Meta serves lookups by product
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name=_("buyer"),
    )
    affiliation = models.ForeignKey(
        Affiliation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("affiliation"),
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    method = models.CharField(_("method"), max_length=20)
    country = models.CharField(_("country"), max_length=2)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    # Made on the server (products.payments.keys), never typed by a person: a checkout's key
    # finds a double-submitted form's sale again; a recurrence's key is its own namespace.
    checkout_key = models.CharField(_("checkout key"), max_length=64, unique=True)
    # Reserved by refunds as they are requested (so nothing is refunded twice), returned when
    # the gateway confirms.
    refunded_minor = models.BigIntegerField(_("refunded amount (minor units)"), default=0)
    attention_error = models.TextField(_("attention error"), blank=True)
    # Set for subscription recurrences (their Recurrence row points here one-to-one).
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("subscription"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        indexes = [models.Index(fields=["product", "paid_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="sale_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0)
                & Q(refunded_minor__lte=models.F("amount_minor")),
                name="sale_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "expired"]) | Q(paid_at__isnull=False),
                name="sale_paid_has_paid_at",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "paid",
                        "needs_attention",
                        "partially_refunded",
                        "refunded",
                        "charged_back",
                        "expired",
                    ]
                ),
                name="sale_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return _("Sale #%(number)s of %(product)s") % {"number": self.pk, "product": self.product}

    @property
    def amount_display(self) -> str:
        return format_money(self.amount_minor, self.currency)

    @property
    def refundable_minor(self) -> int:
        if self.status not in (self.Status.PAID, self.Status.PARTIALLY_REFUNDED):
            return 0
        return self.amount_minor - self.refunded_minor

    @property
    def can_refund(self) -> bool:
        return self.refundable_minor > 0

    @property
    def can_pay(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def guarantee_ends_at(self):
        """The buyer may ask for a refund through the end of the guarantee's last day in the
        buyer's own zone: bought on the 3rd with 7 days, until 24:00 on the 10th there."""
        last_day = self.guarantee_last_day
        return None if last_day is None else end_of_day(last_day, user_zone(self.buyer))

    @property
    def guarantee_last_day(self):
        """The guarantee's last day, a date in the buyer's zone."""
        if self.paid_at is None:
            return None
        day = timezone.localtime(self.paid_at, user_zone(self.buyer)).date()
        return day + timedelta(days=self.product.guarantee_days)

    @property
    def in_guarantee(self) -> bool:
        ends = self.guarantee_ends_at
        return ends is not None and timezone.now() < ends

    @property
    def is_paid(self) -> bool:
        return self.status in self.COUNTED

    @property
    def needs_attention(self) -> bool:
        return self.status == self.Status.NEEDS_ATTENTION


class Refund(models.Model):
    """Money given back on a sale: a refund (buyer, producer, admin, or automatic for money
    paid after its date) or a chargeback. A refund is requested, sent to the gateway (one
    idempotency key per refund and charged card), then succeeds (reversing entries written) or
    fails (retried by beat, listed for admins). A chargeback has already happened: it succeeds
    at once."""

    class Kind(models.TextChoices):
        REFUND = "refund", pgettext_lazy("refund kind", "Refund")
        CHARGEBACK = "chargeback", pgettext_lazy("refund kind", "Chargeback")

    class Status(models.TextChoices):
        REQUESTED = "requested", pgettext_lazy("refund status", "Requested")
        SENT = "sent", pgettext_lazy("refund status", "Sent to the gateway")
        SUCCEEDED = "succeeded", pgettext_lazy("refund status", "Refunded")
        FAILED = "failed", pgettext_lazy("refund status", "Failed (will be retried)")

    TRANSITIONS = {
        Status.REQUESTED: {Status.SENT, Status.SUCCEEDED},
        Status.SENT: {Status.SUCCEEDED, Status.FAILED},
        Status.FAILED: {Status.SENT},
        Status.SUCCEEDED: set(),
    }
    OUTSTANDING = (Status.REQUESTED, Status.SENT, Status.FAILED)

    sale = models.ForeignKey(
        Sale, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("sale")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REFUND)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # Each charged card's part: [{"attempt": id, "amount_minor": n}], proportional to what it paid.
    card_parts = models.JSONField(_("card parts"), default=list, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    gateway_reference = models.CharField(_("gateway reference"), max_length=200, blank=True)
    tries = models.PositiveSmallIntegerField(_("tries"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    next_try_at = models.DateTimeField(_("next try at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        indexes = [
            models.Index(
                fields=["next_try_at"],
                condition=Q(status__in=["requested", "sent", "failed"]),
                name="refund_outstanding",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "sent", "succeeded", "failed"]),
                name="refund_status_valid",
            ),
        ]

    def __str__(self) -> str:
        # Translators: a refund or chargeback and its amount, e.g. "Refund of R$ 10.00".
        return _("%(kind)s of %(amount)s") % {
            "kind": self.get_kind_display(),
            "amount": format_money(self.amount_minor, self.sale.currency),
        }

    @property
    def can_retry(self) -> bool:
        return self.status == self.Status.FAILED


# Payment records live beside Sale (products.payments); importing them registers the models.
from products.payments.models import (  # noqa: E402
    PaymentAttempt,
    SimulatedGatewayCharge,
    StateEvent,
    WebhookEvent,
)

__all__ = [
    "Affiliation",
    "PaymentAttempt",
    "Plan",
    "Product",
    "Refund",
    "Sale",
    "SimulatedGatewayCharge",
    "StateEvent",
    "WebhookEvent",
]
