from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.filters import OrganizationFilter
from contacts.forms.records import AddressFormSet, OrganizationForm
from contacts.models import Employment, Organization
from contacts.views.common import (
    RecordCreateView,
    RecordDeleteView,
    RecordDetailView,
    RecordUpdateView,
    timeline_context,
)
from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.lists import FilteredListView
from crm.roles import EXPORT_ROLES, IMPORT_ROLES, has_role
from crm.search import clean_query, is_searchable, search_queryset
from crm.views import RecordHistoryView
from crm.widgets import autocomplete_options

PEOPLE_ON_DETAIL = 50


def _trail():
    return [crumb(_("Organizations"), "contacts:organization_list")]


class OrganizationListView(FilteredListView):
    model = Organization
    filterset_class = OrganizationFilter
    template_name = "contacts/organization_list.html"
    table_template = "contacts/partials/organization_table.html"
    sort_fields = {
        "name": ("name",),
        "relationship": ("relationship", "name"),
        "industry": ("industry", "name"),
        "country": ("country", "name"),
        "owner": ("owner__last_name", "owner__first_name"),
        "updated": ("updated_at",),
    }
    default_sort = "name"

    def base_queryset(self):
        return (
            super()
            .base_queryset()
            .select_related("owner")
            .only(
                "id", "name", "legal_form", "relationship", "industry", "country", "updated_at",
                "owner__id", "owner__first_name", "owner__last_name", "owner__username",
            )
        )

    def get_breadcrumbs(self):
        return [crumb(_("Organizations"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(can_export=has_role(user, *EXPORT_ROLES), can_import=has_role(user, *IMPORT_ROLES))
        return context


class OrganizationDetailView(RecordDetailView):
    model = Organization
    template_name = "contacts/organization_detail.html"

    def get_object(self, queryset=None):
        return get_visible_or_404(Organization, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        org = self.object
        employments = list(
            Employment.objects.filter(organization=org)
            .select_related("person")
            .order_by("person__last_name", "person__first_name")[: PEOPLE_ON_DETAIL + 1]
        )
        context.update(
            employments=employments[:PEOPLE_ON_DETAIL],
            more_people=len(employments) > PEOPLE_ON_DETAIL,
            addresses=list(org.addresses.all()),
            tags=list(org.tags.all()),
            about={"organization": org.pk},
            **timeline_context(self.request, organization=org),
        )
        return context


class OrganizationCreateView(RecordCreateView):
    model = Organization
    form_class = OrganizationForm
    formset_class = AddressFormSet
    template_name = "contacts/organization_form.html"
    success_message = gettext_lazy("Organization “%(name)s” was created.")

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New organization"))]


class OrganizationUpdateView(RecordUpdateView):
    model = Organization
    form_class = OrganizationForm
    formset_class = AddressFormSet
    template_name = "contacts/organization_form.html"
    success_message = gettext_lazy("Organization “%(name)s” was saved.")

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name, url=self.object.get_absolute_url()), crumb(_("Edit"))]


class OrganizationDeleteView(RecordDeleteView):
    model = Organization
    success_url = reverse_lazy("contacts:organization_list")

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name, url=self.object.get_absolute_url()), crumb(_("Delete"))]


organization_history = RecordHistoryView.as_view(model=Organization, trail=_trail)



@role_required()
def organization_autocomplete(request):
    """Suggestions for organization fields (crm.widgets.AutocompleteWidget)."""
    query = clean_query(request.GET.get(f"{request.GET.get('field', '')}__text") or request.GET.get("q"))
    objects = []
    if is_searchable(query):
        objects = search_queryset(Organization.objects.visible_to(request.user).only("id", "name", "search_key"), query, 8)
    options = autocomplete_options(objects)
    return render(request, "includes/autocomplete_options.html", {"options": options, "query": query})
