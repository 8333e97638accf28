"""Co-production contracts between a product's producer and a cocreator, their terms of use,
the change requests both sides approve, the event history and the emailed answer links."""

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.locales import format_day
from products.models import Affiliation, Product

# The main producer keeps at least 30 %: every kind of sale shares at most 70 % with cocreators.
MAX_SHARE_PERCENT = 70
SHARE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(MAX_SHARE_PERCENT)]


class TermsOfUse(models.Model):
    """A published version of the Co-creation Terms of Use; invitations use the newest one."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=120, default="Co-creation Terms of Use")
    body = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("terms of use")
        verbose_name_plural = _("terms of use")

    def __str__(self) -> str:
        return gettext("%(title)s v%(version)s") % {"title": self.title, "version": self.version}

    def _text(self):
        """This version's text in the active language (TermsOfUseText), else its own (English).
        One legal version in every language: an acceptance points at the version."""
        language = translation.get_language() or settings.LANGUAGE_CODE
        if not language.startswith("en"):
            for text in self.texts.all():
                if text.language == language:
                    return text
        return self

    @property
    def localized_title(self) -> str:
        return self._text().title

    @property
    def localized_body(self) -> str:
        return self._text().body


class TermsOfUseText(models.Model):
    """A version of the Terms of Use written in another language, published with it."""

    terms = models.ForeignKey(TermsOfUse, on_delete=models.PROTECT, related_name="texts")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(max_length=120)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["terms", "language"], name="terms_text_one_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.terms} ({self.language})"


class Contract(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("contract status", "Invitation pending")
        ACTIVE = "active", pgettext_lazy("contract status", "Active")
        DECLINED = "declined", pgettext_lazy("contract status", "Declined")
        CANCELED = "canceled", pgettext_lazy("contract status", "Invitation canceled")
        ENDED = "ended", pgettext_lazy("contract status", "Ended")
        EXPIRED = "expired", pgettext_lazy("contract status", "Expired")

    TRANSITIONS = {
        Status.PENDING: {Status.ACTIVE, Status.DECLINED, Status.CANCELED},
        Status.ACTIVE: {Status.ENDED, Status.EXPIRED},
        Status.DECLINED: set(),
        Status.CANCELED: set(),
        Status.ENDED: set(),
        Status.EXPIRED: set(),
    }
    LIVE = (Status.PENDING, Status.ACTIVE)

    class Role(models.TextChoices):
        EXPERT = "expert", _("Product creator / expert")
        LAUNCH = "launch", _("Launch specialist")
        TRAFFIC = "traffic", _("Traffic specialist")
        AFFILIATE_MANAGER = "affiliate_manager", _("Affiliate manager")
        EDITOR = "editor", _("Product editor")
        OTHER = "other", pgettext_lazy("cocreator role", "Other")

    class SalesScope(models.TextChoices):
        ALL = "all", _("All sales")
        DIRECT = "direct", _("Only sales made directly by the producer")
        AFFILIATE = "affiliate", _("Affiliate sales only")

    class CoproductionModel(models.TextChoices):
        REVENUE_SHARE = "revenue_share", _("Revenue share")
        LAUNCH_PARTNERSHIP = "launch_partnership", _("Launch partnership")
        CONTENT_LICENSING = "content_licensing", _("Content licensing")
        MANAGEMENT = "management", _("Management and services")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="contracts")
    cocreator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cocreator_contracts"
    )
    role = models.CharField(max_length=30, choices=Role.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    end_date = models.DateField(null=True, blank=True, help_text=_("Empty means eternal."))
    sales_scope = models.CharField(max_length=20, choices=SalesScope.choices)
    all_affiliates = models.BooleanField(default=True)
    affiliates = models.ManyToManyField(Affiliation, blank=True, related_name="+")
    commission_percent = models.DecimalField(
        max_digits=5, decimal_places=2, validators=SHARE_VALIDATORS
    )
    affiliate_commission_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=SHARE_VALIDATORS
    )
    coproduction_model = models.CharField(max_length=30, choices=CoproductionModel.choices)
    automatic_sales_recovery = models.BooleanField(default=False)
    terms = models.ForeignKey(TermsOfUse, on_delete=models.PROTECT, related_name="contracts")
    invited_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(default=timezone.now)
    send_count = models.PositiveSmallIntegerField(default=1)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-invited_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "cocreator"],
                condition=Q(status__in=["pending", "active"]),
                name="contract_one_live_per_product_and_cocreator",
            ),
            models.CheckConstraint(
                condition=Q(commission_percent__gt=0)
                & Q(commission_percent__lte=MAX_SHARE_PERCENT),
                name="contract_commission_in_range",
            ),
            models.CheckConstraint(
                condition=Q(affiliate_commission_percent__isnull=True)
                | (
                    Q(affiliate_commission_percent__gt=0)
                    & Q(affiliate_commission_percent__lte=MAX_SHARE_PERCENT)
                ),
                name="contract_affiliate_commission_in_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending", "active", "declined", "canceled", "ended", "expired"]
                ),
                name="contract_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(sales_scope__in=["all", "direct", "affiliate"]),
                name="contract_sales_scope_valid",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(product)s with %(cocreator)s") % {
            "product": self.product,
            "cocreator": self.cocreator,
        }

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    # What each side may do now (templates ask these instead of comparing status strings).
    @property
    def can_answer_invitation(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def can_resend(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def can_cancel(self) -> bool:
        return self.status in self.LIVE

    @property
    def can_change(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def can_request_end(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def was_accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def covers_direct_sales(self) -> bool:
        return self.sales_scope in (self.SalesScope.ALL, self.SalesScope.DIRECT)

    @property
    def covers_affiliate_sales(self) -> bool:
        return self.sales_scope in (self.SalesScope.ALL, self.SalesScope.AFFILIATE)

    @property
    def effective_affiliate_percent(self):
        return self.affiliate_commission_percent or self.commission_percent

    @property
    def affiliate_emails(self) -> str:
        """The chosen affiliates' emails, comma separated (uses the `affiliates` prefetch)."""
        return ", ".join(a.affiliate.email for a in self.affiliates.all())

    @property
    def duration_display(self) -> str:
        if not self.end_date:
            return gettext("Eternal")
        return gettext("Until %(date)s") % {"date": format_day(self.end_date)}


class TermsAcceptance(models.Model):
    """Who accepted which version of the terms, for which contract, and when."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="acceptances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    terms = models.ForeignKey(TermsOfUse, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["accepted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "user", "terms"], name="terms_accepted_once_per_contract"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(user)s accepted %(terms)s") % {"user": self.user, "terms": self.terms}


class ChangeRequest(models.Model):
    """A proposed change to an active contract; nothing changes until the other side accepts."""

    class Kind(models.TextChoices):
        CHANGE = "change", _("Change of terms")
        TERMINATION = "termination", _("Termination")

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("change request status", "Pending approval")
        ACCEPTED = "accepted", pgettext_lazy("change request status", "Accepted")
        REFUSED = "refused", pgettext_lazy("change request status", "Refused")
        WITHDRAWN = "withdrawn", pgettext_lazy("change request status", "Withdrawn")

    TRANSITIONS = {
        Status.PENDING: {Status.ACCEPTED, Status.REFUSED, Status.WITHDRAWN},
        Status.ACCEPTED: set(),
        Status.REFUSED: set(),
        Status.WITHDRAWN: set(),
    }

    FIELD_LABELS = {
        "commission_percent": _("Commission percentage"),
        "affiliate_commission_percent": _("Affiliate sales commission"),
        "sales_scope": _("Sales scope"),
        "affiliates": _("Affiliates changed"),
        "end_date": _("Contract end date"),
    }

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # {"field": value} in JSON-safe form (percent strings, ISO dates, affiliate snapshots).
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status="pending"),
                name="change_request_one_pending_per_contract",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "accepted", "refused", "withdrawn"]),
                name="change_request_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(type)s on %(contract)s") % {
            "type": self.type_display,
            "contract": self.contract,
        }

    @property
    def can_answer(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def type_display(self) -> str:
        if self.kind == self.Kind.TERMINATION:
            return gettext("Termination")
        labels = (str(self.FIELD_LABELS.get(name, name)) for name in self.changed_fields)
        return ", ".join(labels) or gettext("Change")

    @property
    def changed_fields(self) -> list[str]:
        """The changed terms in FIELD_LABELS order: PostgreSQL's jsonb does not keep key order."""
        known = [name for name in self.FIELD_LABELS if name in self.after]
        return known + sorted(set(self.after) - set(known))

    @property
    def rows(self) -> list[dict]:
        """Each changed term as label, before and after, in words."""
        return [
            {
                "label": self.FIELD_LABELS.get(name, name),
                "before": _describe(name, self.before.get(name)),
                "after": _describe(name, self.after.get(name)),
            }
            for name in self.changed_fields
        ]

    @property
    def affiliates_added(self) -> list[dict]:
        return _diff_affiliates(self.after, self.before)

    @property
    def affiliates_removed(self) -> list[dict]:
        return _diff_affiliates(self.before, self.after)


def _describe(name: str, value) -> str:
    if name == "commission_percent":
        return f"{value} %"
    if name == "affiliate_commission_percent":
        return f"{value} %" if value is not None else gettext("Same as direct sales")
    if name == "sales_scope":
        return str(Contract.SalesScope(value).label)
    if name == "end_date":
        return format_day(date.fromisoformat(value)) if value else gettext("Eternal")
    if name == "affiliates":
        if value["all"]:
            return gettext("All affiliates")
        return ", ".join(item["email"] for item in value["chosen"])
    return str(value)


def _diff_affiliates(a: dict, b: dict) -> list[dict]:
    if "affiliates" not in a and "affiliates" not in b:
        return []
    others = {item["id"] for item in (b.get("affiliates") or {}).get("chosen", [])}
    return [
        item for item in (a.get("affiliates") or {}).get("chosen", []) if item["id"] not in others
    ]


class ContractEvent(models.Model):
    """The contract's history: every transition and request, who did it, when and why."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    LABELS = {
        "invited": _("Invitation sent"),
        "resent": _("Invitation resent"),
        "active": _("Invitation accepted"),
        "declined": _("Invitation declined"),
        "canceled": _("Invitation canceled"),
        "change_requested": _("Change requested"),
        "termination_requested": _("Termination requested"),
        "change_accepted": _("Request accepted"),
        "change_refused": _("Request refused"),
        "change_withdrawn": _("Request withdrawn"),
        "ended": _("Co-production ended"),
        "expired": _("Co-production expired"),
    }
    # The notes the services write (stored in English), in the reader's language.
    NOTES = {
        "End date passed": _("End date passed"),
        "Termination agreed": _("Termination agreed"),
    }

    def __str__(self) -> str:
        return gettext("%(action)s on %(contract)s") % {
            "action": self.action,
            "contract": self.contract_id,
        }

    @property
    def label(self) -> str:
        return str(self.LABELS.get(self.action, self.action.replace("_", " ").capitalize()))

    @property
    def note_display(self) -> str:
        return str(self.NOTES.get(self.note, self.note))


class EmailLink(models.Model):
    """A link sent by email: signed, expiring, and good for one use by its addressee."""

    class Purpose(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        CHANGE = "change", _("Change request")
        ANSWER = "answer", _("Answer")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="email_links")
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return gettext("%(purpose)s link for %(user)s") % {
            "purpose": self.purpose,
            "user": self.user,
        }


class AppendOnlyQuerySet(models.QuerySet):
    """The ORM side of the ledger's append-only rule (PostgreSQL also has a trigger)."""

    def update(self, **kwargs):
        raise LedgerImmutable("Ledger entries are append-only: add a reversing entry instead.")

    def delete(self):
        raise LedgerImmutable("Ledger entries are append-only: add a reversing entry instead.")


class LedgerImmutable(Exception):
    pass


class LedgerEntry(models.Model):
    """Who gets what of one sale. Written once per paid sale (its split) plus reversing entries
    for refunds and chargebacks; never updated or deleted."""

    class Role(models.TextChoices):
        PLATFORM = "platform", _("Platform fee")
        AFFILIATE = "affiliate", _("Affiliate")
        COCREATOR = "cocreator", _("Cocreator")
        PRODUCER = "producer", _("Producer")

    class EntryType(models.TextChoices):
        SPLIT = "split", _("Sale")
        REFUND = "refund", _("Refund")
        CHARGEBACK = "chargeback", _("Chargeback")

    sale = models.ForeignKey("products.Sale", on_delete=models.PROTECT, related_name="ledger")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    entry_type = models.CharField(max_length=20, choices=EntryType.choices)
    # The part's position in its sale's split; a reversal carries the line it reverses.
    line = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=20, choices=Role.choices)
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    affiliation = models.ForeignKey(
        Affiliation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        "products.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["sale", "entry_type", "line", "pk"]
        verbose_name_plural = _("ledger entries")
        indexes = [
            models.Index(fields=["beneficiary", "created_at"]),
            models.Index(fields=["product", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sale", "line"],
                condition=Q(entry_type="split"),
                name="ledger_split_written_once",
            ),
            models.UniqueConstraint(fields=["refund", "line"], name="ledger_reversal_once"),
            models.CheckConstraint(
                condition=(Q(entry_type="split") & Q(amount_minor__gte=0))
                | (~Q(entry_type="split") & Q(amount_minor__lte=0) & Q(refund__isnull=False)),
                name="ledger_sign_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(role)s %(amount)s %(currency)s (sale %(sale)s)") % {
            "role": self.get_role_display(),
            "amount": self.amount_minor,
            "currency": self.currency,
            "sale": self.sale_id,
        }

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutable("Ledger entries are append-only: add a reversing entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutable("Ledger entries are append-only: add a reversing entry instead.")
