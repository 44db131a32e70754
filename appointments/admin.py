from django.contrib import admin

from appointments.models import (
    Appointment,
    AppointmentType,
    Availability,
    AvailabilityException,
    Reminder,
    SlotOffer,
    WorkingHours,
)
from crm.admin import AccessControlledAdmin


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Availability)
class AvailabilityAdmin(AccessControlledAdmin):
    list_display = ("user", "time_zone", "holiday_subdivision")
    search_fields = ("user__username", "user__last_name")
    raw_id_fields = ("user",)
    inlines = [WorkingHoursInline]
    show_full_result_count = False


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(AccessControlledAdmin):
    list_display = ("user", "kind", "start", "end")
    list_filter = ("kind",)
    raw_id_fields = ("user",)
    show_full_result_count = False


@admin.register(AppointmentType)
class AppointmentTypeAdmin(AccessControlledAdmin):
    list_display = ("name", "duration", "host_user", "host_team", "assignment", "is_active")
    list_filter = ("is_active", "location_kind", "assignment")
    search_fields = ("name",)
    raw_id_fields = ("host_user",)
    show_full_result_count = False


@admin.register(Appointment)
class AppointmentAdmin(AccessControlledAdmin):
    list_display = ("start", "customer_name", "appointment_type", "host", "status")
    list_filter = ("status",)
    search_fields = ("=customer_email", "customer_name")
    list_select_related = ("appointment_type", "host")
    raw_id_fields = ("host", "person", "appointment_type", "created_by")
    readonly_fields = ("uid", "sequence", "start", "end")
    show_full_result_count = False


@admin.register(SlotOffer)
class SlotOfferAdmin(AccessControlledAdmin):
    list_display = ("created_at", "customer_email", "appointment_type", "mode")
    raw_id_fields = ("person", "created_by", "appointment_type")
    show_full_result_count = False


@admin.register(Reminder)
class ReminderAdmin(AccessControlledAdmin):
    list_display = ("appointment", "offset", "claimed_at", "sent_at")
    raw_id_fields = ("appointment",)
    show_full_result_count = False
