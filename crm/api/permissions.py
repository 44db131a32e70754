"""May this user use this endpoint at all: the page rules (a CRM role, the view's roles), and a
read-only token only reads. Which records they see and change is the querysets' business
(`visible_to`, `editable_by`), applied by the viewsets (crm.api.viewsets)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions

from crm.models import ApiToken
from crm.roles import ALL_ROLES, has_role, is_crm_user


class CrmUserPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if not is_crm_user(user):
            raise exceptions.PermissionDenied(_("Your account has no role in the CRM."))
        if not has_role(user, *getattr(view, "allowed_roles", ALL_ROLES)):
            raise exceptions.PermissionDenied(_("Your role may not use this part of the CRM."))
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and not token.can_write and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(_("This API token may only read."))
        write_roles = getattr(view, "write_roles", None)
        if write_roles is not None and request.method not in permissions.SAFE_METHODS and not has_role(user, *write_roles):
            raise exceptions.PermissionDenied(_("Your role may not change these records."))
        return True
