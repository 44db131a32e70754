"""Data quality: which customer records lack what a team needs to work with them.

Four queries whatever the data size: one aggregate over people, one over organizations and one
each for the two kinds of duplicate groups. Every count is over the records the user may see,
narrowed to the scope's owners.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from analytics.figures import Figure
from analytics.scope import Scope, scope_from
from contacts.models import Activity, Employment, Organization, Person


def _url(name: str, scope: Scope, **query) -> str:
    if scope.owner_ids is not None and len(scope.owner_ids) == 1:
        query["owner"] = next(iter(scope.owner_ids))
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


def quality_scope(params):
    """The data-quality dashboard's filter form (owner, team; no period) and its scope."""
    return scope_from(params, with_period=False)


def compute(user, params) -> list[Figure]:
    """For analytics.snapshots: the figures of `user` for the filter `params`."""
    return data_quality(user=user, scope=quality_scope(params)[1])


def data_quality(*, user, scope: Scope) -> list[Figure]:
    cutoff = timezone.now() - timedelta(days=settings.CRM_STALE_DAYS)
    people = scope.owned(Person.objects.visible_to(user))
    organizations = scope.owned(Organization.objects.visible_to(user))

    person_recent = Activity.objects.filter(person=OuterRef("pk"), occurred_at__gte=cutoff)
    p = people.aggregate(
        total=Count("pk"),
        no_email=Count("pk", filter=Q(email="", email_secondary="")),
        no_phone=Count("pk", filter=(Q(phone="") | Q(phone__isnull=True)) & (Q(mobile="") | Q(mobile__isnull=True))),
        no_owner=Count("pk", filter=Q(owner__isnull=True)),
        no_organization=Count("pk", filter=~Exists(Employment.objects.filter(person=OuterRef("pk")))),
        stale=Count("pk", filter=Q(updated_at__lt=cutoff) & ~Exists(person_recent)),
    )
    org_recent = Activity.objects.filter(organization=OuterRef("pk"), occurred_at__gte=cutoff)
    o = organizations.aggregate(
        total=Count("pk"),
        no_owner=Count("pk", filter=Q(owner__isnull=True)),
        stale=Count("pk", filter=Q(updated_at__lt=cutoff) & ~Exists(org_recent)),
    )
    email_groups = (
        people.exclude(email="").values("email").annotate(n=Count("pk")).filter(n__gt=1).order_by().count()
    )
    name_groups = (
        organizations.exclude(name_key="").values("name_key").annotate(n=Count("pk")).filter(n__gt=1).order_by().count()
    )
    people_list, org_list = "contacts:person_list", "contacts:organization_list"
    stale_note = _("No change and no activity for %(days)s days.") % {"days": settings.CRM_STALE_DAYS}
    return [
        Figure("people_without_email", _("People without email"), p["no_email"], p["total"],
               _url(people_list, scope, missing="email"), _("Neither a first nor a second email address.")),
        Figure("people_without_phone", _("People without phone"), p["no_phone"], p["total"],
               _url(people_list, scope, missing="phone"), _("Neither a phone nor a mobile number.")),
        Figure("people_without_organization", _("People without organization"), p["no_organization"], p["total"],
               _url(people_list, scope, missing="organization"), _("Not linked to any organization.")),
        Figure("people_without_owner", _("People without owner"), p["no_owner"], p["total"],
               _url(people_list, scope, owner="null") if scope.owner_ids is None else "",
               _("Nobody is responsible for them.")),
        Figure("organizations_without_owner", _("Organizations without owner"), o["no_owner"], o["total"],
               _url(org_list, scope, owner="null") if scope.owner_ids is None else "",
               _("Nobody is responsible for them.")),
        Figure("stale_people", _("Stale people"), p["stale"], p["total"], _url(people_list, scope, stale="on"), stale_note),
        Figure("stale_organizations", _("Stale organizations"), o["stale"], o["total"],
               _url(org_list, scope, stale="on"), stale_note),
        Figure("duplicate_emails", _("Email addresses used by several people"), email_groups, None,
               f"{reverse('contacts:duplicate_list')}?tab=email",
               _("Each address counts once, however many people share it.")),
        Figure("duplicate_organizations", _("Organization names that occur several times"), name_groups, None,
               f"{reverse('contacts:duplicate_list')}?tab=organizations",
               _("Names compared without legal form, case and accents.")),
    ]
