"""The view side of the permission layer.

Record-level rules live on each model's QuerySet (`visible_to(user)`, `editable_by(user)`);
this module answers "may this user use this page at all" from the user's roles, and loads
records through those querysets so that a record the user may not see is a 404.
"""

from functools import wraps

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from crm.roles import ALL_ROLES, has_role


class RoleRequiredMixin(LoginRequiredMixin):
    """Logged in and holding one of `allowed_roles`, else 403."""

    allowed_roles: tuple[str, ...] = ALL_ROLES

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_role(request.user, *self.allowed_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def role_required(*roles: str):
    """Function-view twin of RoleRequiredMixin."""
    allowed = roles or ALL_ROLES

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def get_visible_or_404(model, user, **lookup):
    return get_object_or_404(model.objects.visible_to(user), **lookup)


def get_editable_or_403(model, user, **lookup):
    """404 when the user may not see the record, 403 when they may see but not change it."""
    obj = get_visible_or_404(model, user, **lookup)
    if not model.objects.editable_by(user).filter(pk=obj.pk).exists():
        raise PermissionDenied
    return obj
