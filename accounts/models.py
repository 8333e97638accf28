"""Users log in by email; an admin validates an account's identity before it may earn money."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from accounts.locales import time_zone_choices


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    # The language and time zone this person reads in: screens after login, and every email sent
    # to them whoever triggers it (accounts.locales.recipient).
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=time_zone_choices, default="UTC"
    )
    is_active = models.BooleanField(_("is active"), default=True)
    is_staff = models.BooleanField(_("is staff"), default=False)
    # Notification kinds this person does not want by email (they stay in the inbox).
    email_off = ArrayField(
        models.CharField(max_length=40), verbose_name=_("no email for"), default=list, blank=True
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email])[0]

    @property
    def is_validated(self) -> bool:
        validation = getattr(self, "validation", None)
        return validation is not None and validation.status == AccountValidation.Status.VALIDATED


class AccountValidation(models.Model):
    """Identity data a user submits; an admin validates or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        VALIDATED = "validated", _("Validated")
        REJECTED = "rejected", _("Rejected")

    # A rejected user may correct the data and submit again; a validated one may be revoked.
    TRANSITIONS = {
        Status.PENDING: {Status.VALIDATED, Status.REJECTED},
        Status.REJECTED: {Status.PENDING},
        Status.VALIDATED: {Status.REJECTED},
    }

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="validation",
        verbose_name=_("user"),
    )
    legal_name = models.CharField(_("legal name"), max_length=200)
    country = CountryField(_("country"))
    tax_document = models.CharField(
        _("tax document"),
        max_length=40,
        help_text=_("Tax identification number (CPF, CNPJ, NIF, RFC, SSN...)."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    review_note = models.TextField(
        _("review note"), blank=True, help_text=_("Shown to the user when the account is rejected.")
    )

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("account validation")
        verbose_name_plural = _("account validations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "validated", "rejected"]),
                name="accountvalidation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.get_status_display()})"

    @property
    def is_validated(self) -> bool:
        return self.status == self.Status.VALIDATED

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class AccountValidationEvent(models.Model):
    """One row per status change of a validation: who, when, from, to, why."""

    validation = models.ForeignKey(
        AccountValidation,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("validation"),
    )
    from_status = models.CharField(_("from status"), max_length=20, blank=True)
    to_status = models.CharField(_("to status"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("account validation event")
        verbose_name_plural = _("account validation events")

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class Notification(models.Model):
    """Something that asks its recipient to act, or tells them money moved: one row per event
    and person (`key` names the event, so a task that runs twice writes nothing new). The title
    is written when it is read, in the reader's language (accounts.notifications.KINDS)."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation received")
        INVITATION_CANCELED = "invitation_canceled", _("Invitation canceled")
        INVITATION_ANSWERED = "invitation_answered", _("Invitation accepted or declined")
        CHANGE_REQUESTED = "change_requested", _("Change request waiting for my answer")
        TERMINATION_REQUESTED = "termination_requested", _("Termination requested")
        REQUEST_ANSWERED = "request_answered", _("Request accepted, refused or withdrawn")
        CONTRACT_EXPIRING = "contract_expiring", _("Contract expiring in 7 days")
        CONTRACT_EXPIRED = "contract_expired", _("Contract expired")
        PAYMENT_DECLINED = "payment_declined", _("Payment declined")
        SUBSCRIPTION_OVERDUE = "subscription_overdue", _("Subscription overdue")
        SUBSCRIPTION_CANCELED = "subscription_canceled", _("Subscription canceled")
        SUBSCRIPTION_EXPIRED = "subscription_expired", _("Subscription ended")
        SLIP_ISSUED = "slip_issued", _("Payment slip issued")
        SLIP_EXPIRING = "slip_expiring", _("Payment slip expiring tomorrow")
        RECEIPT = "receipt", _("Payment received")
        RENEWAL_REMINDER = "renewal_reminder", _("Renewal reminder")
        REFUND = "refund", _("Refund")
        SALE_REFUNDED = "sale_refunded", _("Refund on my sale")
        CHARGEBACK = "chargeback", _("Chargeback on my sale")
        NEW_SUBSCRIBER = "new_subscriber", _("New subscriber")
        AFFILIATION_REQUESTED = "affiliation_requested", _("Affiliation request")
        AFFILIATION_DECIDED = "affiliation_decided", _("Affiliation decision")
        VALIDATION_DECIDED = "validation_decided", _("Account validated or rejected")
        PAYOUT = "payout", _("Withdrawal paid, failed or rejected")

    # No foreign-key constraint in the database: its check would take KEY SHARE on the
    # recipient's row, so telling someone inside a payment would wait on anything holding that
    # person's row (tests/sales/test_lock_scope.py). Deleting a user still deletes these (ORM).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    key = models.CharField(_("event"), max_length=120)
    params = models.JSONField(_("details"), default=dict, blank=True)
    path = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed = models.BooleanField(_("emailed"), default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "key"], name="notification_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"

    @property
    def title(self) -> str:
        from accounts.notifications import title

        return title(self.kind, self.params)

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


# The payout account kind that receives each currency's withdrawals: the one place that says
# so. USD has none yet, so USD balances are not offered for withdrawal.
PAYOUT_KIND_FOR_CURRENCY = {"BRL": "pix", "EUR": "iban", "MXN": "clabe", "COP": "co_bank"}


class PayoutAccount(models.Model):
    """Where a party's withdrawals in one currency go, in the holder's own name and tax
    document (accounts.payout_accounts checks and saves them). A replaced account is kept,
    inactive: withdrawals point at the account they were paid to."""

    class Kind(models.TextChoices):
        PIX = "pix", _("Pix (Brazil, BRL)")
        IBAN = "iban", _("IBAN (Portugal and SEPA, EUR)")
        CLABE = "clabe", _("CLABE (Mexico, MXN)")
        CO_BANK = "co_bank", _("Bank account (Colombia, COP)")

    class PixKeyType(models.TextChoices):
        CPF = "cpf", "CPF"
        CNPJ = "cnpj", "CNPJ"
        EMAIL = "email", _("email")
        PHONE = "phone", _("phone")
        RANDOM = "random", _("random key")

    class AccountType(models.TextChoices):
        SAVINGS = "savings", _("savings")
        CHECKING = "checking", _("checking")

    # Money was or will be paid to it: a user with payout accounts is deactivated, not deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="payout_accounts",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # Stored normalized (accounts.payout_accounts): CPF and CNPJ as digits, a phone as
    # +55 and its digits, an email in lower case, a random key as a lower-case UUID.
    pix_key_type = models.CharField(
        _("Pix key type"), max_length=10, choices=PixKeyType.choices, blank=True
    )
    pix_key = models.CharField(_("Pix key"), max_length=77, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    clabe = models.CharField(_("CLABE"), max_length=18, blank=True)
    bank_code = models.CharField(_("bank code"), max_length=10, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    account_type = models.CharField(
        _("account type"), max_length=10, choices=AccountType.choices, blank=True
    )
    account_number = models.CharField(_("account number"), max_length=20, blank=True)
    holder_name = models.CharField(_("holder name"), max_length=200)
    holder_document = models.CharField(_("holder tax document"), max_length=40)
    is_active = models.BooleanField(_("is active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)
    # Set when the account replaced another: no withdrawal is paid to it before then.
    withdrawals_held_until = models.DateTimeField(
        _("withdrawals held until"), null=True, blank=True
    )

    class Meta:
        ordering = ["user", "kind", "-created_at"]
        verbose_name = _("payout account")
        verbose_name_plural = _("payout accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(is_active=True),
                name="payoutaccount_one_active_per_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["pix", "iban", "clabe", "co_bank"]),
                name="payoutaccount_kind_valid",
            ),
            # Each kind has its own fields filled and no other kind's.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="pix",
                        pix_key_type__in=["cpf", "cnpj", "email", "phone", "random"],
                        iban="",
                        clabe="",
                        account_number="",
                    )
                    & ~models.Q(pix_key="")
                )
                | (
                    models.Q(kind="iban", pix_key="", clabe="", account_number="")
                    & ~models.Q(iban="")
                )
                | (
                    models.Q(kind="clabe", pix_key="", iban="", account_number="")
                    & ~models.Q(clabe="")
                )
                | (
                    models.Q(
                        kind="co_bank",
                        account_type__in=["savings", "checking"],
                        pix_key="",
                        iban="",
                        clabe="",
                    )
                    & ~models.Q(bank_code="")
                    & ~models.Q(account_number="")
                ),
                name="payoutaccount_fields_for_kind",
            ),
            # Only a replacement ends an account.
            models.CheckConstraint(
                condition=models.Q(is_active=True, replaced_at__isnull=True)
                | models.Q(is_active=False, replaced_at__isnull=False),
                name="payoutaccount_replaced_when_inactive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.display}"

    @property
    def currency(self) -> str:
        return next(c for c, kind in PAYOUT_KIND_FOR_CURRENCY.items() if kind == self.kind)

    @property
    def withdrawals_held(self) -> bool:
        held_until = self.withdrawals_held_until
        return held_until is not None and timezone.now() < held_until

    @property
    def display(self) -> str:
        """The account as a person recognizes it, its number masked: "Pix (email)
        j***@example.com", "IBAN PT50 **** **** 1234"."""
        from accounts.payout_accounts import account_display

        return account_display(self)

    def snapshot(self) -> dict:
        """The plain values a payout gateway needs to pay this account, as they are now."""
        values = {
            "kind": self.kind,
            "currency": self.currency,
            "holder_name": self.holder_name,
            "holder_document": self.holder_document,
        }
        fields = {
            self.Kind.PIX: ["pix_key_type", "pix_key"],
            self.Kind.IBAN: ["iban"],
            self.Kind.CLABE: ["clabe"],
            self.Kind.CO_BANK: ["bank_code", "bank_name", "account_type", "account_number"],
        }[self.Kind(self.kind)]
        return values | {name: getattr(self, name) for name in fields}


class ApiToken(models.Model):
    """A personal access token for the REST API (/api/v1/): shown once when created, stored as
    its SHA-256 (accounts.api_tokens), read-only or read-write, revocable. `prefix` (the
    token's first characters) lets its owner tell tokens apart."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "write"]), name="apitoken_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @property
    def can_revoke(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(models.Model):
    """Where a producer's or cocreator's events are posted (accounts.outgoing_webhooks),
    signed with Standard Webhooks with `secret` (whsec_…, shown once; rotating keeps the
    previous one valid until `previous_secret_expires_at`). Disabled after many consecutive
    failed deliveries."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("user"),
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = ArrayField(
        models.CharField(max_length=60), verbose_name=_("events"), default=list
    )
    secret = models.CharField(_("signing secret"), max_length=100)
    previous_secret = models.CharField(_("previous signing secret"), max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["user", "is_enabled"], name="webhookendpoint_owner")]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """One event for one owner (`msg_id` is its `webhook-id`): written once per event
    (`key`), whatever the number of tasks that tell it, with the payload every endpoint of
    the owner receives."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="webhook_messages",
        verbose_name=_("user"),
    )
    msg_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=60)
    key = models.CharField(_("event key"), max_length=200)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook message")
        verbose_name_plural = _("webhook messages")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event_type", "key"], name="webhookmessage_once_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookDelivery(models.Model):
    """One message to one endpoint: pending until the endpoint answers 2xx (succeeded) or the
    retries run out (failed); `next_attempt_at` says when the next try is due."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    message = models.ForeignKey(
        WebhookMessage,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("message"),
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "endpoint"], name="webhookdelivery_once_per_endpoint"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "succeeded", "failed"]),
                name="webhookdelivery_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhookdelivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.message} → {self.endpoint}"

    @property
    def can_resend(self) -> bool:
        return self.status != self.Status.PENDING or self.attempts > 0


class WebhookAttempt(models.Model):
    """One POST of a delivery, as the log shows it: when, the answer's status code (none when
    the connection failed or timed out), how long it took and the start of the answer."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    response_excerpt = models.CharField(_("response"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    manual = models.BooleanField(_("sent by hand"), default=False)

    class Meta:
        ordering = ["-attempted_at", "-pk"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.delivery} @ {self.attempted_at:%Y-%m-%d %H:%M:%S} → {self.status_code}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
