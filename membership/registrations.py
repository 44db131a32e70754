"""Plugs membership into the shared machinery of crm/ (navigation, search, timeline, history,
record pages, data protection, demo data)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import navigation, recordpage, startpage, timeline
from crm import search as crm_search
from crm.navigation import NavItem
from crm.recordpage import Panel
from crm.roles import MEMBERSHIP_ROLES, has_role
from crm.startpage import Widget


def _join_url(obj, user):
    if not has_role(user, *MEMBERSHIP_ROLES):
        return None
    field = "person" if obj._meta.model_name == "person" else "organization"
    return reverse("membership:member_join") + f"?{field}={obj.pk}"


def subject_memberships(request, obj):
    """The memberships of a person or organization (one query), for the membership roles only."""
    from membership.models import Member

    if not has_role(request.user, *MEMBERSHIP_ROLES):
        return None
    field = "person" if obj._meta.model_name == "person" else "organization"
    members = list(
        Member.objects.visible_to(request.user).filter(**{field: obj})
        .select_related("membership_type", "household_of__person").order_by("-applied_on", "-pk")[:10]
    )
    current = [m for m in members if m.status != Member.Status.ENDED]
    return {"members": members, "join_url": None if current else _join_url(obj, request.user)}


def register_all() -> None:
    from crm import history
    from membership import seed  # noqa: F401  (registers itself on import)
    from membership.models import Member, MembershipType
    from membership.search import PROVIDER
    from membership.startpage import membership_overview
    from membership.timeline import member_entries

    history.register(Member, roles=MEMBERSHIP_ROLES)
    history.register(MembershipType, roles=MEMBERSHIP_ROLES)
    register_privacy()
    navigation.register(
        NavItem(_("Members"), "membership:member_list", order=65, icon="person-vcard", section="membership:", roles=MEMBERSHIP_ROLES)
    )
    crm_search.register(PROVIDER)
    startpage.register(Widget("membership.overview", "membership/widgets/overview.html", membership_overview, order=30,
                              roles=MEMBERSHIP_ROLES))
    timeline.register(member_entries, kind="membership", label=_("Membership"), order=55)
    for label in ("contacts.person", "contacts.organization"):
        recordpage.register_panel(
            Panel(f"membership.{label}", label, "membership/partials/subject_panel.html", context=subject_memberships, order=35)
        )


def register_privacy() -> None:
    from crm import privacy
    from membership import privacy as membership_privacy

    privacy.register(
        privacy.PrivacyProvider(
            "membership", _("Memberships"), export=membership_privacy.export_person, erase=membership_privacy.erase_person, order=55,
        )
    )
