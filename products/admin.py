"""Admin for products, plans and affiliations."""

from django.contrib import admin

from products.models import Affiliation, Plan, Product


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
