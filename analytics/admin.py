"""Dashboard snapshots in Django admin: to see which dashboards are in use and how long they take
to compute; read-only (beat writes them), deletable to force a recomputation."""

from django.contrib import admin

from analytics.models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "params", "language", "computed_at", "viewed_at", "compute_ms"]
    list_filter = ["name", "language"]
    list_select_related = ["user"]
    show_full_result_count = False
    raw_id_fields = ["user"]
    ordering = ["-viewed_at"]
    # The payload holds the figures the user may see; admins see every record anyway.
    readonly_fields = ["name", "user", "params", "language", "payload", "computed_at", "viewed_at", "compute_ms"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
