"""What the global search finds in contacts."""

from django.utils.translation import gettext_lazy as _

from contacts.models import Organization, Person
from crm.search import SearchProvider


def _describe_person(person: Person) -> tuple[str, str]:
    return person.full_name, " · ".join(p for p in [person.organization_label, person.email, person.city] if p)


def _describe_organization(organization: Organization) -> tuple[str, str]:
    return organization.name, " · ".join(
        p for p in [organization.get_relationship_display(), organization.get_industry_display()] if p
    )


PROVIDERS = [
    SearchProvider(
        kind="person",
        label=_("People"),
        model=Person,
        describe=_describe_person,
        icon="person",
        order=10,
        only=("id", "academic_title", "first_name", "last_name", "email", "city", "search_key"),
        prepare=lambda qs, user: qs.with_organization_names(user),
    ),
    SearchProvider(
        kind="organization",
        label=_("Organizations"),
        model=Organization,
        describe=_describe_organization,
        icon="building",
        order=20,
        only=("id", "name", "relationship", "industry", "search_key"),
    ),
]
