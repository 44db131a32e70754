"""The service app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py)."""

from crm.roles import SALES_ROLES, Role
from service import services
from service.models import PortalAccess, ServiceTeam, TicketMessage

POST_ONLY_PAGES = {
    "service:ticket_bulk", "service:ticket_reply", "service:ticket_merge", "service:portal_logout",
    "api:ticket-reply", "api:ticket-note", "api:ticket-set-status",
}
# The API (JSON): the list and the queues for the roles of the ticket list; the ticket itself
# answers as its page does (404 for all but the admin, see TICKET_PAGES).
API_LIST_PAGES = {"api:ticket-list", "api:queue-list", "api:queue-detail"}
API_TICKET_PAGES = {"api:ticket-detail", "api:ticket-messages"}
CUSTOMER_PAGES = {
    "service:survey_answer", "service:portal_ticket_list", "service:portal_login", "service:portal_enter",
    "service:portal_ticket_create", "service:portal_ticket_detail",
}
PUBLIC_PAGES = CUSTOMER_PAGES
TICKET_PAGES = {"service:ticket_detail", "service:ticket_history", "service:attachment_download"}
WORK_PAGES = {"service:ticket_create", "service:ticket_update"}
LEAD_PAGES = {"service:service_report", "service:inbound_list"}


def records(base: dict) -> dict:
    """A ticket of the admin's customer (person owned by the admin) in a team nobody else is in."""
    team = ServiceTeam.objects.create(name="Support Katalog")
    ticket = services.ticket_create(subject="Rechnung doppelt", description="Bitte prüfen.", person=base["person"], team=team)
    note = TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.NOTE, body="Intern")
    attachment = services._attach(note, [("protokoll.txt", b"Fehlerprotokoll", "text/plain")])[0]
    other = services.ticket_create(subject="Duplikat", person=base["person"], team=team)
    survey = services.survey_send(ticket=ticket)
    access = PortalAccess.objects.create(person=base["person"])
    return {"ticket": ticket, "ticket_attachment": attachment, "other_ticket": other, "survey": survey, "portal_access": access}


def url_kwargs(records) -> dict[str, dict]:
    ticket = records["ticket"]
    return {
        "service:ticket_detail": {"pk": ticket.pk},
        "service:ticket_update": {"pk": ticket.pk},
        "service:ticket_reply": {"pk": ticket.pk},
        "service:ticket_merge": {"pk": ticket.pk},
        "service:ticket_history": {"pk": ticket.pk},
        "service:attachment_download": {"pk": records["ticket_attachment"].pk},
        "service:survey_answer": {"token": services.survey_token(records["survey"])},
        "service:portal_enter": {"token": services.portal_token(records["portal_access"])},
        "service:portal_ticket_detail": {"pk": ticket.pk},
        **{name: {"pk": ticket.pk} for name in (
            "api:ticket-detail", "api:ticket-messages", "api:ticket-reply", "api:ticket-note", "api:ticket-set-status")},
        "api:queue-detail": {"pk": ticket.team_id},
    }


def expected(name: str, role: str) -> set[int] | None:
    if name in API_LIST_PAGES | API_TICKET_PAGES and role != Role.ADMIN:
        if name in API_TICKET_PAGES:
            return {404}
        return {200} if role in (Role.SUPPORT_LEAD, Role.SUPPORT_AGENT, *SALES_ROLES) else {403}
    if role == Role.ADMIN or not name.startswith("service:") or name in CUSTOMER_PAGES:
        return None
    if name in POST_ONLY_PAGES:
        return None
    readers = role in (Role.SUPPORT_LEAD, Role.SUPPORT_AGENT, *SALES_ROLES)
    workers = role in (Role.SUPPORT_LEAD, Role.SUPPORT_AGENT)
    if name == "service:ticket_list":
        return {200} if readers else {403}
    if name in LEAD_PAGES:
        return {200} if role == Role.SUPPORT_LEAD else {403}
    if name == "service:ticket_create":
        # Sales and marketing open tickets from a customer's page; only service works on them.
        return {200} if workers or role in (*SALES_ROLES, Role.MARKETING) else {403}
    if name in TICKET_PAGES or name == "service:ticket_update":
        # The ticket is in a team nobody is in; its customer belongs to the admin: nobody but the
        # admin may see it, so every role gets 404 on all its pages, edit included.
        return {404}
    return None
