"""Django admin for contacts, usable with a million rows: searches hit indexed columns,
foreign keys are raw ids or autocompletes, lists select their relations in one query,
and the change list does not count the whole table."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from contacts.models import (
    Activity,
    Attachment,
    Employment,
    ImportJob,
    MergeRecord,
    Organization,
    OrganizationAddress,
    Person,
    Tag,
)
from crm.admin import AccessControlledAdmin


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "color"]


class AddressInline(admin.TabularInline):
    model = OrganizationAddress
    extra = 0


class EmploymentInline(admin.TabularInline):
    model = Employment
    extra = 0
    raw_id_fields = ["person", "organization"]


@admin.register(Organization)
class OrganizationAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["name", "legal_form", "relationship", "industry", "country", "owner", "updated_at"]
    list_filter = ["relationship", "industry", "legal_form", "country"]
    search_fields = ["name", "=email"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner", "tags"]
    inlines = [AddressInline]
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Person)
class PersonAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["last_name", "first_name", "email", "lifecycle_stage", "country", "owner", "updated_at"]
    list_filter = ["lifecycle_stage", "source", "preferred_language", "country"]
    search_fields = ["last_name", "first_name", "=email"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner", "tags"]
    inlines = [EmploymentInline]
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Activity)
class ActivityAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["subject", "kind", "occurred_at", "person", "organization", "assignee", "done"]
    list_filter = ["kind", "done"]
    search_fields = ["subject"]
    list_select_related = ["person", "organization", "assignee"]
    raw_id_fields = ["person", "organization"]
    autocomplete_fields = ["assignee", "created_by"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(AccessControlledAdmin):
    list_display = ["name", "size", "uploaded_by", "uploaded_at", "person", "organization"]
    search_fields = ["name"]
    list_select_related = ["uploaded_by", "person", "organization"]
    raw_id_fields = ["person", "organization"]
    autocomplete_fields = ["uploaded_by"]
    show_full_result_count = False


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    list_display = ["kind", "merged_label", "survivor_id", "merged_by", "merged_at"]
    list_filter = ["kind"]
    search_fields = ["merged_label"]
    list_select_related = ["merged_by"]
    readonly_fields = [f.name for f in MergeRecord._meta.fields]


@admin.register(ImportJob)
class ImportJobAdmin(AccessControlledAdmin):
    list_display = ["original_name", "target", "status", "created_count", "skipped_count", "rejected_count", "created_by", "created_at"]
    list_filter = ["target", "status"]
    search_fields = ["original_name"]
    list_select_related = ["created_by"]
    readonly_fields = ["errors", "headers", "mapping"]
