"""Payments: every gateway call is recorded as an attempt before it is made."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from products.models import Sale


class PaymentAttempt(models.Model):
    """One call to the gateway for a sale. Recorded (started) and committed before the call; the
    idempotency key comes from this row, so a retried call can never charge twice."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        INSUFFICIENT_FUNDS = "insufficient_funds", "Insufficient funds"
        ERROR = "error", "Gateway error"
        TIMEOUT = "timeout", "No answer"
        PENDING = "pending", "Waiting for payment"

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount_minor = models.BigIntegerField()
    method = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED)
    gateway_reference = models.CharField(max_length=80, blank=True)
    message = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sale", "number"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "number"], name="attempt_number_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="attempt_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} for sale {self.sale_id}: {self.status}"


class SimulatedGatewayCharge(models.Model):
    """The simulator's own memory (what a real gateway keeps on its side): one row per
    idempotency key, so a repeated call returns the first answer and never charges twice."""

    idempotency_key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, default="charge")
    outcome = models.CharField(max_length=30)
    reference = models.CharField(max_length=80)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.outcome}"
