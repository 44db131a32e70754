from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm import customfields
from crm.models import (
    ApiToken,
    CustomField,
    PrivacyRequest,
    Team,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from crm.search import substring_condition
from crm.text import query_terms


class AccessControlledAdmin(admin.ModelAdmin):
    """Admin uses the same permission layer as the pages: rows through visible_to, changes through editable_by."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        manager = self.model._default_manager
        if hasattr(manager, "visible_to"):
            qs = qs & manager.visible_to(request.user)
        return qs

    def get_search_results(self, request, queryset, search_term):
        """Models in the global search are searched the same way here: through the indexed,
        accent-folded search key (a trigram GIN index on Postgres), not LIKE scans per column."""
        if search_term.strip() and any(f.name == "search_key" for f in self.model._meta.get_fields()):
            terms = query_terms(search_term)
            return (queryset.filter(substring_condition(terms)) if terms else queryset.none()), False
        return super().get_search_results(request, queryset, search_term)

    def get_form(self, request, obj=None, change=False, **kwargs):
        """A model with custom fields gets its JSON checked as every other write path checks it."""
        form = super().get_form(request, obj, change, **kwargs)
        if "custom_fields" not in form.base_fields:
            return form
        model, user = self.model, request.user

        def clean_custom_fields(self):
            value = self.cleaned_data.get("custom_fields") or {}
            if not isinstance(value, dict):
                raise ValidationError(_("Enter an object of field keys and values."))
            defined = {d.key for d in customfields.definitions(model, user)}
            current = self.instance.custom_fields or {}
            # The object is the whole set: a defined key left out is emptied.
            data = {**{key: None for key in current if key in defined}, **value}
            try:
                return customfields.clean_values(model, data, user=user, instance=self.instance)
            except ValidationError as error:
                raise ValidationError([f"{key}: {' '.join(messages)}" for key, messages in error.message_dict.items()]) from None

        return type(form.__name__, (form,), {"clean_custom_fields": clean_custom_fields})

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and hasattr(self.model._default_manager, "editable_by"):
            return self.model._default_manager.editable_by(request.user).filter(pk=obj.pk).exists()
        return allowed

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if allowed and obj is not None and hasattr(self.model._default_manager, "editable_by"):
            return self.model._default_manager.editable_by(request.user).filter(pk=obj.pk).exists()
        return allowed


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager"]
    search_fields = ["name"]
    autocomplete_fields = ["manager"]
    filter_horizontal = ["members"]
    list_select_related = ["manager"]


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    """The data-protection log is evidence: it can be read, not changed."""

    list_display = ["performed_at", "kind", "person_id", "performed_by"]
    list_filter = ["kind"]
    search_fields = ["=person_id"]
    list_select_related = ["performed_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The user admin gets a search so that other admins can autocomplete users.
admin.site.unregister(User)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    list_filter = ["is_active", "is_staff", "groups"]


@admin.register(ApiToken)
class ApiTokenAdmin(AccessControlledAdmin):
    """Every user's API tokens: admins see who holds which and revoke a leaked one. Tokens are
    made on the user's own page (the secret is shown there once), never here."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "last_used_from", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["=prefix", "name", "user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at", "last_used_from", "revoked_at", "revoked_by"]
    fields = ["name", "user", "scope", "prefix", "created_at", "expires_at", "last_used_at", "last_used_from", "revoked_at", "revoked_by"]
    actions = ["revoke"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke(by=request.user)


# --- webhooks ----------------------------------------------------------------------------------



@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "description", "is_active", "consecutive_failures", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    # The secrets sign; they are shown once on the CRM's own page, not here.
    exclude = ("secret", "previous_secret", "lease_until", "lease_owner")
    readonly_fields = ("previous_secret_expires_at", "disabled_at", "consecutive_failures", "retry_at", "created_at")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("started_at", "status_code", "duration_ms", "response_excerpt", "error")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "state", "attempts", "last_status", "created_at")
    list_filter = ("state", "endpoint")
    raw_id_fields = ("event", "endpoint")
    inlines = [WebhookAttemptInline]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("msg_id", "event_type", "kind", "object_id", "occurred_at")
    list_filter = ("event_type",)
    search_fields = ("msg_id",)


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """The settings page (/settings/fields/) is the place to change fields: it checks type changes
    and deletes values with their field. Here they can be looked at."""

    list_display = ("label_de", "key", "model", "type", "group", "order", "required", "is_personal")
    list_filter = ("model", "type", "is_personal")
    search_fields = ("label_de", "label_en", "key")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
