"""Payments: every gateway call is recorded as an attempt before it is made."""

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Subscription(models.Model):
    """A buyer's subscription to a plan; billed on the anchor date's schedule."""

    class Status(models.TextChoices):
        INITIATED = "initiated", pgettext_lazy("subscription status", "Initiated")
        ACTIVE = "active", pgettext_lazy("subscription status", "Active")
        INACTIVE = "inactive", pgettext_lazy("subscription status", "Inactive")
        OVERDUE = "overdue", pgettext_lazy("subscription status", "Overdue")
        CANCELED_BY_CUSTOMER = (
            "canceled_by_customer",
            pgettext_lazy("subscription status", "Canceled by the customer"),
        )
        CANCELED_BY_SELLER = (
            "canceled_by_seller",
            pgettext_lazy("subscription status", "Canceled by the seller"),
        )
        CANCELED_BY_ADMIN = (
            "canceled_by_admin",
            pgettext_lazy("subscription status", "Canceled by admin"),
        )
        EXPIRED = "expired", pgettext_lazy("subscription status", "Expired")

    CANCELED = (
        Status.CANCELED_BY_CUSTOMER,
        Status.CANCELED_BY_SELLER,
        Status.CANCELED_BY_ADMIN,
    )
    BILLABLE = (Status.ACTIVE, Status.OVERDUE)
    TRANSITIONS = {
        Status.INITIATED: {Status.ACTIVE, Status.INACTIVE, *CANCELED},
        Status.ACTIVE: {Status.OVERDUE, Status.EXPIRED, *CANCELED},
        Status.OVERDUE: {Status.ACTIVE, Status.EXPIRED, *CANCELED},
        Status.INACTIVE: set(),
        Status.CANCELED_BY_CUSTOMER: set(),
        Status.CANCELED_BY_SELLER: set(),
        Status.CANCELED_BY_ADMIN: set(),
        Status.EXPIRED: set(),
    }

    product = models.ForeignKey(
        "products.Product",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("product"),
    )
    plan = models.ForeignKey(
        "products.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("buyer"),
    )
    affiliation = models.ForeignKey(
        "products.Affiliation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("affiliation"),
    )
    status = models.CharField(
        _("status"), max_length=30, choices=Status.choices, default=Status.INITIATED
    )
    method = models.CharField(_("method"), max_length=20)
    country = models.CharField(_("country"), max_length=2)
    # The simulated gateway's token for card-family methods (a real one would store a vault id).
    payment_token = models.CharField(_("payment token"), max_length=60, blank=True)
    payment_label = models.CharField(_("payment label"), max_length=60, blank=True)
    # The buyer's local date at purchase, and the zone whose dates the schedule follows (the
    # buyer's at purchase): a recurrence is due when that zone's date reaches it.
    anchor_date = models.DateField(_("anchor date"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    last_number = models.PositiveIntegerField(_("last number"), default=0)
    next_charge_date = models.DateField(_("next charge date"), null=True, blank=True)
    paid_count = models.PositiveIntegerField(_("paid count"), default=0)
    consecutive_unpaid = models.PositiveSmallIntegerField(_("consecutive unpaid"), default=0)
    checkout_key = models.CharField(_("checkout key"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            # The billing run's claim reads only subscriptions that may still be billed.
            models.Index(
                fields=["next_charge_date"],
                condition=Q(status__in=["active", "overdue"]),
                name="subscription_billable",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "initiated",
                        "active",
                        "inactive",
                        "overdue",
                        "canceled_by_customer",
                        "canceled_by_seller",
                        "canceled_by_admin",
                        "expired",
                    ]
                ),
                name="subscription_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.buyer} → {self.plan}"

    @property
    def end_reason_display(self) -> str:
        from subscriptions.reasons import reason_display

        return reason_display(self.end_reason)

    @property
    def payment_display(self) -> str:
        """How the payment method reads in the viewer's language: "Card •••• 4242" or the
        method's name. Worked out here: payment_label is stored once, in no one's language."""
        from products.payments.methods import Method

        last4 = re.search(r"(\d{4})$", self.payment_label or "")
        if last4:
            return gettext("Card •••• %(last4)s") % {"last4": last4.group(1)}
        if self.method in Method.values:
            return str(Method(self.method).label)
        return self.payment_label

    @property
    def is_canceled(self) -> bool:
        return self.status in self.CANCELED

    @property
    def can_cancel(self) -> bool:
        return self.status in (self.Status.INITIATED, *self.BILLABLE)


class SubscriptionEvent(models.Model):
    """One row per status change: who, when, from, to, why."""

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("subscription"),
    )
    from_status = models.CharField(_("from status"), max_length=30, blank=True)
    to_status = models.CharField(_("to status"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription events")

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"

    @property
    def reason_display(self) -> str:
        from subscriptions.reasons import reason_display

        return reason_display(self.reason)

    @property
    def to_label(self) -> str:
        return Subscription.Status(self.to_status).label


class Recurrence(models.Model):
    """One installment of a subscription: created once, collected, retried, paid or unpaid."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("recurrence status", "To be charged")
        COLLECTING = "collecting", pgettext_lazy("recurrence status", "Being charged")
        PENDING = "pending", pgettext_lazy("recurrence status", "Waiting for payment")
        PAID = "paid", pgettext_lazy("recurrence status", "Paid")
        # Charged, but its sale could not be recorded whole: parked for an admin.
        NEEDS_ATTENTION = (
            "needs_attention",
            pgettext_lazy("recurrence status", "Paid, needs attention"),
        )
        UNPAID = "unpaid", pgettext_lazy("recurrence status", "Unpaid")
        CANCELED = "canceled", pgettext_lazy("recurrence status", "Canceled")

    TRANSITIONS = {
        Status.SCHEDULED: {Status.COLLECTING, Status.CANCELED, Status.UNPAID},
        Status.COLLECTING: {
            Status.PAID,
            Status.NEEDS_ATTENTION,
            Status.PENDING,
            Status.SCHEDULED,
            Status.UNPAID,
            # the subscription ended while this charge was in flight (money given back)
            Status.CANCELED,
        },
        Status.PENDING: {Status.PAID, Status.NEEDS_ATTENTION, Status.UNPAID, Status.CANCELED},
        # A payment the gateway confirms late is applied while the subscription is billable.
        Status.UNPAID: {Status.PAID, Status.NEEDS_ATTENTION},
        Status.NEEDS_ATTENTION: {Status.PAID},
        Status.PAID: set(),
        Status.CANCELED: set(),
    }

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        related_name="recurrences",
        verbose_name=_("subscription"),
    )
    number = models.PositiveIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED
    )
    sale = models.OneToOneField(
        "products.Sale", on_delete=models.PROTECT, related_name="recurrence", verbose_name=_("sale")
    )
    attempts_made = models.PositiveSmallIntegerField(_("attempts made"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    window_closes_at = models.DateTimeField(_("window closes at"))
    slip_code = models.CharField(_("slip code"), max_length=80, blank=True)
    slip_expires_at = models.DateTimeField(_("slip expires at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["subscription", "number"]
        verbose_name = _("recurrence")
        verbose_name_plural = _("recurrences")
        indexes = [
            # The collector's claim reads only rows still to charge, however many are paid.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["scheduled", "collecting"]),
                name="recurrence_to_collect",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "number"], name="recurrence_once_per_number"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="recurrence_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "scheduled",
                        "collecting",
                        "pending",
                        "paid",
                        "needs_attention",
                        "unpaid",
                        "canceled",
                    ]
                ),
                name="recurrence_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Recurrence {self.number} of subscription {self.subscription_id}"

    @property
    def is_awaiting_slip(self) -> bool:
        return self.status == self.Status.PENDING and bool(self.slip_code)

    @property
    def is_retry_scheduled(self) -> bool:
        return self.status == self.Status.SCHEDULED and self.next_attempt_at is not None
