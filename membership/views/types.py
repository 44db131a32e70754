"""Membership types: list, create, edit."""

from django.contrib import messages
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import CreateView, UpdateView

from crm.access import RoleRequiredMixin, get_editable_or_403
from crm.breadcrumbs import BreadcrumbMixin, crumb
from crm.lists import FilteredListView
from crm.roles import MEMBERSHIP_ROLES
from crm.views import RecordHistoryView
from membership.filters import MembershipTypeFilter
from membership.forms import MembershipTypeForm
from membership.models import Member, MembershipType


def _trail():
    return [crumb(gettext_lazy("Members"), "membership:member_list"), crumb(gettext_lazy("Membership types"), "membership:type_list")]


class MembershipTypeListView(FilteredListView):
    model = MembershipType
    allowed_roles = MEMBERSHIP_ROLES
    filterset_class = MembershipTypeFilter
    template_name = "membership/type_list.html"
    table_template = "membership/partials/type_table.html"
    sort_fields = {"name": ("name",), "fee": ("fee", "name")}
    default_sort = "name"

    def get_context_data(self, **kwargs):
        from django.db.models import Count

        context = super().get_context_data(**kwargs)
        ids = [kind.pk for kind in context["object_list"]]
        counts = dict(
            Member.objects.filter(membership_type_id__in=ids).exclude(status=Member.Status.ENDED)
            .values_list("membership_type").annotate(n=Count("pk")).values_list("membership_type", "n")
        )
        for kind in context["object_list"]:
            kind.current_members = counts.get(kind.pk, 0)
        return context

    def get_breadcrumbs(self):
        return [crumb(_("Members"), "membership:member_list"), crumb(_("Membership types"))]


class MembershipTypeFormMixin(RoleRequiredMixin, BreadcrumbMixin):
    model = MembershipType
    allowed_roles = MEMBERSHIP_ROLES
    form_class = MembershipTypeForm
    template_name = "membership/type_form.html"

    def get_success_url(self):
        return reverse("membership:type_list")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Membership type “%(name)s” saved.") % {"name": self.object.name})
        return response


class MembershipTypeCreateView(MembershipTypeFormMixin, CreateView):
    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New membership type"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("New membership type"), "cancel_url": reverse("membership:type_list")}


class MembershipTypeUpdateView(MembershipTypeFormMixin, UpdateView):
    def get_object(self, queryset=None):
        return get_editable_or_403(MembershipType, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": self.object.name, "cancel_url": reverse("membership:type_list")}



type_history = RecordHistoryView.as_view(model=MembershipType, trail=_trail)
