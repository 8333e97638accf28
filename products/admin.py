"""Admin for products, plans, affiliations, sales (needs attention: record again), refunds
(failed: send again), payment attempts, gateway webhooks and the money state events."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext

from accounts.exceptions import DomainError
from config.admin_actions import apply_each
from config.admin_display import method_column, money_column, readonly_all, status_column
from config.paginate import ADMIN_PAGE_SIZE
from coproduction.models import LedgerEntry
from products.models import (
    Affiliation,
    PaymentAttempt,
    Plan,
    Product,
    Refund,
    Sale,
    SimulatedGatewayCharge,
    StateEvent,
    WebhookEvent,
)
from products.payments.services import payment_retry
from products.services import sales
from products.services.refunds import refund_send


class PlanInline(admin.TabularInline):
    model = Plan
    extra = 0
    fields = [
        "name",
        "periodicity",
        "price_minor",
        "promo_first_price_minor",
        "installments",
        "is_active",
        "price_display",
    ]
    readonly_fields = ["price_display"]

    @admin.display(description=_("Price"))
    def price_display(self, obj: Plan) -> str:
        return obj.price_display if obj.pk else "—"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    list_display = [
        "name",
        "producer",
        "kind",
        "currency",
        "price_display",
        "is_active",
        "created_at",
    ]
    list_filter = ["kind", "currency", "is_active", "cocreators_may_be_affiliates"]
    search_fields = ["name", "producer__email", "producer__full_name"]
    list_select_related = ["producer"]
    autocomplete_fields = ["producer"]
    date_hierarchy = "created_at"
    inlines = [PlanInline]

    @admin.display(description=_("Price"))
    def price_display(self, obj: Product) -> str:
        return obj.price_display or _("by plan")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    list_display = [
        "name",
        "product",
        "periodicity",
        "price_display",
        "promo_display",
        "installments",
        "is_active",
    ]
    list_filter = ["periodicity", "is_active", "product__currency"]
    search_fields = ["name", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]


@admin.register(Affiliation)
class AffiliationAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "requested_at"
    list_display = [
        "affiliate",
        "product",
        "status",
        "commission_percent",
        "code",
        "requested_at",
        "decided_at",
    ]
    list_filter = ["status"]
    search_fields = ["affiliate__email", "product__name", "code"]
    list_select_related = ["affiliate", "product"]
    autocomplete_fields = ["affiliate", "product"]
    readonly_fields = ["code", "requested_at", "decided_at"]


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = [
        "created_at",
        "kind",
        "status",
        "amount_minor_money",
        "reason",
        "requested_by",
        "gateway_reference",
    ]
    readonly_fields = fields
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda refund: refund.sale.currency
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LedgerInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = [
        "entry_type",
        "line",
        "role",
        "beneficiary",
        "contract",
        "amount_minor_money",
        "created_at",
    ]
    readonly_fields = fields
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda entry: entry.currency
    )

    def get_queryset(self, request):
        # Each entry names its beneficiary and contract: joined, not read per row.
        return super().get_queryset(request).select_related("beneficiary", "contract__product")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = [
        "pk",
        "product",
        "buyer",
        "amount_display",
        "status",
        "method_label",
        "country",
        "affiliation",
        "paid_at",
    ]
    list_filter = ["status", "currency", "method", "country"]
    search_fields = ["product__name", "buyer__email", "checkout_key"]
    list_select_related = ["product", "buyer", "affiliation__affiliate"]
    date_hierarchy = "created_at"
    readonly_fields = readonly_all(
        Sale,
        replace={"amount_minor": "amount_display", "refunded_minor": "refunded_minor_money"},
    )
    fields = readonly_fields  # so no raw column comes back as a form field
    inlines = [RefundInline, LedgerInline]
    method_label = method_column()
    refunded_minor_money = money_column(
        "refunded_minor", _("Refunded"), currency=lambda sale: sale.currency
    )
    actions = ["refund_in_full", "record_chargeback", "record_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("Amount"), ordering="amount_minor")
    def amount_display(self, obj: Sale) -> str:
        return obj.amount_display

    @admin.action(description=_("Refund what is left of the selected sales"))
    def refund_in_full(self, request, queryset):
        apply_each(
            self,
            request,
            queryset,
            lambda sale: sales.sale_refund(
                sale=sale,
                actor=request.user,
                # Stored in English on the refund; translated where it is shown.
                reason=gettext_noop("Refunded by the platform"),
            ),
            done=lambda n: (
                ngettext("%(count)s sale refunded.", "%(count)s sales refunded.", n) % {"count": n}
            ),
        )

    @admin.action(
        description=_("Record again the selected sales that need attention (after a fix)")
    )
    def record_again(self, request, queryset):
        apply_each(
            self,
            request,
            queryset,
            lambda sale: payment_retry(sale=sale),
            done=lambda n: (
                ngettext("%(count)s sale recorded.", "%(count)s sales recorded.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Record a chargeback on the selected sales"))
    def record_chargeback(self, request, queryset):
        apply_each(
            self,
            request,
            queryset,
            lambda sale: sales.sale_chargeback(sale=sale, actor=request.user),
            done=lambda n: (
                ngettext("%(count)s sale charged back.", "%(count)s sales charged back.", n)
                % {"count": n}
            ),
        )


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "created_at"
    list_display = [
        "created_at",
        "sale",
        "kind",
        "status",
        "amount_minor_money",
        "tries",
        "last_error",
        "requested_by",
        "reason",
    ]
    list_filter = ["status", "kind"]
    actions = ["send_again"]

    @admin.action(description=_("Send the selected failed refunds to the gateway again"))
    def send_again(self, request, queryset):
        def send(refund):
            if not refund.can_retry:
                raise DomainError(_("Only a failed refund is sent again."))
            if refund_send(refund=refund).status != Refund.Status.SUCCEEDED:
                raise DomainError(_("The gateway refused it again."))

        apply_each(
            self,
            request,
            queryset,
            send,
            done=lambda n: (
                ngettext("%(count)s refund sent.", "%(count)s refunds sent.", n) % {"count": n}
            ),
        )

    search_fields = ["sale__product__name", "sale__buyer__email", "reason"]
    list_select_related = ["sale__product", "requested_by"]
    readonly_fields = readonly_all(Refund, replace={"amount_minor": "amount_minor_money"})
    fields = readonly_fields  # so no raw column comes back as a form field
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda refund: refund.sale.currency
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "started_at"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = [
        "started_at",
        "sale",
        "number",
        "status",
        "amount_minor_money",
        "method_label",
        "message",
    ]
    method_label = method_column()
    list_filter = ["status", "method"]
    search_fields = ["idempotency_key", "gateway_reference", "sale__buyer__email"]
    list_select_related = ["sale__product"]
    readonly_fields = readonly_all(PaymentAttempt, replace={"amount_minor": "amount_minor_money"})
    fields = readonly_fields  # so no raw column comes back as a form field
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda attempt: attempt.sale.currency
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SimulatedGatewayCharge)
class SimulatedGatewayChargeAdmin(admin.ModelAdmin):
    """Read-only: rows stand for what the (simulated) gateway did and will answer again."""

    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "created_at"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    list_display = ["created_at", "idempotency_key", "kind", "outcome", "amount_minor_money"]
    list_filter = ["kind", "outcome"]
    search_fields = ["idempotency_key", "reference"]
    readonly_fields = readonly_all(
        SimulatedGatewayCharge, replace={"amount_minor": "amount_minor_money"}
    )
    fields = readonly_fields  # so no raw column comes back as a form field
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda charge: charge.currency
    )


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "received_at"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = ["received_at", "event_id", "kind", "reference", "result"]
    list_filter = ["kind", "result"]
    search_fields = ["event_id", "reference"]
    readonly_fields = ["event_id", "kind", "reference", "result", "payload", "received_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StateEvent)
class StateEventAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "created_at"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = [
        "created_at",
        "machine",
        "object_id",
        "from_status_label",
        "to_status_label",
        "reason",
    ]
    list_filter = ["machine", "to_status"]
    search_fields = ["object_id"]
    readonly_fields = readonly_all(
        StateEvent, replace={"from_status": "from_status_label", "to_status": "to_status_label"}
    )
    fields = readonly_fields  # so no raw column comes back as a form field
    from_status_label = status_column(
        "from_status", _("from status"), choices=lambda event: _machine_statuses(event.machine)
    )
    to_status_label = status_column(
        "to_status", _("to status"), choices=lambda event: _machine_statuses(event.machine)
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _machine_statuses(machine: str):
    """A state event's machine (the model's name) to its Status choices."""
    from django.apps import apps

    for model in apps.get_models():
        if model._meta.model_name == machine and hasattr(model, "Status"):
            return model.Status
    return None
