from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.filters import PersonFilter
from contacts.forms.records import EmploymentFormSet, PersonForm
from contacts.models import Employment, Person
from contacts.views.common import (
    RecordCreateView,
    RecordDeleteView,
    RecordDetailView,
    RecordUpdateView,
    render_history,
    timeline_context,
)
from crm import outbox
from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.forms import parse_id
from crm.lists import FilteredListView
from crm.roles import EXPORT_ROLES, IMPORT_ROLES, has_role
from crm.search import clean_query, is_searchable, search_queryset
from crm.widgets import autocomplete_options


def _trail():
    return [crumb(_("People"), "contacts:person_list")]


def _employments_prefetch():
    return Prefetch(
        "employments",
        queryset=Employment.objects.select_related("organization").only(
            "id", "person_id", "position", "is_primary", "organization__id", "organization__name"
        ).order_by("-is_primary", "pk"),
    )


class PersonListView(FilteredListView):
    model = Person
    filterset_class = PersonFilter
    template_name = "contacts/person_list.html"
    table_template = "contacts/partials/person_table.html"
    sort_fields = {
        "name": ("last_name", "first_name"),
        "email": ("email",),
        "city": ("city", "last_name"),
        "lifecycle": ("lifecycle_stage", "last_name"),
        "owner": ("owner__last_name", "owner__first_name"),
        "updated": ("updated_at",),
    }
    default_sort = "name"

    def base_queryset(self):
        return (
            super()
            .base_queryset()
            .select_related("owner")
            .prefetch_related(_employments_prefetch())
            .only(
                "id", "academic_title", "first_name", "last_name", "email", "phone", "city", "lifecycle_stage",
                "updated_at", "owner__id", "owner__first_name", "owner__last_name", "owner__username",
            )
        )

    def get_queryset(self):
        qs = super().get_queryset()
        # Filtering through employments may join several rows per person.
        return qs.distinct() if self.request.GET.get("organization") else qs

    def get_breadcrumbs(self):
        return [crumb(_("People"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(can_export=has_role(user, *EXPORT_ROLES), can_import=has_role(user, *IMPORT_ROLES))
        return context


class PersonDetailView(RecordDetailView):
    model = Person
    template_name = "contacts/person_detail.html"

    def get_breadcrumbs(self):
        primary = next(iter(self.employments), None)
        trail = _trail()
        if primary is not None:
            trail = [
                crumb(_("Organizations"), "contacts:organization_list"),
                crumb(primary.organization.name, url=primary.organization.get_absolute_url()),
            ]
        return [*trail, crumb(self.object.full_name)]

    def get_context_data(self, **kwargs):
        person = self.object
        self.employments = list(
            Employment.objects.filter(person=person).select_related("organization").order_by("-is_primary", "pk")
        )
        context = super().get_context_data(**kwargs)
        context.update(
            employments=self.employments,
            tags=list(person.tags.all()),
            about={"person": person.pk},
            # The emails written to the person in the CRM, with their delivery state.
            emails=outbox.emails_about(person, limit=10),
            **timeline_context(self.request, person=person),
        )
        return context


class PersonCreateView(RecordCreateView):
    model = Person
    form_class = PersonForm
    formset_class = EmploymentFormSet
    template_name = "contacts/person_form.html"
    success_message = gettext_lazy("“%(name)s” was created.")

    def get_initial(self):
        initial = super().get_initial()
        initial["source"] = Person.Source.OTHER
        return initial

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New person"))]


class PersonUpdateView(RecordUpdateView):
    model = Person
    form_class = PersonForm
    formset_class = EmploymentFormSet
    template_name = "contacts/person_form.html"
    success_message = gettext_lazy("“%(name)s” was saved.")

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.full_name, url=self.object.get_absolute_url()), crumb(_("Edit"))]


class PersonDeleteView(RecordDeleteView):
    model = Person
    success_url = reverse_lazy("contacts:person_list")

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.full_name, url=self.object.get_absolute_url()), crumb(_("Delete"))]


@role_required()
def person_history(request, pk: int):
    return render_history(request, get_visible_or_404(Person, request.user, pk=pk), _trail())


@role_required()
def person_autocomplete(request):
    """Suggestions for person fields (crm.widgets.AutocompleteWidget): name, then organization.
    `organization` narrows them to its people (a deal's contacts)."""
    query = clean_query(request.GET.get(f"{request.GET.get('field', '')}__text") or request.GET.get("q"))
    options = []
    if is_searchable(query):
        people = Person.objects.visible_to(request.user).only(
            "id", "academic_title", "first_name", "last_name", "email", "search_key"
        )
        organization_id = parse_id(request.GET.get("organization", ""))
        if organization_id is not None:
            people = people.filter(employments__organization_id=organization_id)
        found = search_queryset(people.with_organization_names(request.user), query, 8)
        options = autocomplete_options(found, detail=lambda p: " · ".join(x for x in [p.organization_label, p.email] if x))
    return render(request, "includes/autocomplete_options.html", {"options": options, "query": query})
