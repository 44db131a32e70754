from django.contrib import admin

from crm.admin import AccessControlledAdmin
from membership.models import Member, MemberEvent, MembershipType


@admin.register(MembershipType)
class MembershipTypeAdmin(AccessControlledAdmin):
    list_display = ("name", "fee", "fee_period", "shared_by_household", "notice_months", "notice_to", "is_active")
    list_filter = ("is_active", "fee_period", "shared_by_household")
    search_fields = ("name",)
    show_full_result_count = False


class MemberEventInline(admin.TabularInline):
    model = MemberEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "status", "effective_on", "detail", "occurred_at", "by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(AccessControlledAdmin):
    list_display = ("member_number", "person", "organization", "membership_type", "status", "start_date", "end_date")
    list_filter = ("status", "membership_type", "end_reason")
    list_select_related = ("person", "organization", "membership_type")
    search_fields = ("=member_number",)
    raw_id_fields = ("person", "organization", "household_of", "created_by")
    readonly_fields = ("member_number",)
    inlines = [MemberEventInline]
    show_full_result_count = False
