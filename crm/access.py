"""The view side of the permission layer.

Record-level rules live on each model's QuerySet (`visible_to(user)`, `editable_by(user)`);
this module answers "may this user use this page at all" from the user's roles, and loads
records through those querysets so that a record the user may not see is a 404.

The order matters on a record's pages: a record the user may not see answers 404 on every one
of its URLs (detail, edit, every POST action), whatever the user's roles; only a record they may
see but not change answers 403. So a role check that fails on a record's URL first looks the
record up: otherwise "403 on edit, 404 on the page" would tell that the record exists.
"""

from functools import wraps

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.views.generic.detail import BaseDetailView
from django.views.generic.edit import BaseDeleteView, BaseUpdateView

from crm.roles import ALL_ROLES, has_role


def refuse(user, record=None, pk=None):
    """The answer to a user whose roles do not allow the page: 404 if the page belongs to a
    record they may not see, else 403."""
    if record is not None and pk is not None:
        get_visible_or_404(record, user, pk=pk)
    raise PermissionDenied


class RoleRequiredMixin(LoginRequiredMixin):
    """Logged in and holding one of `allowed_roles`, else 403 (404 on the pages of a record the
    user may not see: detail, update and delete views look up their `model` by `pk_url_kwarg`)."""

    allowed_roles: tuple[str, ...] = ALL_ROLES
    # The record a page belongs to, when it is not the view's own `model` (e.g. a form for a child).
    record_model = None

    def _record_model(self):
        if self.record_model is not None:
            return self.record_model
        if isinstance(self, (BaseDetailView, BaseUpdateView, BaseDeleteView)):
            return getattr(self, "model", None)
        return None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_role(request.user, *self.allowed_roles):
            refuse(request.user, self._record_model(), self.kwargs.get(getattr(self, "pk_url_kwarg", "pk")))
        return super().dispatch(request, *args, **kwargs)


def role_required(*roles: str, record=None):
    """Function-view twin of RoleRequiredMixin; `record` is the model whose `pk` the URL names."""
    allowed = roles or ALL_ROLES

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *allowed):
                refuse(request.user, record, kwargs.get("pk"))
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
