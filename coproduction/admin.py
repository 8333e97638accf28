"""Admin for co-production: contracts, change requests and history are visible and read-only;
only the Terms of Use are edited here (publishing a new version)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin_display import money_column, status_column
from config.paginate import ADMIN_PAGE_SIZE
from coproduction.models import (
    ChangeRequest,
    Contract,
    ContractEvent,
    EmailLink,
    LedgerEntry,
    TermsAcceptance,
    TermsOfUse,
    TermsOfUseText,
)


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
