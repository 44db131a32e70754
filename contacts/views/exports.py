"""CSV exports of the people and organization lists, with the list's filters applied."""

from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contacts.filters import OrganizationFilter, PersonFilter
from contacts.models import Organization, Person
from contacts.services.exporting import organization_export_rows, person_export_rows
from crm.access import role_required
from crm.downloads import csv_response
from crm.roles import EXPORT_ROLES


@require_GET
@role_required(*EXPORT_ROLES)
def person_export(request):
    filterset = PersonFilter(request.GET or None, queryset=Person.objects.visible_to(request.user), request=request)
    queryset = filterset.qs
    if request.GET.get("organization"):
        # Filtering through employments may join several rows per person.
        queryset = queryset.distinct()
    header, rows = person_export_rows(queryset)
    return csv_response(_("people"), header, rows)


@require_GET
@role_required(*EXPORT_ROLES)
def organization_export(request):
    filterset = OrganizationFilter(
        request.GET or None, queryset=Organization.objects.visible_to(request.user), request=request
    )
    header, rows = organization_export_rows(filterset.qs)
    return csv_response(_("organizations"), header, rows)
