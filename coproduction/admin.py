"""Admin for co-production: contracts, change requests and history are visible and read-only;
only the Terms of Use are edited here (publishing a new version). Withdrawals are the payouts
queue (approve, or reject saying why); balances are read-only."""

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin_actions import apply_each
from config.admin_display import (
    EMPTY,
    money,
    money_column,
    readonly_all,
    status_column,
    status_label,
)
from config.paginate import ADMIN_PAGE_SIZE
from coproduction.models import (
    Balance,
    ChangeRequest,
    Contract,
    ContractEvent,
    EmailLink,
    LedgerEntry,
    TermsAcceptance,
    TermsOfUse,
    TermsOfUseText,
    Withdrawal,
)
from coproduction.services.withdrawals import withdrawal_approve, withdrawal_reject
from products.models import StateEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and agreements change only through services, never by editing rows."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ChangeRequestInline(ReadOnlyInline):
    model = ChangeRequest
    fields = [
        "kind",
        "status",
        "after",
        "requested_by",
        "requested_at",
        "responded_by",
        "responded_at",
    ]


class ContractEventInline(ReadOnlyInline):
    model = ContractEvent
    fields = ["created_at", "action", "from_status_label", "to_status_label", "actor", "note"]
    readonly_fields = fields
    from_status_label = status_column(
        "from_status", _("from status"), choices=lambda e: Contract.Status
    )
    to_status_label = status_column("to_status", _("to status"), choices=lambda e: Contract.Status)


class TermsAcceptanceInline(ReadOnlyInline):
    model = TermsAcceptance
    fields = ["user", "terms", "accepted_at"]


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    list_display = [
        "product",
        "cocreator",
        "role",
        "status",
        "commission_percent",
        "affiliate_commission_percent",
        "sales_scope",
        "end_date",
        "invited_at",
    ]
    list_filter = [
        "status",
        "sales_scope",
        "role",
        "coproduction_model",
        "automatic_sales_recovery",
    ]
    search_fields = ["product__name", "cocreator__email", "product__producer__email"]
    list_select_related = ["product", "cocreator"]
    date_hierarchy = "invited_at"
    inlines = [ChangeRequestInline, TermsAcceptanceInline, ContractEventInline]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "requested_at"
    list_display = [
        "contract",
        "kind",
        "type_display",
        "status",
        "requested_by",
        "requested_at",
        "responded_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["contract__product__name", "contract__cocreator__email", "requested_by__email"]
    list_select_related = ["contract__product", "contract__cocreator", "requested_by"]


@admin.register(ContractEvent)
class ContractEventAdmin(ReadOnlyAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "created_at"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = [
        "created_at",
        "contract",
        "action",
        "from_status_label",
        "to_status_label",
        "actor",
    ]
    from_status_label = status_column(
        "from_status", _("from status"), choices=lambda e: Contract.Status
    )
    to_status_label = status_column("to_status", _("to status"), choices=lambda e: Contract.Status)
    list_filter = ["action"]
    search_fields = ["contract__product__name", "contract__cocreator__email", "actor__email"]
    list_select_related = ["contract__product", "contract__cocreator", "actor"]


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "accepted_at"
    list_display = ["accepted_at", "user", "terms", "contract"]
    search_fields = ["user__email", "contract__product__name"]
    list_select_related = ["user", "terms", "contract__product", "contract__cocreator"]


@admin.register(EmailLink)
class EmailLinkAdmin(ReadOnlyAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "created_at"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = ["created_at", "user", "purpose", "contract", "expires_at", "used_at"]
    list_filter = ["purpose"]
    search_fields = ["user__email"]
    list_select_related = ["user", "contract__product", "contract__cocreator"]


class TermsOfUseTextInline(admin.StackedInline):
    """The version in Portuguese and Spanish, published with it (and, like it, never edited)."""

    model = TermsOfUseText
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("terms")  # __str__ names them

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TermsOfUse)
class TermsOfUseAdmin(admin.ModelAdmin):
    """A new version is a new row; a published version is never edited: acceptances point at it."""

    list_per_page = ADMIN_PAGE_SIZE
    list_display = ["version", "title", "published_at"]
    inlines = [TermsOfUseTextInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Read-only: the ledger is append-only (a database trigger refuses edits on PostgreSQL)."""

    list_per_page = ADMIN_PAGE_SIZE
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = [
        "created_at",
        "sale",
        "entry_type",
        "role",
        "beneficiary",
        "contract",
        "amount_minor_money",
    ]
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda entry: entry.currency
    )
    list_filter = ["entry_type", "role", "currency"]
    search_fields = ["beneficiary__email", "sale__product__name", "sale__pk"]
    list_select_related = [
        "sale__product",
        "beneficiary",
        "contract__product",
        "contract__cocreator",
    ]
    date_hierarchy = "created_at"


class RejectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are they rejected?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Shown to each party; their money is available again."),
    )


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    """The payouts queue: withdrawals in review wait here for an admin to approve them (sent to
    the payout gateway) or reject them with a reason (the money is available again). Every
    field is read-only: money moves only through coproduction.services.withdrawals. The
    actions need the change permission on withdrawals (a superuser has it)."""

    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "requested_at"
    list_display = [
        "id",
        "party",
        "currency",
        "amount_minor_money",
        "fee_minor_money",
        "net_money",
        "status",
        "review_reason",
        "requested_at",
        "account_display",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["party__email", "idempotency_key", "reference"]
    list_select_related = ["party", "payout_account"]
    readonly_fields = [
        *readonly_all(
            Withdrawal,
            replace={"amount_minor": "amount_minor_money", "fee_minor": "fee_minor_money"},
        ),
        "net_money",
        "history",
    ]
    fields = readonly_fields  # so no raw column comes back as a form field
    actions = ["approve_withdrawals", "reject_withdrawals"]
    amount_minor_money = money_column("amount_minor", _("Amount"), currency=lambda w: w.currency)
    fee_minor_money = money_column("fee_minor", _("Fee"), currency=lambda w: w.currency)

    @admin.display(description=_("Net"))
    def net_money(self, withdrawal: Withdrawal) -> str:
        return money(withdrawal.net_minor, withdrawal.currency)

    @admin.display(description=_("payout account"))
    def account_display(self, withdrawal: Withdrawal) -> str:
        return withdrawal.payout_account.display

    @admin.display(description=_("History"))
    def history(self, withdrawal: Withdrawal):
        events = (
            StateEvent.objects.filter(machine="withdrawal", object_id=withdrawal.pk)
            .select_related("actor")
            .order_by("created_at", "pk")
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    status_label(event.from_status, Withdrawal.Status),
                    status_label(event.to_status, Withdrawal.Status),
                    event.actor.email if event.actor else EMPTY,
                    event.reason or EMPTY,
                )
                for event in events
            ),
        )
        if not rows:
            return EMPTY
        return format_html(
            '<table class="withdrawal-history"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"),
            _("from status"),
            _("to status"),
            _("actor"),
            _("reason"),
            rows,
        )

    def has_review_permission(self, request) -> bool:
        """Who may approve and reject: staff given the change permission on withdrawals."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description=_("Approve selected withdrawals"), permissions=["review"])
    def approve_withdrawals(self, request, queryset):
        apply_each(
            self,
            request,
            queryset.order_by("pk"),
            lambda w: withdrawal_approve(withdrawal_id=w.pk, admin=request.user),
            done=lambda n: (
                ngettext("%(count)s withdrawal approved.", "%(count)s withdrawals approved.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Reject selected withdrawals"), permissions=["review"])
    def reject_withdrawals(self, request, queryset):
        """An intermediate page asks why; its form posts back here with `apply`."""
        form = RejectionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            apply_each(
                self,
                request,
                queryset.order_by("pk"),
                lambda w: withdrawal_reject(withdrawal_id=w.pk, admin=request.user, reason=reason),
                done=lambda n: (
                    ngettext("%(count)s withdrawal rejected.", "%(count)s withdrawals rejected.", n)
                    % {"count": n}
                ),
            )
            return None  # back to the changelist, with the messages
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject withdrawals"),
            "opts": self.opts,
            "queryset": queryset.select_related("party").order_by("pk"),
            "form": form,
            "action": "reject_withdrawals",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/coproduction/withdrawal/reject.html", context, status=200
        )


def _balance_total(field: str):
    """The sum of one figure over every row (shard) of the outer row's balance."""
    rows = (
        Balance.objects.annotate(party_key=Coalesce("party_id", Value(0)))
        .filter(party_key=OuterRef("party_key"), currency=OuterRef("currency"))
        .order_by()
        .values("party_key")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Subquery(rows, output_field=IntegerField())


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    """Each party's money per currency, read-only (kept by the ledger's writers): one line per
    balance, its rows (shards) summed; the platform's is the one without a party."""

    list_per_page = ADMIN_PAGE_SIZE
    list_display = [
        "party_display",
        "currency",
        "settled_money",
        "in_withdrawal_money",
        "withdrawn_money",
    ]
    list_filter = ["currency"]
    search_fields = ["party__email"]
    list_select_related = ["party"]
    fields = [
        "party_display",
        "currency",
        "settled_money",
        "in_withdrawal_money",
        "withdrawn_money",
    ]
    readonly_fields = fields
    ordering = ["currency", "party__email"]
    settled_money = money_column(
        "settled_total", _("pending and available"), currency=lambda b: b.currency
    )
    in_withdrawal_money = money_column(
        "in_withdrawal_total", _("in withdrawal"), currency=lambda b: b.currency
    )
    withdrawn_money = money_column("withdrawn_total", _("withdrawn"), currency=lambda b: b.currency)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).annotate(party_key=Coalesce("party_id", Value(0)))
        # One row per balance (its oldest row) carrying the sums of all of them.
        first = (
            Balance.objects.annotate(party_key=Coalesce("party_id", Value(0)))
            .filter(party_key=OuterRef("party_key"), currency=OuterRef("currency"))
            .order_by("pk")
            .values("pk")[:1]
        )
        return queryset.filter(pk=Subquery(first)).annotate(
            settled_total=_balance_total("settled_minor"),
            in_withdrawal_total=_balance_total("in_withdrawal_minor"),
            withdrawn_total=_balance_total("withdrawn_minor"),
        )

    @admin.display(description=_("party"), ordering="party__email")
    def party_display(self, balance: Balance) -> str:
        return balance.party.email if balance.party_id else _("Platform")
