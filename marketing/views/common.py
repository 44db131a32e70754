"""Pieces shared by the marketing pages."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.generic import CreateView, UpdateView

from crm.access import RoleRequiredMixin, get_editable_or_403
from crm.breadcrumbs import BreadcrumbMixin
from marketing.models import EDIT_ROLES, READ_ROLES


class ReadMixin(RoleRequiredMixin, BreadcrumbMixin):
    allowed_roles = READ_ROLES


class EditMixin(RoleRequiredMixin, BreadcrumbMixin):
    allowed_roles = EDIT_ROLES
    template_name = "marketing/form.html"
    success_message = ""
    trail: tuple = ()

    def form_valid(self, form):
        self.object = form.save()
        messages.success(self.request, self.success_message % {"name": self.object})
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        messages.error(self.request, _("Please correct the errors below."))
        return super().form_invalid(form)


class MarketingCreateView(EditMixin, CreateView):
    """Creating a marketing record: the shared permission, messages and breadcrumbs of EditMixin."""


class MarketingUpdateView(EditMixin, UpdateView):
    def get_object(self, queryset=None):
        return get_editable_or_403(self.model, self.request.user, pk=self.kwargs["pk"])
