"""Membership steps (joined, type changed, resigned, ended) on a person's or organization's timeline (one query)."""

from django.utils.translation import gettext as _

from crm.timeline import TimelineEntry
from membership.models import MemberEvent


def member_entries(*, user, person=None, organization=None, before=None, limit: int):
    from membership.models import Member

    members = Member.objects.visible_to(user)
    if person is not None:
        members = members.filter(person=person)
    elif organization is not None:
        members = members.filter(organization=organization)
    else:
        return []
    qs = MemberEvent.objects.filter(member__in=members)
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    qs = qs.select_related("member", "by").order_by("-occurred_at", "-pk")[:limit]
    return [
        TimelineEntry(
            when=event.occurred_at,
            kind="membership",
            kind_label=_("Membership"),
            icon="person-vcard",
            title=f"{event.get_kind_display()}: {event.member.member_number or _('Application')}",
            body=" · ".join(part for part in [event.detail, _("effective %(date)s") % {"date": event.effective_on.strftime("%d.%m.%Y")}] if part),
            url=event.member.get_absolute_url(),
            actor=(event.by.get_full_name() or event.by.username) if event.by else "",
        )
        for event in qs
    ]
