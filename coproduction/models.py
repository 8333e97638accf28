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

    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("title"), max_length=120, default="Co-creation Terms of Use")
    body = models.TextField(_("body"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

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

    terms = models.ForeignKey(
        TermsOfUse, on_delete=models.PROTECT, related_name="texts", verbose_name=_("terms")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("terms of use text")
        verbose_name_plural = _("terms of use texts")
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

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("product")
    )
    cocreator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cocreator_contracts",
        verbose_name=_("cocreator"),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    end_date = models.DateField(
        _("end date"), null=True, blank=True, help_text=_("Empty means eternal.")
    )
    sales_scope = models.CharField(_("sales scope"), max_length=20, choices=SalesScope.choices)
    all_affiliates = models.BooleanField(_("all affiliates"), default=True)
    affiliates = models.ManyToManyField(
        Affiliation, blank=True, related_name="+", verbose_name=_("affiliates")
    )
    commission_percent = models.DecimalField(
        _("commission percent"), max_digits=5, decimal_places=2, validators=SHARE_VALIDATORS
    )
    affiliate_commission_percent = models.DecimalField(
        _("affiliate commission percent"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=SHARE_VALIDATORS,
    )
    coproduction_model = models.CharField(
        _("coproduction model"), max_length=30, choices=CoproductionModel.choices
    )
    automatic_sales_recovery = models.BooleanField(_("automatic sales recovery"), default=False)
    terms = models.ForeignKey(
        TermsOfUse, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("terms")
    )
    invited_at = models.DateTimeField(_("invited at"), default=timezone.now)
    last_sent_at = models.DateTimeField(_("last sent at"), default=timezone.now)
    send_count = models.PositiveSmallIntegerField(_("send count"), default=1)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-invited_at", "-pk"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
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

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="acceptances", verbose_name=_("contract")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    terms = models.ForeignKey(
        TermsOfUse, on_delete=models.PROTECT, related_name="acceptances", verbose_name=_("terms")
    )
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now)

    class Meta:
        ordering = ["accepted_at", "pk"]
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")
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

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="changes", verbose_name=_("contract")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    # {"field": value} in JSON-safe form (percent strings, ISO dates, affiliate snapshots).
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responded by"),
    )
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
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

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="events", verbose_name=_("contract")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(_("from status"), max_length=20, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, blank=True)
    change_request = models.ForeignKey(
        ChangeRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("change request"),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("contract event")
        verbose_name_plural = _("contract events")

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

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="email_links", verbose_name=_("contract")
    )
    change_request = models.ForeignKey(
        ChangeRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("change request"),
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("email link")
        verbose_name_plural = _("email links")

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

    # Every reference below is checked by PostgreSQL, set-based, once per INSERT or COPY
    # statement (migration 0010: a statement trigger on the new rows, and triggers on the six
    # referenced tables refusing a DELETE or TRUNCATE that would orphan an entry), not by a
    # foreign key's per-row check: six entries per charge, each with up to five references,
    # made those checks the largest part of writing the ledger. Hence db_constraint=False.
    sale = models.ForeignKey(
        "products.Sale",
        on_delete=models.PROTECT,
        related_name="ledger",
        verbose_name=_("sale"),
        db_constraint=False,
    )
    # The foreign keys below are indexed by the indexes in Meta (a lookup by product or by
    # beneficiary uses the composite one, by refund the reversal's unique one; contracts and
    # affiliations only where set): each index is written for every entry, six per charge.
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("product"),
        db_index=False,
        db_constraint=False,
    )
    entry_type = models.CharField(_("entry type"), max_length=20, choices=EntryType.choices)
    # The part's position in its sale's split; a reversal carries the line it reverses.
    line = models.PositiveSmallIntegerField(_("line"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("beneficiary"),
        db_index=False,
        db_constraint=False,
    )
    contract = models.ForeignKey(
        Contract,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("contract"),
        db_index=False,
        db_constraint=False,
    )
    affiliation = models.ForeignKey(
        Affiliation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("affiliation"),
        db_index=False,
        db_constraint=False,
    )
    refund = models.ForeignKey(
        "products.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("refund"),
        db_index=False,
        db_constraint=False,
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["sale", "entry_type", "line", "pk"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [
            models.Index(fields=["beneficiary", "created_at"]),
            models.Index(fields=["product", "created_at"]),
            models.Index(
                fields=["contract"],
                condition=Q(contract__isnull=False),
                name="ledger_contract_set",
            ),
            models.Index(
                fields=["affiliation"],
                condition=Q(affiliation__isnull=False),
                name="ledger_affiliation_set",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sale", "line"],
                condition=Q(entry_type="split"),
                name="ledger_split_written_once",
            ),
            models.UniqueConstraint(
                fields=["refund", "line"],
                condition=Q(refund__isnull=False),  # the same rule: splits have no refund
                name="ledger_reversal_once",
            ),
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
