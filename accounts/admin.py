"""Admin for users and account validations, with validate/reject actions; tax documents are
shown formatted and checked by country (accounts.tax_documents); payout accounts, read-mostly;
outgoing webhooks read-only (an endpoint may be disabled), secrets never shown; API tokens
read-only (support may revoke one), only their prefix shown."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.locales import supported_language
from accounts.models import (
    AccountValidation,
    AccountValidationEvent,
    ApiToken,
    Notification,
    PayoutAccount,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from accounts.tax_documents import tax_document_clean, tax_document_display
from config.admin_actions import apply_each
from config.admin_display import status_column
from config.paginate import ADMIN_PAGE_SIZE


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "date_joined"
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "validation_status",
        "language",
        "is_active",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "validation__status"]
    search_fields = ["email", "full_name"]
    list_select_related = ["validation"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (_("Language and time zone"), {"fields": ("language", "time_zone")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )

    @admin.display(description=_("Validation"), ordering="validation__status")
    def validation_status(self, obj: User) -> str:
        validation = getattr(obj, "validation", None)
        return validation.get_status_display() if validation else _("Not submitted")


class AccountValidationEventInline(admin.TabularInline):
    model = AccountValidationEvent
    extra = 0
    can_delete = False
    fields = ["from_status_label", "to_status_label", "actor", "reason", "created_at"]
    readonly_fields = fields
    from_status_label = status_column(
        "from_status", _("from status"), choices=lambda e: AccountValidation.Status
    )
    to_status_label = status_column(
        "to_status", _("to status"), choices=lambda e: AccountValidation.Status
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AccountValidationAdminForm(forms.ModelForm):
    """The tax document reads formatted (390.533.447-05) and is stored compact; a number or
    country an admin changes is checked like the user's own form."""

    class Meta:
        model = AccountValidation
        fields = ["legal_name", "country", "tax_document", "review_note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tax_document"] = tax_document_display(
                country=self.instance.country, number=self.instance.tax_document
            )

    def clean(self):
        cleaned = super().clean()
        number, country = cleaned.get("tax_document"), cleaned.get("country")
        if not ({"tax_document", "country"} & set(self.changed_data)):
            # Untouched: keep the stored number, not its formatted copy.
            cleaned["tax_document"] = self.instance.tax_document
        elif number and country:
            try:
                cleaned["tax_document"] = tax_document_clean(country=country, number=number)
            except ValidationError as error:
                self.add_error("tax_document", error)
        return cleaned


@admin.register(AccountValidation)
class AccountValidationAdmin(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "submitted_at"
    form = AccountValidationAdminForm
    list_display = [
        "user",
        "legal_name",
        "country",
        "tax_document_formatted",
        "status",
        "submitted_at",
    ]
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

    def get_search_results(self, request, queryset, search_term):
        # Numbers are stored compact: "390.533.447-05" finds 39053344705 too.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        compact = "".join(ch for ch in search_term if ch.isalnum()).upper()
        if compact and compact != search_term:
            found |= queryset.filter(tax_document=compact)
        return found, may_have_duplicates

    @admin.display(description=_("tax document"), ordering="tax_document")
    def tax_document_formatted(self, obj: AccountValidation) -> str:
        return tax_document_display(country=obj.country, number=obj.tax_document)

    @admin.action(description=_("Validate selected accounts"))
    def validate_accounts(self, request, queryset):
        self._decide(request, queryset, AccountValidation.Status.VALIDATED, "validated")

    @admin.action(description=_("Reject selected accounts (uses the review note as the reason)"))
    def reject_accounts(self, request, queryset):
        self._decide(request, queryset, AccountValidation.Status.REJECTED, "rejected")

    def _decide(self, request, queryset, to: str, verb: str) -> None:
        def decide(validation):
            reason = validation.review_note
            if not reason and verb == "rejected":
                # Stored as the review note and emailed: written in the user's language.
                with translation.override(supported_language(validation.user.language)):
                    reason = str(_("The identity data could not be verified."))
            services.validation_decide(
                validation=validation, to=to, actor=request.user, reason=reason
            )

        apply_each(
            self,
            request,
            queryset.select_related("user"),
            decide,
            done=lambda n: (
                (
                    ngettext("%(count)s account validated.", "%(count)s accounts validated.", n)
                    if verb == "validated"
                    else ngettext("%(count)s account rejected.", "%(count)s accounts rejected.", n)
                )
                % {"count": n}
            ),
            label=lambda validation: validation.user.email,
        )


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What each person was told, read-only: support answers "did they get it?" from here."""

    list_per_page = ADMIN_PAGE_SIZE
    # Grows with every sale and event: a filtered page skips counting the whole table again.
    show_full_result_count = False
    list_display = ["created_at", "recipient", "kind", "title", "read_at", "emailed"]
    list_filter = ["kind", "emailed"]
    search_fields = ["recipient__email", "key"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    readonly_fields = ["recipient", "kind", "key", "title", "params", "path", "created_at"]
    fields = [*readonly_fields, "read_at", "emailed"]

    @admin.display(description=_("title"))
    def title(self, notification):
        return notification.title

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin):
    """Where each person's withdrawals go, read-only: added and replaced by their owner only
    (accounts.payout_accounts), never deleted (withdrawals point at them). Support may move
    the hold after a change."""

    list_per_page = ADMIN_PAGE_SIZE
    date_hierarchy = "created_at"
    list_display = ["user", "kind", "display", "is_active", "withdrawals_held_until"]
    list_filter = ["kind", "is_active"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = [
        "user",
        "kind",
        "pix_key_type",
        "pix_key",
        "iban",
        "clabe",
        "bank_code",
        "bank_name",
        "account_type",
        "account_number",
        "holder_name",
        "holder_document",
        "is_active",
        "created_at",
        "replaced_at",
        "withdrawals_held_until",
    ]
    readonly_fields = [name for name in fields if name != "withdrawals_held_until"]

    @admin.display(description=_("account"))
    def display(self, account: PayoutAccount) -> str:
        return account.display

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class _ReadOnly(admin.ModelAdmin):
    list_per_page = ADMIN_PAGE_SIZE
    # Logs grow with every event: a filtered page skips counting the whole table again.
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly):
    """People's webhook endpoints: support sees them and may disable one that misbehaves
    (its owner enables it again). The signing secrets are not shown."""

    show_full_result_count = True
    date_hierarchy = "created_at"
    list_display = ["url", "user", "is_enabled", "consecutive_failures", "created_at"]
    list_filter = ["is_enabled"]
    search_fields = ["user__email", "url"]
    list_select_related = ["user"]
    fields = [
        "user",
        "url",
        "description",
        "event_types",
        "is_enabled",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "previous_secret_expires_at",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["disable_endpoints"]

    @admin.action(description=_("Disable selected webhook endpoints"))
    def disable_endpoints(self, request, queryset):
        from accounts import outgoing_webhooks

        apply_each(
            self,
            request,
            queryset.filter(is_enabled=True),
            lambda endpoint: outgoing_webhooks.endpoint_disable(
                endpoint=endpoint, reason=outgoing_webhooks.DISABLED_BY_STAFF
            ),
            done=lambda n: (
                ngettext(
                    "%(count)s webhook endpoint disabled.",
                    "%(count)s webhook endpoints disabled.",
                    n,
                )
                % {"count": n}
            ),
        )


@admin.register(WebhookMessage)
class WebhookMessageAdmin(_ReadOnly):
    date_hierarchy = "created_at"
    list_display = ["msg_id", "event_type", "key", "user", "created_at"]
    list_filter = ["event_type"]
    search_fields = ["msg_id", "user__email", "key"]
    list_select_related = ["user"]
    fields = ["msg_id", "user", "event_type", "key", "payload", "created_at"]
    readonly_fields = fields


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "status_code", "latency_ms", "response_excerpt", "error", "manual"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    date_hierarchy = "created_at"
    list_display = ["message", "endpoint", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["message__msg_id", "endpoint__url", "endpoint__user__email"]
    list_select_related = ["message", "endpoint"]
    fields = [
        "message",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(_ReadOnly):
    date_hierarchy = "attempted_at"
    list_display = ["delivery", "attempted_at", "status_code", "latency_ms", "manual"]
    list_filter = ["manual"]
    search_fields = ["delivery__message__msg_id", "delivery__endpoint__url"]
    list_select_related = ["delivery__message", "delivery__endpoint"]
    fields = [
        "delivery",
        "attempted_at",
        "status_code",
        "latency_ms",
        "response_excerpt",
        "error",
        "manual",
    ]
    readonly_fields = fields


@admin.register(ApiToken)
class ApiTokenAdmin(_ReadOnly):
    """People's API tokens: support sees when each was used and may revoke one (a leaked
    token). Only the prefix is shown; the token itself is never stored."""

    show_full_result_count = True
    date_hierarchy = "created_at"
    list_display = ["name", "prefix", "user", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "name", "prefix"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_tokens"]

    @admin.action(description=_("Revoke selected API tokens"))
    def revoke_tokens(self, request, queryset):
        from accounts.api_tokens import api_token_revoke

        apply_each(
            self,
            request,
            queryset.filter(revoked_at__isnull=True),
            lambda token: api_token_revoke(token=token),
            done=lambda n: (
                ngettext("%(count)s API token revoked.", "%(count)s API tokens revoked.", n)
                % {"count": n}
            ),
        )
