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
        # A withdrawal's own entries: the party whose balance it moves, whatever their roles.
        PAYEE = "payee", _("Payee")

    class EntryType(models.TextChoices):
        SPLIT = "split", _("Sale")
        REFUND = "refund", _("Refund")
        CHARGEBACK = "chargeback", _("Chargeback")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        PAYOUT = "payout", _("Payout")
        PAYOUT_FEE = "payout_fee", _("Withdrawal fee")
        PAYOUT_RETURN = "payout_return", _("Withdrawal returned")

    # Which of a party's balance figures an entry counts in (coproduction.balances). Earnings
    # (splits and their reversals) are pending until their `available_on` date, then
    # available; a withdrawal moves money from available into in withdrawal, and a paid one
    # from there out (withdrawn records what was paid out, for the statements).
    class Bucket(models.TextChoices):
        EARNING = "earning", _("Earnings")
        AVAILABLE = "available", _("Available")
        IN_WITHDRAWAL = "in_withdrawal", _("In withdrawal")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    EARNING_TYPES = ("split", "refund", "chargeback")
    WITHDRAWAL_TYPES = ("withdrawal", "payout", "payout_fee", "payout_return")

    # Every reference below is checked by PostgreSQL, set-based, once per INSERT or COPY
    # statement (migration 0010: a statement trigger on the new rows, and triggers on the six
    # referenced tables refusing a DELETE or TRUNCATE that would orphan an entry), not by a
    # foreign key's per-row check: six entries per charge, each with up to five references,
    # made those checks the largest part of writing the ledger. Hence db_constraint=False.
    sale = models.ForeignKey(
        "products.Sale",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
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
        null=True,
        blank=True,
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
    # A withdrawal's entries (sale and product empty); checked with the others (migration
    # 0011): a foreign key would let TRUNCATE … CASCADE of the users empty the ledger.
    withdrawal = models.ForeignKey(
        "coproduction.Withdrawal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("withdrawal"),
        db_index=False,
        db_constraint=False,
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    bucket = models.CharField(
        _("balance"),
        max_length=20,
        choices=Bucket.choices,
        default=Bucket.EARNING,
        db_default=Bucket.EARNING,
    )
    # Earnings: the day (UTC) from which the amount is available to withdraw.
    available_on = models.DateField(_("available on"), null=True, blank=True)

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
            models.UniqueConstraint(
                fields=["withdrawal", "line"],
                condition=Q(withdrawal__isnull=False),
                name="ledger_withdrawal_line_once",
            ),
            models.CheckConstraint(
                condition=(
                    Q(entry_type="split")
                    & Q(amount_minor__gte=0)
                    & Q(sale__isnull=False, product__isnull=False, withdrawal__isnull=True)
                    & Q(bucket="earning")
                )
                | (
                    Q(entry_type__in=["refund", "chargeback"])
                    & Q(amount_minor__lte=0)
                    & Q(refund__isnull=False, sale__isnull=False, product__isnull=False)
                    & Q(withdrawal__isnull=True, bucket="earning")
                )
                | (
                    Q(entry_type__in=["withdrawal", "payout", "payout_fee", "payout_return"])
                    & Q(withdrawal__isnull=False, sale__isnull=True, refund__isnull=True)
                    & ~Q(bucket="earning")
                ),
                name="ledger_sign_matches_type",
            ),
            # Earnings are released on a day; a withdrawal's entries are not earnings.
            models.CheckConstraint(
                condition=Q(bucket="earning", available_on__isnull=False)
                | (~Q(bucket="earning") & Q(available_on__isnull=True)),
                name="ledger_earnings_have_release_day",
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


class Balance(models.Model):
    """A party's money in one currency, kept with the ledger entries it sums (written in the
    same statement batch as they are, coproduction.balances): `settled` is every earning and
    every available-bucket entry (pending + available), `in_withdrawal` and `withdrawn` their
    buckets. Pending is the part of `settled` whose release day is still ahead (the
    BalanceRelease rows after today); available the rest. The platform's own is the row
    without a party. `check_balances` recomputes every row from the entries.

    A balance is the sum of a few rows (`shard`, BALANCE_SHARDS of them at most): each
    database session adds to its own, so two billing workers crediting the same producer
    and the platform at once do not wait for each other's commit; a withdrawal locks every
    row of its balance."""

    party = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="balances",
        verbose_name=_("party"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    shard = models.PositiveSmallIntegerField(_("shard"), default=0)
    settled_minor = models.BigIntegerField(_("pending and available (minor units)"), default=0)
    in_withdrawal_minor = models.BigIntegerField(_("in withdrawal (minor units)"), default=0)
    withdrawn_minor = models.BigIntegerField(_("withdrawn (minor units)"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        constraints = [
            models.UniqueConstraint(
                fields=["party", "currency", "shard"], name="balance_once", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_id or 'platform'} {self.currency} ({self.shard})"


class BalanceRelease(models.Model):
    """How much of a party's earnings in a currency becomes available on a day (the sum of the
    earning entries with that `available_on`): the release timeline, and what is pending."""

    party = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("party"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    available_on = models.DateField(_("available on"))
    shard = models.PositiveSmallIntegerField(_("shard"), default=0)
    amount_minor = models.BigIntegerField(_("amount (minor units)"), default=0)

    class Meta:
        verbose_name = _("balance release")
        verbose_name_plural = _("balance releases")
        constraints = [
            models.UniqueConstraint(
                fields=["party", "currency", "available_on", "shard"],
                name="balance_release_once",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_id or 'platform'} {self.currency} {self.available_on} ({self.shard})"


class Withdrawal(models.Model):
    """A party taking money out of their available balance to their payout account, through
    the payout gateway (coproduction.services.withdrawals). The amount leaves available when
    requested; the fee is taken from it when it is paid; a failed, rejected or canceled one
    gives it back."""

    class Status(models.TextChoices):
        REQUESTED = "requested", pgettext_lazy("withdrawal", "Requested")
        IN_REVIEW = "in_review", pgettext_lazy("withdrawal", "In review")
        SENT = "sent", pgettext_lazy("withdrawal", "Sent")
        PAID = "paid", pgettext_lazy("withdrawal", "Paid")
        FAILED = "failed", pgettext_lazy("withdrawal", "Failed")
        REJECTED = "rejected", pgettext_lazy("withdrawal", "Rejected")
        CANCELED = "canceled", pgettext_lazy("withdrawal", "Canceled")

    TRANSITIONS = {
        Status.REQUESTED: {Status.IN_REVIEW, Status.SENT, Status.CANCELED},
        Status.IN_REVIEW: {Status.SENT, Status.REJECTED},
        Status.SENT: {Status.PAID, Status.FAILED},
        Status.PAID: set(),
        Status.FAILED: set(),
        Status.REJECTED: set(),
        Status.CANCELED: set(),
    }
    # The money is back in available (or out, paid).
    FINAL = (Status.PAID, Status.FAILED, Status.REJECTED, Status.CANCELED)

    party = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="withdrawals",
        verbose_name=_("party"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    fee_minor = models.BigIntegerField(_("fee (minor units)"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    payout_account = models.ForeignKey(
        "accounts.PayoutAccount",
        on_delete=models.PROTECT,
        related_name="withdrawals",
        verbose_name=_("payout account"),
    )
    # What was sent to the payout gateway, as it was then.
    account_snapshot = models.JSONField(_("payout account details"), default=dict)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    review_reason = models.CharField(_("why it is reviewed"), max_length=200, blank=True)
    rejection_reason = models.CharField(_("rejection reason"), max_length=500, blank=True)
    failure = models.CharField(_("failure"), max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        indexes = [
            models.Index(fields=["party", "-requested_at"]),
            models.Index(
                fields=["status"],
                name="withdrawal_open",
                condition=~Q(status__in=["paid", "failed", "rejected", "canceled"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0)
                & Q(fee_minor__gte=0)
                & Q(fee_minor__lt=models.F("amount_minor")),
                name="withdrawal_amounts_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "requested",
                        "in_review",
                        "sent",
                        "paid",
                        "failed",
                        "rejected",
                        "canceled",
                    ]
                ),
                name="withdrawal_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Withdrawal #%(number)s") % {"number": self.pk}

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.fee_minor

    @property
    def can_cancel(self) -> bool:
        return self.status == self.Status.REQUESTED

    @property
    def can_review(self) -> bool:
        return self.status == self.Status.IN_REVIEW

    @property
    def is_open(self) -> bool:
        return self.status not in self.FINAL
