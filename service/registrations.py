"""Plugs service into the shared machinery: navigation, search, timeline, record pages, seeding, benchmarks."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import navigation, recordpage, startpage, timeline
from crm import search as crm_search
from crm.navigation import NavItem
from crm.roles import SALES_ROLES, SERVICE_ROLES, TICKET_OPEN_ROLES, Role, has_role
from crm.startpage import Widget
from crm.timeline import TimelineEntry

PANEL_ROWS = 5


def _describe(ticket):
    return f"{ticket.number} {ticket.subject}", ticket.get_status_display()


def ticket_entries(*, user, person=None, organization=None, before=None, limit: int):
    from service.models import Ticket

    qs = Ticket.objects.visible_to(user).about(person=person, organization=organization)
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    rows = qs.only("id", "subject", "status", "priority", "created_at").order_by("-created_at", "-pk")[:limit]
    return [
        TimelineEntry(
            when=t.created_at, kind="ticket", kind_label=_("Ticket"), icon="life-preserver",
            title=f"{t.number} {t.subject}", body=t.get_status_display(), url=t.get_absolute_url(),
        )
        for t in rows
    ]


def tickets_panel(request, obj):
    from service.models import Ticket

    field = "person" if obj._meta.model_name == "person" else "organization"
    qs = Ticket.objects.visible_to(request.user).filter(**{field: obj})
    rows = list(qs.only("id", "subject", "status", "priority", "created_at").order_by("-created_at", "-pk")[: PANEL_ROWS + 1])
    if not rows and not has_role(request.user, Role.ADMIN, *SERVICE_ROLES):
        return None
    return {"tickets": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS, "field": field}


def new_ticket_url(obj, user):
    if obj._meta.model_name != "person" or not has_role(user, *TICKET_OPEN_ROLES):
        return None
    return reverse("service:ticket_create") + f"?person={obj.pk}"


def register_all() -> None:
    from crm import history
    from service import benchmarks, seed  # noqa: F401  (they register themselves on import)
    from service.models import Ticket

    history.register(Ticket, roles=(Role.ADMIN, *SERVICE_ROLES, *SALES_ROLES))  # service.views.TICKET_READERS
    register_privacy()
    register_change_feed()
    register_webhooks()

    navigation.register(
        NavItem(_("Tickets"), "service:ticket_list", order=40, icon="life-preserver", section="service:",
                roles=(Role.ADMIN, *SERVICE_ROLES, *SALES_ROLES))
    )
    crm_search.register(
        crm_search.SearchProvider(
            kind="ticket", label=_("Tickets"), model=Ticket, describe=_describe, icon="life-preserver", order=40,
            only=("id", "subject", "status", "search_key"),
        )
    )
    timeline.register(ticket_entries, kind="ticket", label=_("Tickets"), order=30)
    register_start_page()
    for model in ("contacts.person", "contacts.organization"):
        recordpage.register_panel(
            recordpage.Panel(f"service.tickets.{model}", model, "service/partials/record_tickets.html", context=tickets_panel, order=30)
        )
    recordpage.register_action(
        recordpage.Action("service.new_ticket", "contacts.person", _("New ticket"), url=new_ticket_url, icon="life-preserver", order=40)
    )


def register_start_page() -> None:
    from service import startpage as widgets

    startpage.register(Widget("service.my_queue", "service/widgets/my_queue.html", widgets.my_queue, order=11, roles=SERVICE_ROLES))
    startpage.register(Widget("service.sla_alarms", "service/widgets/sla_alarms.html", widgets.sla_alarms, order=12, roles=SERVICE_ROLES))
    startpage.register(
        Widget("service.team_backlog", "service/widgets/team_backlog.html", widgets.team_backlog, order=13, roles=(Role.SUPPORT_LEAD,))
    )
    startpage.register(Widget("service.unassigned", "service/widgets/unassigned.html", widgets.unassigned, order=14, roles=SERVICE_ROLES))


def register_privacy() -> None:
    from crm import privacy
    from service import privacy as service_privacy

    privacy.register(
        privacy.PrivacyProvider(
            "service", _("Tickets, surveys and portal access"), export=service_privacy.export_person, erase=service_privacy.erase_person, order=40,
        )
    )


def register_change_feed() -> None:
    """Tickets in the change feed; their webhooks come from service.services (ticket.replied,
    ticket.status_changed), so the feed emits none for them."""
    from crm import changefeed
    from service.models import Ticket

    changefeed.register("ticket", Ticket, webhooks=False)
    changefeed.watch_many_to_many(Ticket, "tags")


def register_webhooks() -> None:
    """Ticket webhook payloads show the ticket as the API does."""
    from crm import webhooks

    def ticket(instance):
        from service.api.serializers import TicketSerializer

        return TicketSerializer(instance, context={"user": None}).data

    webhooks.register_kind("ticket", ticket)
