"""Sales on the customer timeline: deals created, stage changes and closings, for the deals of a
person (as contact) or an organization. A fixed number of queries per page."""

from django.db.models import Q
from django.utils.translation import gettext as _

from crm.money import format_money
from crm.timeline import TimelineEntry
from sales.models import Deal, DealContact, StageChange


def stage_change_entries(*, user, person=None, organization=None, before=None, limit: int):
    deals = Deal.objects.visible_to(user)
    if organization is not None:
        # The organization's deals and those its people are contacts of.
        contacts_deals = DealContact.objects.filter(person_id__in=organization.people_ids()).values("deal_id")
        deals = deals.filter(Q(organization=organization) | Q(pk__in=contacts_deals))
    elif person is not None:
        deals = deals.filter(deal_contacts__person=person)
    else:
        return []
    changes = StageChange.objects.filter(deal__in=deals.values("pk"))
    if before is not None:
        changes = changes.filter(changed_at__lt=before)
    changes = changes.select_related("deal", "to_stage", "changed_by").order_by("-changed_at", "-pk")[:limit]
    entries = []
    for change in changes:
        deal, stage = change.deal, change.to_stage
        if change.from_stage_id is None:
            title = _("Deal “%(deal)s” created in %(stage)s") % {"deal": deal.name, "stage": stage.name}
            icon = "briefcase"
        elif stage.is_won:
            title = _("Deal “%(deal)s” won") % {"deal": deal.name}
            icon = "trophy"
        elif stage.is_lost:
            title = _("Deal “%(deal)s” lost") % {"deal": deal.name}
            icon = "x-circle"
        else:
            title = _("Deal “%(deal)s” moved to %(stage)s") % {"deal": deal.name, "stage": stage.name}
            icon = "arrow-right-circle"
        entries.append(
            TimelineEntry(
                when=change.changed_at,
                kind="deal",
                kind_label=_("Deal"),
                icon=icon,
                title=title,
                body=format_money(deal.amount, deal.currency),
                url=deal.get_absolute_url(),
                actor=(change.changed_by.get_full_name() or change.changed_by.username) if change.changed_by else "",
            )
        )
    return entries
