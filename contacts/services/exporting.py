"""CSV export of people and organizations, streamed so that a big export never sits in memory.

The files open correctly in a German Excel and are safe against CSV injection (crm.downloads)
and re-import through contacts.services.importing: the headers are the import's column labels
and the choice labels are accepted on import.
"""

from collections.abc import Iterator

from django.db.models import OuterRef, Subquery
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from contacts.models import Employment, Organization, OrganizationAddress, Person
from crm import customfields

CHUNK_SIZE = 2000


def _owner_label(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _tags(obj) -> str:
    return ", ".join(tag.name for tag in obj.tags.all())


def _phone(number):
    """The PhoneNumber itself: crm.downloads writes a valid one without the formula guard."""
    return number if number else ""


def _amount(value) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def _label(model, name: str) -> str:
    return capfirst(str(model._meta.get_field(name).verbose_name))


def person_export_rows(queryset, *, user=None) -> tuple[list[str], Iterator[list]]:
    """Header and rows for `queryset` (already filtered and restricted to what the user may see),
    with the custom fields `user` may see (their label as the header; a reference as its id)."""
    primary = Employment.objects.filter(person=OuterRef("pk")).order_by("-is_primary", "pk")
    queryset = (
        queryset.select_related("owner")
        .prefetch_related("tags")
        .annotate(
            main_organization=Subquery(primary.values("organization__name")[:1]),
            main_position=Subquery(primary.values("position")[:1]),
        )
        .order_by("last_name", "first_name", "pk")
    )
    fields = [
        "salutation", "academic_title", "first_name", "last_name", "email", "email_secondary", "phone", "mobile",
        "street", "postal_code", "city", "country", "birthday", "preferred_language", "lifecycle_stage", "source",
    ]
    header = [_label(Person, f) for f in fields] + [
        _("Organization"), _("Position"), _("Tags"), _("Owner"), _("Created"), _label(Person, "description"),
    ]
    extra = customfields.export_columns(Person, user)
    header += [d.label for d in extra]

    def rows():
        for p in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield [
                p.get_salutation_display() if p.salutation != Person.Salutation.NONE else "",
                p.get_academic_title_display() if p.academic_title else "",
                p.first_name, p.last_name, p.email, p.email_secondary, _phone(p.phone), _phone(p.mobile),
                p.street, p.postal_code, p.city, p.country.code if p.country else "", p.birthday,
                p.get_preferred_language_display(), p.get_lifecycle_stage_display(),
                p.get_source_display() if p.source else "",
                p.main_organization or "", p.main_position or "", _tags(p), _owner_label(p.owner), p.created_at,
                p.description, *(customfields.export_value(d, p.custom_fields) for d in extra),
            ]

    return header, rows()


def organization_export_rows(queryset, *, user=None) -> tuple[list[str], Iterator[list]]:
    main = OrganizationAddress.objects.filter(organization=OuterRef("pk"), kind=OrganizationAddress.Kind.MAIN).order_by("pk")
    queryset = (
        queryset.select_related("owner")
        .prefetch_related("tags")
        .annotate(
            main_street=Subquery(main.values("street")[:1]),
            main_postal_code=Subquery(main.values("postal_code")[:1]),
            main_city=Subquery(main.values("city")[:1]),
        )
        .order_by("name", "pk")
    )
    fields = ["name", "legal_form", "industry", "relationship", "website", "phone", "email"]
    header = [_label(Organization, f) for f in fields] + [
        _label(OrganizationAddress, "street"), _label(OrganizationAddress, "postal_code"),
        _label(OrganizationAddress, "city"), _label(Organization, "country"), _label(Organization, "employees"),
        _label(Organization, "annual_revenue"), _label(Organization, "description"),
        _("Tags"), _("Owner"), _("Created"),
    ]
    extra = customfields.export_columns(Organization, user)
    header += [d.label for d in extra]

    def rows():
        for o in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield [
                o.name, o.get_legal_form_display() if o.legal_form else "",
                o.get_industry_display() if o.industry else "", o.get_relationship_display(),
                o.website, _phone(o.phone), o.email,
                o.main_street or "", o.main_postal_code or "", o.main_city or "",
                o.country.code if o.country else "", "" if o.employees is None else o.employees,
                _amount(o.annual_revenue), o.description, _tags(o), _owner_label(o.owner), o.created_at,
                *(customfields.export_value(d, o.custom_fields) for d in extra),
            ]

    return header, rows()
