"""Django admin for marketing: big tables use raw ids and do not count every row."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm.admin import AccessControlledAdmin
from marketing.models import (
    Campaign,
    CampaignMember,
    Consent,
    ConsentEvent,
    Delivery,
    EmailAddressStatus,
    EmailTemplate,
    Segment,
    SuppressedAddress,
    TrackingEvent,
    WebForm,
    WebFormSubmission,
)


@admin.register(Campaign)
class CampaignAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["name", "code", "channel", "status", "start_date", "owner"]
    list_filter = ["channel", "status"]
    search_fields = ["name", "=code"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    filter_horizontal = ["segments"]
    show_full_result_count = False


@admin.register(Segment)
class SegmentAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["name", "owner", "updated_at"]
    search_fields = ["name"]
    raw_id_fields = ["owner"]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["name", "language", "subject"]
    list_filter = ["language"]
    search_fields = ["name"]


@admin.register(CampaignMember)
class CampaignMemberAdmin(AccessControlledAdmin):
    list_display = ["campaign", "person", "status", "call_outcome"]
    list_filter = ["status", "call_outcome"]
    raw_id_fields = ["campaign", "person", "called_by"]
    list_select_related = ["campaign", "person"]
    show_full_result_count = False


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    raw_id_fields = ["person", "campaign", "recorded_by"]
    readonly_fields = ["action", "purpose", "channel", "source", "text_version", "ip_address", "user_agent", "occurred_at"]


@admin.register(Consent)
class ConsentAdmin(AccessControlledAdmin):
    list_display = ["person", "purpose", "channel", "status", "source", "changed_at"]
    list_filter = ["purpose", "channel", "status", "source"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]
    inlines = [ConsentEventInline]
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(AccessControlledAdmin):
    list_display = ["email", "campaign", "status", "sent_at", "attempts"]
    list_filter = ["status"]
    search_fields = ["=email"]
    raw_id_fields = ["campaign", "person"]
    list_select_related = ["campaign"]
    show_full_result_count = False


@admin.register(TrackingEvent)
class TrackingEventAdmin(AccessControlledAdmin):
    list_display = ["kind", "campaign", "person", "url", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["delivery", "campaign", "person"]
    show_full_result_count = False


@admin.register(EmailAddressStatus)
class EmailAddressStatusAdmin(AccessControlledAdmin):
    list_display = ["email", "status", "reason", "recorded_at"]
    search_fields = ["=email"]
    raw_id_fields = ["campaign"]


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(AccessControlledAdmin):
    """The erased addresses, as hashes: searching for an address finds its hash."""

    list_display = ["email_hash", "recorded_at"]
    search_fields = ["=email_hash"]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        from marketing.privacy import email_hashes

        term = search_term.strip()
        if "@" in term:
            return queryset.filter(email_hash__in=email_hashes(term)), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebForm)
class WebFormAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["name", "key", "campaign", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["campaign", "owner"]


@admin.register(WebFormSubmission)
class WebFormSubmissionAdmin(AccessControlledAdmin):
    list_display = ["form", "person", "wants_newsletter", "created_at"]
    raw_id_fields = ["form", "person"]
    show_full_result_count = False
