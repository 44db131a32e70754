from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from crm.models import Team


class AccessControlledAdmin(admin.ModelAdmin):
    """Admin uses the same permission layer as the pages: rows through visible_to, changes through editable_by."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        manager = self.model._default_manager
        if hasattr(manager, "visible_to"):
            qs = qs & manager.visible_to(request.user)
        return qs

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


# The user admin gets a search so that other admins can autocomplete users.
admin.site.unregister(User)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    list_filter = ["is_active", "is_staff", "groups"]
