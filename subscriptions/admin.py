"""Admin for subscriptions (with Cancel as admin) and recurrences."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin_actions import apply_each
from config.admin_display import (
    mask_token,
    method_column,
    money_column,
    readonly_all,
    status_column,
)
from config.paginate import ADMIN_PAGE_SIZE
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent
from subscriptions.services.lifecycle import subscription_cancel


class RecurrenceInline(admin.TabularInline):
    model = Recurrence
    extra = 0
    can_delete = False
    fields = [
        "number",
        "due_date",
        "amount_minor_money",
        "status",
        "attempts_made",
        "next_attempt_at",
    ]
    readonly_fields = fields
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda r: r.subscription.product.currency
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SubscriptionEventInline(admin.TabularInline):
    model = SubscriptionEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status_label", "to_status_label", "actor", "reason"]
    readonly_fields = fields
    from_status_label = status_column(
        "from_status", _("from status"), choices=lambda e: Subscription.Status
    )
    to_status_label = status_column(
        "to_status", _("to status"), choices=lambda e: Subscription.Status
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    list_display = [
        "pk",
        "buyer",
        "product",
        "plan",
        "status",
        "method_label",
        "next_charge_date",
        "paid_count",
        "consecutive_unpaid",
        "created_at",
    ]
    list_filter = ["status", "method", "country", "plan__periodicity"]
    search_fields = ["buyer__email", "product__name", "checkout_key"]
    list_select_related = ["buyer", "product", "plan__product"]
    date_hierarchy = "created_at"
    # The token could be charged again: only its last digits are shown.
    readonly_fields = readonly_all(Subscription, replace={"payment_token": "payment_token_masked"})
    fields = readonly_fields
    inlines = [RecurrenceInline, SubscriptionEventInline]
    method_label = method_column()
    actions = ["cancel_as_admin"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("payment token"))
    def payment_token_masked(self, obj: Subscription) -> str:
        return mask_token(obj.payment_token)

    @admin.action(description=_("Cancel selected subscriptions (Canceled by admin)"))
    def cancel_as_admin(self, request, queryset):
        apply_each(
            self,
            request,
            queryset.select_related("product", "buyer", "plan"),
            lambda subscription: subscription_cancel(
                subscription=subscription, actor=request.user, as_admin=True
            ),
            done=lambda n: (
                ngettext("%(count)s subscription canceled.", "%(count)s subscriptions canceled.", n)
                % {"count": n}
            ),
        )


@admin.register(Recurrence)
class RecurrenceAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "due_date"
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = [
        "subscription",
        "number",
        "due_date",
        "amount_minor_money",
        "status",
        "attempts_made",
    ]
    # "Paid, needs attention" lists the charges parked with an error (fix, then retry the sale).
    list_filter = ["status"]
    search_fields = ["subscription__buyer__email", "slip_code"]
    list_select_related = [
        "subscription__buyer",
        "subscription__plan__product",
        "subscription__product",
    ]
    readonly_fields = readonly_all(Recurrence, replace={"amount_minor": "amount_minor_money"})
    fields = readonly_fields
    amount_minor_money = money_column(
        "amount_minor", _("Amount"), currency=lambda r: r.subscription.product.currency
    )

    def has_add_permission(self, request) -> bool:
        return False
