"""Admin for users and account validations, with validate/reject actions."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts import services
from accounts.models import AccountValidation, AccountValidationEvent, User
from config.admin_actions import apply_each


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "validation_status",
        "is_active",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "validation__status"]
    search_fields = ["email", "full_name"]
    list_select_related = ["validation"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("full_name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )

    @admin.display(description="Validation", ordering="validation__status")
    def validation_status(self, obj: User) -> str:
        validation = getattr(obj, "validation", None)
        return validation.get_status_display() if validation else "Not submitted"


class AccountValidationEventInline(admin.TabularInline):
    model = AccountValidationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccountValidation)
class AccountValidationAdmin(admin.ModelAdmin):
    list_display = ["user", "legal_name", "country", "tax_document", "status", "submitted_at"]
    list_filter = ["status", "country"]
    search_fields = ["user__email", "user__full_name", "legal_name", "tax_document"]
    list_select_related = ["user", "decided_by"]
    readonly_fields = ["user", "status", "submitted_at", "decided_at", "decided_by"]
    fields = [
        "user",
        "legal_name",
        "country",
        "tax_document",
        "status",
        "review_note",
        "submitted_at",
        "decided_at",
        "decided_by",
    ]
    inlines = [AccountValidationEventInline]
    actions = ["validate_accounts", "reject_accounts"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Validate selected accounts")
    def validate_accounts(self, request, queryset):
        self._decide(request, queryset, AccountValidation.Status.VALIDATED, "validated")

    @admin.action(description="Reject selected accounts (uses the review note as the reason)")
    def reject_accounts(self, request, queryset):
        self._decide(request, queryset, AccountValidation.Status.REJECTED, "rejected")

    def _decide(self, request, queryset, to: str, verb: str) -> None:
        def decide(validation):
            reason = validation.review_note or (
                "The identity data could not be verified." if verb == "rejected" else ""
            )
            services.validation_decide(
                validation=validation, to=to, actor=request.user, reason=reason
            )

        apply_each(
            self,
            request,
            queryset.select_related("user"),
            decide,
            done=verb,
            noun=("account", "accounts"),
            label=lambda validation: validation.user.email,
        )
