"""Payment records beside Sale: one row per gateway call (attempts), the gateway webhooks
received, the simulator's memory, and the event rows every money state machine writes.

PaymentAttempt, SimulatedGatewayCharge and WebhookEvent moved here from `subscriptions`; they
keep their tables (no data moved)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PaymentAttempt(models.Model):
    """One call to the gateway for a sale. Recorded (started) and committed before the call; the
    idempotency key comes from this row, so a retried call can never charge twice."""

    class Status(models.TextChoices):
        STARTED = "started", pgettext_lazy("payment attempt status", "Started")
        APPROVED = "approved", pgettext_lazy("payment attempt status", "Approved")
        DECLINED = "declined", pgettext_lazy("payment attempt status", "Declined")
        INSUFFICIENT_FUNDS = (
            "insufficient_funds",
            pgettext_lazy("payment attempt status", "Insufficient funds"),
        )
        ERROR = "error", pgettext_lazy("payment attempt status", "Gateway error")
        TIMEOUT = "timeout", pgettext_lazy("payment attempt status", "No answer")
        PENDING = "pending", pgettext_lazy("payment attempt status", "Waiting for payment")
        EXPIRED = "expired", pgettext_lazy("payment attempt status", "Not paid in time")
        VOIDED = "voided", pgettext_lazy("payment attempt status", "Approved, then given back")

    TRANSITIONS = {
        Status.STARTED: {
            Status.APPROVED,
            Status.DECLINED,
            Status.INSUFFICIENT_FUNDS,
            Status.ERROR,
            Status.TIMEOUT,
            Status.PENDING,
        },
        # An unknown outcome is asked again with the same key.
        Status.TIMEOUT: {Status.STARTED},
        Status.PENDING: {Status.APPROVED, Status.EXPIRED},
        # Money the gateway reports after the slip expired is never dropped.
        Status.EXPIRED: {Status.APPROVED},
        # One card of a two-card payment approved while the other failed: given back at once.
        Status.APPROVED: {Status.VOIDED},
        Status.DECLINED: set(),
        Status.INSUFFICIENT_FUNDS: set(),
        Status.ERROR: set(),
        Status.VOIDED: set(),
    }
    # Ended without taking money: the buyer may try again, with another method too.
    REFUSED = (Status.DECLINED, Status.INSUFFICIENT_FUNDS, Status.ERROR)
    # The outcome is not known yet: ask again with the same key.
    UNKNOWN = (Status.STARTED, Status.TIMEOUT)

    sale = models.ForeignKey(
        "products.Sale", on_delete=models.PROTECT, related_name="attempts", verbose_name=_("sale")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    method = models.CharField(_("method"), max_length=20)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.STARTED
    )
    gateway_reference = models.CharField(_("gateway reference"), max_length=80, blank=True)
    message = models.CharField(_("message"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        db_table = "subscriptions_paymentattempt"
        ordering = ["sale", "number"]
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        indexes = [models.Index(fields=["gateway_reference"], name="attempt_reference")]
        constraints = [
            models.UniqueConstraint(fields=["sale", "number"], name="attempt_number_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="attempt_amount_positive"),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "started",
                        "approved",
                        "declined",
                        "insufficient_funds",
                        "error",
                        "timeout",
                        "pending",
                        "expired",
                        "voided",
                    ]
                ),
                name="attempt_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return _("Attempt %(number)s for sale %(sale)s: %(status)s") % {
            "number": self.number,
            "sale": self.sale_id,
            "status": self.status,
        }


class SimulatedGatewayCharge(models.Model):
    """The simulator's own memory (what a real gateway keeps on its side): one row per
    idempotency key, so a repeated call returns the first answer and never charges twice."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, default="charge")
    outcome = models.CharField(_("outcome"), max_length=30)
    reference = models.CharField(_("reference"), max_length=80)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        db_table = "subscriptions_simulatedgatewaycharge"
        ordering = ["-created_at"]
        verbose_name = _("simulated gateway charge")
        verbose_name_plural = _("simulated gateway charges")

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.outcome}"


class WebhookEvent(models.Model):
    """Every signed gateway notification, stored whole with what it did. A replayed event id
    is answered and ignored, unless it matched nothing the first time (it came before the
    attempt was recorded): then the gateway's retry applies it."""

    class Result(models.TextChoices):
        PROCESSED = "processed", pgettext_lazy("webhook result", "Processed")
        UNMATCHED = (
            "unmatched",
            pgettext_lazy("webhook result", "No payment with this reference yet"),
        )
        ALREADY_SETTLED = (
            "already_settled",
            pgettext_lazy("webhook result", "Payment already settled"),
        )
        PAID_LATE = "paid_late", pgettext_lazy("webhook result", "Paid after its date: applied")
        REFUNDED = "refunded", pgettext_lazy("webhook result", "Paid after its date: refunded")

    event_id = models.TextField(_("event id"), unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    payload = models.JSONField(_("payload"))
    result = models.CharField(
        _("result"), max_length=20, choices=Result.choices, default=Result.PROCESSED
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        db_table = "subscriptions_webhookevent"
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class StateEvent(models.Model):
    """One row per status change of a money object (sale, recurrence, attempt, refund): who,
    when, from, to, why. Written by products.payments.states only."""

    machine = models.CharField(_("machine"), max_length=30)
    object_id = models.BigIntegerField(_("object id"))
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
        verbose_name = _("state event")
        verbose_name_plural = _("state events")
        indexes = [models.Index(fields=["machine", "object_id"], name="state_event_object")]

    def __str__(self) -> str:
        return f"{self.machine} {self.object_id}: {self.from_status or '—'} → {self.to_status}"
