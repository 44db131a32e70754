from django.utils.translation import gettext_lazy as _

from crm.search import SearchProvider
from membership.models import Member


def _describe(member):
    return (
        f"{member.member_number or _('Applicant')} · {member.subject}",
        f"{member.membership_type.name} · {member.get_status_display()}",
    )


PROVIDER = SearchProvider(
    kind="members",
    label=_("Members"),
    model=Member,
    describe=_describe,
    icon="person-vcard",
    order=65,
    select_related=("membership_type", "person", "organization"),
)
