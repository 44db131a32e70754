"""CSV and vCard exports of the people and organization lists, with the list's filters applied,
and the vCard of one person."""

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contacts.filters import OrganizationFilter, PersonFilter
from contacts.models import Organization, Person
from contacts.services import vcards
from contacts.services.exporting import organization_export_rows, person_export_rows
from crm.access import get_visible_or_404, role_required
from crm.downloads import csv_response
from crm.roles import EXPORT_ROLES

VCARD_CONTENT_TYPE = "text/vcard; charset=utf-8"


def _filtered_people(request):
    filterset = PersonFilter(request.GET or None, queryset=Person.objects.visible_to(request.user), request=request)
    queryset = filterset.qs
    if request.GET.get("organization"):
        # Filtering through employments may join several rows per person.
        queryset = queryset.distinct()
    return queryset


def _vcard_version(request) -> str:
    version = request.GET.get("version", "3.0")
    return version if version in vcards.VERSIONS else "3.0"


def _attachment(response, name: str):
    response["Content-Disposition"] = f'attachment; filename="{name}.vcf"'
    return response


@require_GET
@role_required(*EXPORT_ROLES)
def person_export(request):
    header, rows = person_export_rows(_filtered_people(request), user=request.user)
    return csv_response(_("people"), header, rows)


@require_GET
@role_required(*EXPORT_ROLES)
def person_export_vcard(request):
    """The list's people as one .vcf file; the same roles as the CSV export may download it."""
    cards = vcards.people_vcards(_filtered_people(request), version=_vcard_version(request))
    response = StreamingHttpResponse(cards, content_type=VCARD_CONTENT_TYPE)
    return _attachment(response, f"{slugify(_('people'))}-{timezone.localdate():%Y-%m-%d}")


@require_GET
@role_required(record=Person)
def person_vcard(request, pk: int):
    """One person's vCard, for whoever may see the person (the card shows what the page shows)."""
    person = get_visible_or_404(Person, request.user, pk=pk)
    card = vcards.person_vcard(person, version=_vcard_version(request))
    return _attachment(HttpResponse(card, content_type=VCARD_CONTENT_TYPE), slugify(person.full_name) or f"person-{pk}")


@require_GET
@role_required(*EXPORT_ROLES)
def organization_export(request):
    filterset = OrganizationFilter(
        request.GET or None, queryset=Organization.objects.visible_to(request.user), request=request
    )
    header, rows = organization_export_rows(filterset.qs, user=request.user)
    return csv_response(_("organizations"), header, rows)
