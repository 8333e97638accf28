"""Admin for products, plans and affiliations."""

from django.contrib import admin

from config.admin_actions import apply_each
from coproduction.models import LedgerEntry
from products.models import Affiliation, Plan, Product, Refund, Sale
from products.services import sales


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
    ]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
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

    @admin.display(description="Price")
    def price_display(self, obj: Product) -> str:
        return obj.price_display or "by plan"


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
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
    fields = ["created_at", "kind", "amount_minor", "reason", "requested_by", "gateway_reference"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LedgerInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ["entry_type", "line", "role", "beneficiary", "contract", "amount_minor", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "product",
        "buyer",
        "amount_display",
        "status",
        "method",
        "country",
        "affiliation",
        "paid_at",
    ]
    list_filter = ["status", "currency", "method", "country"]
    search_fields = ["product__name", "buyer__email", "checkout_key"]
    list_select_related = ["product", "buyer", "affiliation__affiliate"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Sale._meta.fields]
    inlines = [RefundInline, LedgerInline]
    actions = ["refund_in_full", "record_chargeback"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Amount", ordering="amount_minor")
    def amount_display(self, obj: Sale) -> str:
        return obj.amount_display

    @admin.action(description="Refund what is left of the selected sales")
    def refund_in_full(self, request, queryset):
        apply_each(
            self,
            request,
            queryset,
            lambda sale: sales.sale_refund(
                sale=sale, actor=request.user, reason="Refunded by the platform"
            ),
            done="refunded",
        )

    @admin.action(description="Record a chargeback on the selected sales")
    def record_chargeback(self, request, queryset):
        apply_each(
            self,
            request,
            queryset,
            lambda sale: sales.sale_chargeback(sale=sale, actor=request.user),
            done="charged back",
        )


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["created_at", "sale", "kind", "amount_minor", "requested_by", "reason"]
    list_filter = ["kind"]
    search_fields = ["sale__product__name", "sale__buyer__email", "reason"]
    list_select_related = ["sale__product", "requested_by"]
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
