"""What service stores about a contacts person, for the data-protection export and erasure (crm.privacy).

Export: the person's tickets with every message (internal notes too: they are about the
requester), attachments (names and sizes), the satisfaction survey, the portal access and the
VIP tier.

Erasure: tickets stay as anonymous records for the statistics (status, priority, category, SLA
times, team, rating), but their subject, description, complaint measures and message texts are
emptied, senders and message ids removed, attachments deleted (files too), raw incoming emails
deleted, survey comments emptied and their change history deleted. Portal access and the VIP tier
of the person are deleted.
"""

from django.utils.translation import gettext as _

from crm import changefeed, customfields
from crm.privacy import classify, plain
from crm.text import index_text
from service.models import (
    AgentProfile,
    BusinessCalendar,
    CannedReply,
    Category,
    ClosedDay,
    CustomerTier,
    Escalation,
    InboundEmail,
    PortalAccess,
    SatisfactionSurvey,
    ServiceTeam,
    SLAPolicy,
    Ticket,
    TicketAttachment,
    TicketMessage,
)

classify(BusinessCalendar, not_personal="name time_zone subdivision opens_at closes_at weekdays")
classify(ClosedDay, not_personal="calendar date name")
classify(ServiceTeam, not_personal="name lead channels calendar last_assigned agents")
classify(Category, not_personal="name team")
classify(AgentProfile, not_personal="user languages products capacity works_from works_until workdays absent categories")
classify(SLAPolicy, not_personal="priority tier first_response_hours resolution_hours calendar")
classify(Escalation, not_personal="ticket stage created_at")
classify(CannedReply, not_personal="title body team")
classify(CustomerTier, personal="tier note", not_personal="organization person")
classify(
    Ticket,
    personal="subject description complaint_measures custom_fields",
    # The routing note and the message id of the incoming mail can carry the sender's address.
    mentions="routing_explanation message_id",
    derived="search_key",
    not_personal="person organization channel category priority status team assignee product related_deal language "
                 "tier first_response_due resolution_due first_responded_at resolved_at reopened_count merged_into "
                 "is_complaint complaint_cause complaint_compensation version created_at updated_at tags possibly_related",
)
classify(TicketMessage, personal="body from_email", mentions="message_id", not_personal="ticket kind author created_at")
classify(TicketAttachment, personal="file name", not_personal="message size content_type")
classify(InboundEmail, personal="raw", mentions="message_id error", not_personal="received_at status ticket")
# The rating stays for the statistics; it identifies no one once the comment is gone.
classify(SatisfactionSurvey, personal="comment", not_personal="ticket agent team rating sent_at answered_at")
classify(PortalAccess, personal="sees_organization_tickets is_active last_login_at", not_personal="person link_version")

TICKET_FIELDS = ["subject", "description", "channel", "priority", "status", "product", "created_at", "resolved_at",
                 "is_complaint", "complaint_cause", "complaint_measures", "complaint_compensation"]


def export_person(person) -> list[dict]:
    data = []
    tickets = Ticket.objects.filter(person=person).prefetch_related("messages__attachments").order_by("created_at", "pk")
    surveys = {s.ticket_id: s for s in SatisfactionSurvey.objects.filter(ticket__person=person)}
    for ticket in tickets:
        record = {"type": "ticket", "number": ticket.number, **{f: plain(getattr(ticket, f)) for f in TICKET_FIELDS},
                  "custom_fields": customfields.personal_export(Ticket, ticket.custom_fields)}
        record["messages"] = [
            {"kind": m.kind, "from": m.from_email, "text": m.body, "created_at": plain(m.created_at),
             "attachments": [{"name": a.name, "size": a.size} for a in m.attachments.all()]}
            for m in ticket.messages.all()
        ]
        # The emails as they arrived, headers included.
        record["received_emails"] = [
            {"received_at": plain(e.received_at), "raw": bytes(e.raw).decode("utf-8", "replace")}
            for e in InboundEmail.objects.filter(ticket=ticket).order_by("received_at", "pk")
        ]
        survey = surveys.get(ticket.pk)
        if survey:
            record["survey"] = {"rating": survey.rating, "comment": survey.comment, "answered_at": plain(survey.answered_at)}
        data.append(record)
    access = PortalAccess.objects.filter(person=person).first()
    if access:
        data.append({"type": "portal_access", "active": access.is_active, "last_login_at": plain(access.last_login_at),
                     "sees_organization_tickets": access.sees_organization_tickets})
    tier = CustomerTier.objects.filter(person=person).first()
    if tier:
        data.append({"type": "customer_tier", "tier": tier.tier, "note": tier.note})
    return data


def erase_person(person) -> int:
    ticket_ids = list(Ticket.objects.filter(person=person).values_list("pk", flat=True))
    touched = 0
    for attachment in TicketAttachment.objects.filter(message__ticket_id__in=ticket_ids):
        attachment.file.delete(save=False)
        attachment.delete()
        touched += 1
    touched += InboundEmail.objects.filter(ticket_id__in=ticket_ids).delete()[0]
    touched += TicketMessage.objects.filter(ticket_id__in=ticket_ids).update(
        body=_("(erased)"), from_email="", message_id=""
    )
    touched += SatisfactionSurvey.objects.filter(ticket_id__in=ticket_ids).update(comment="")
    customfields.erase_personal(Ticket.objects.filter(pk__in=ticket_ids))
    subject = _("Ticket of an erased person")
    for ticket_id in ticket_ids:  # the search key rebuilt from the new subject (queryset updates write no history)
        search_key = index_text(f"T-{ticket_id:06d}", subject)
        touched += Ticket.objects.filter(pk=ticket_id).update(
            subject=subject, description="", complaint_measures="", message_id="", routing_explanation="",
            search_key=search_key,
        )
    changefeed.record_updated_ids(Ticket, ticket_ids)  # a mirror reads them again, emptied
    touched += PortalAccess.objects.filter(person=person).delete()[0]
    touched += CustomerTier.objects.filter(person=person).delete()[0]
    # Last: the history rows still hold the old subject and description.
    Ticket.history.filter(id__in=ticket_ids).delete()
    return touched
