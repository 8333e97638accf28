"""Admin for payment attempts (read-only: they record what the gateway answered)."""

from django.contrib import admin

from subscriptions.models import PaymentAttempt, SimulatedGatewayCharge


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(admin.ModelAdmin):
    list_display = ["started_at", "sale", "number", "status", "amount_minor", "method", "message"]
    list_filter = ["status", "method"]
    search_fields = ["idempotency_key", "gateway_reference", "sale__buyer__email"]
    list_select_related = ["sale__product"]
    readonly_fields = [f.name for f in PaymentAttempt._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SimulatedGatewayCharge)
class SimulatedGatewayChargeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "idempotency_key", "kind", "outcome", "amount_minor", "currency"]
    list_filter = ["kind", "outcome"]
    search_fields = ["idempotency_key", "reference"]
