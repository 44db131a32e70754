"""Django admin for the service set-up (teams, skills, calendars, SLA policies, canned replies)
and for tickets, usable with 500,000 of them: raw ids for big foreign keys, no full count."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm.admin import AccessControlledAdmin
from service.models import (
    AgentProfile,
    BusinessCalendar,
    CannedReply,
    Category,
    ClosedDay,
    CustomerTier,
    Escalation,
    InboundEmail,
    PortalAccess,
    SatisfactionSurvey,
    ServiceTeam,
    SLAPolicy,
    Ticket,
    TicketMessage,
)


class ClosedDayInline(admin.TabularInline):
    model = ClosedDay
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "subdivision", "opens_at", "closes_at"]
    inlines = [ClosedDayInline]


@admin.register(ServiceTeam)
class ServiceTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "calendar"]
    filter_horizontal = ["agents"]
    search_fields = ["name"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "team"]
    search_fields = ["name"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "capacity", "works_from", "works_until", "absent"]
    list_filter = ["absent"]
    filter_horizontal = ["categories"]
    raw_id_fields = ["user"]


@admin.register(CustomerTier)
class CustomerTierAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tier", "note"]
    raw_id_fields = ["organization", "person"]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "first_response_hours", "resolution_hours", "calendar"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "team"]
    search_fields = ["title"]


class TicketMessageInline(admin.StackedInline):
    model = TicketMessage
    extra = 0
    raw_id_fields = ["author"]


@admin.register(Ticket)
class TicketAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["__str__", "status", "priority", "team", "assignee", "resolution_due"]
    list_filter = ["status", "priority", "team", "channel", "is_complaint"]
    list_select_related = ["team", "assignee"]
    search_fields = ["subject"]
    raw_id_fields = ["person", "organization", "assignee", "merged_into"]
    filter_horizontal = ["tags"]
    show_full_result_count = False
    inlines = [TicketMessageInline]


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "message_id", "ticket"]
    list_filter = ["status"]
    raw_id_fields = ["ticket"]
    show_full_result_count = False


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["ticket", "stage", "created_at"]
    raw_id_fields = ["ticket"]
    show_full_result_count = False


@admin.register(SatisfactionSurvey)
class SatisfactionSurveyAdmin(admin.ModelAdmin):
    list_display = ["ticket", "rating", "agent", "team", "answered_at"]
    raw_id_fields = ["ticket", "agent"]
    show_full_result_count = False


@admin.register(PortalAccess)
class PortalAccessAdmin(admin.ModelAdmin):
    list_display = ["person", "sees_organization_tickets", "is_active", "last_login_at"]
    raw_id_fields = ["person"]
