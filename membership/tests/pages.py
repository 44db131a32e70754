"""The membership app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py).

Only the membership roles (admin, membership manager) use them: the other roles get 403, and
404 on a member's URLs (they may not see the record)."""

from datetime import date

from crm.roles import MEMBERSHIP_ROLES
from membership.tests.factories import MembershipTypeFactory, join

MEMBER_PAGES = {
    "membership:member_detail", "membership:member_history", "membership:member_admit", "membership:member_change_type",
    "membership:member_resign", "membership:member_end", "api:member-detail", "api:member-admit", "api:member-resign",
    "api:member-end",
}
# Membership types are records too: invisible to the other roles, so 404 on their URLs.
TYPE_PAGES = {"membership:type_update", "membership:membershiptype_history", "api:membership-type-detail"}
POST_ONLY_PAGES = {"api:member-admit", "api:member-resign", "api:member-end"}


def records(base: dict) -> dict:
    kind = MembershipTypeFactory(name="Einzelmitglied", shared_by_household=True)
    member = join(base.get("person"), membership_type=kind, start_date=date(2025, 1, 1), by=base["user"])
    return {"membership_type": kind, "member": member}


def url_kwargs(records) -> dict[str, dict]:
    member, kind = records["member"], records["membership_type"]
    return {
        **{name: {"pk": member.pk} for name in MEMBER_PAGES},
        "membership:type_update": {"pk": kind.pk},
        "membership:membershiptype_history": {"pk": kind.pk},
        "api:membership-type-detail": {"pk": kind.pk},
    }


def expected(name: str, role: str) -> set[int] | None:
    if not (name.startswith("membership:") or name.startswith("api:member")):
        return None
    if role in MEMBERSHIP_ROLES:
        return None
    if name in MEMBER_PAGES | TYPE_PAGES:
        return {404}
    return {403}
