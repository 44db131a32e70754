"""Workflows of the service app: creating and routing tickets, SLA timers and escalation,
replies by email, inbound email, status changes with surveys, and the customer portal's tokens.
"""

import logging
import re
from datetime import datetime
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, make_msgid

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.models import Person
from crm import changefeed, outbox, ratelimit, webhooks
from crm.links import absolute_url
from service.models import (
    PRIORITY_ORDER,
    AgentProfile,
    BusinessCalendar,
    CannedReply,
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
from service.sla import Calendar

logger = logging.getLogger(__name__)
Tier = CustomerTier.Tier
SUBJECT_NUMBER = re.compile(r"\bT-(\d{1,9})\b")
PORTAL_SALT = "service.portal"
SURVEY_SALT = "service.survey"


class TicketConflict(Exception):
    """The ticket was saved by someone else after the form was opened."""


# --- customers -------------------------------------------------------------------------------


def customer_tier(*, person=None, organization=None) -> str:
    """VIP by manual flag on the person or organization, or by the organization's annual revenue."""
    if organization is None and person is not None:
        organization = person.primary_organization()
    condition = Q(pk__in=[])
    if person is not None:
        condition |= Q(person=person)
    if organization is not None:
        condition |= Q(organization=organization)
    if CustomerTier.objects.filter(condition, tier=Tier.VIP).exists():
        return Tier.VIP
    if organization is not None and (organization.annual_revenue or 0) >= settings.SERVICE_VIP_REVENUE:
        return Tier.VIP
    return Tier.STANDARD


def vip_organizations(organizations):
    """The organizations of a queryset that are VIP customers by the rule of `customer_tier`
    (flagged by hand, or annual revenue of at least SERVICE_VIP_REVENUE), in one query."""
    flagged = CustomerTier.objects.filter(organization=OuterRef("pk"), tier=Tier.VIP)
    return organizations.filter(Q(Exists(flagged)) | Q(annual_revenue__gte=settings.SERVICE_VIP_REVENUE))


def raised(priority: str, steps: int = 1) -> str:
    index = min(PRIORITY_ORDER.index(priority) + steps, len(PRIORITY_ORDER) - 1)
    return PRIORITY_ORDER[index]


# --- SLA -------------------------------------------------------------------------------------


def default_calendar() -> BusinessCalendar:
    calendar = BusinessCalendar.objects.order_by("pk").first()
    if calendar is None:
        calendar = BusinessCalendar.objects.create(name="Standard")
    return calendar


def sla_policy_for(ticket: Ticket) -> SLAPolicy | None:
    policies = {p.tier: p for p in SLAPolicy.objects.filter(priority=ticket.priority).select_related("calendar")}
    return policies.get(ticket.tier) or policies.get(Tier.STANDARD)


def sla_apply(*, ticket: Ticket, start: datetime | None = None) -> None:
    """Sets the due times from the policy for the ticket's priority and tier (not saved)."""
    policy_ = sla_policy_for(ticket)
    if policy_ is None:
        ticket.first_response_due = ticket.resolution_due = None
        return
    calendar_model = ticket.team.calendar if ticket.team_id and ticket.team.calendar_id else policy_.calendar
    calendar = Calendar.from_model(calendar_model)
    start = start or ticket.created_at
    if ticket.first_responded_at is None:
        ticket.first_response_due = calendar.add_business_hours(start, policy_.first_response_hours)
    ticket.resolution_due = calendar.add_business_hours(start, policy_.resolution_hours)


# --- routing ---------------------------------------------------------------------------------


def team_for(ticket: Ticket) -> ServiceTeam | None:
    if ticket.category_id and ticket.category.team_id:
        return ticket.category.team
    for team in ServiceTeam.objects.order_by("pk"):
        if ticket.channel in (team.channels or []):
            return team
    return None


def _agent_label(user) -> str:
    return user.get_full_name() or user.username


def route_ticket(*, ticket: Ticket, now: datetime | None = None) -> None:
    """Team by category or channel, then the available agent with the most matching skills and the
    lowest load (open tickets); ties go round-robin after the team's last pick. Not saved except
    the team's round-robin pointer; the explanation lands on the ticket."""
    now = now or timezone.now()
    team = ticket.team or team_for(ticket)
    ticket.team = team
    if team is None:
        ticket.routing_explanation = _("No team matches the category or channel: waiting in the unassigned queue.")
        return
    team = ServiceTeam.objects.select_for_update().get(pk=team.pk)
    profiles = list(
        AgentProfile.objects.filter(user__in=team.agents.filter(is_active=True))
        .select_related("user")
        .prefetch_related("categories")
    )
    loads = dict(
        Ticket.objects.open()
        .filter(assignee_id__in=[p.user_id for p in profiles])
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
    )
    candidates = []
    for profile in profiles:
        load = loads.get(profile.user_id, 0)
        if not profile.is_available(now) or load >= profile.capacity:
            continue
        skills = []
        if ticket.language and ticket.language in profile.languages:
            skills.append({"de": _("German"), "en": _("English")}.get(ticket.language, ticket.language))
        if ticket.category_id and any(c.pk == ticket.category_id for c in profile.categories.all()):
            skills.append(ticket.category.name)
        if ticket.product and ticket.product in profile.products:
            skills.append(ticket.product)
        candidates.append((profile, skills, load))
    if not candidates:
        ticket.assignee = None
        ticket.routing_explanation = _("Team %(team)s: no agent available, waiting in the team queue.") % {"team": team.name}
        return
    best_skills = max(len(s) for _p, s, _l in candidates)
    best = [c for c in candidates if len(c[1]) == best_skills]
    lowest = min(load for _p, _s, load in best)
    tied = sorted((c for c in best if c[2] == lowest), key=lambda c: c[0].user_id)
    pointer = team.last_assigned_id or 0
    chosen = next((c for c in tied if c[0].user_id > pointer), tied[0])
    profile, skills, load = chosen
    ticket.assignee = profile.user
    team.last_assigned = profile.user
    team.save(update_fields=["last_assigned"])
    ticket.routing_explanation = _("assigned to %(agent)s: %(skills)s, load %(load)d") % {
        "agent": _agent_label(profile.user),
        "skills": (_("skill %(skills)s") % {"skills": " + ".join(skills)}) if skills else _("no matching skill"),
        "load": load,
    } + (_(" (round-robin among %(count)d)") % {"count": len(tied)} if len(tied) > 1 else "")


# --- tickets ---------------------------------------------------------------------------------


@transaction.atomic
def ticket_create(
    *,
    subject: str,
    description: str = "",
    person=None,
    organization=None,
    channel: str = Ticket.Channel.EMAIL,
    category=None,
    priority: str = Ticket.Priority.NORMAL,
    product: str = "",
    team=None,
    assignee=None,
    author=None,
    from_email: str = "",
    message_id: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A new ticket with the customer's first message, its tier and SLA, routed to a team and agent."""
    now = now or timezone.now()
    if organization is None and person is not None:
        organization = person.primary_organization()
    tier = customer_tier(person=person, organization=organization)
    ticket = Ticket(
        subject=subject[:200] or _("(no subject)"),
        description=description,
        person=person,
        organization=organization,
        channel=channel,
        category=category,
        priority=raised(priority) if tier == Tier.VIP else priority,
        tier=tier,
        product=product,
        language=getattr(person, "preferred_language", "de") or "de",
        team=team,
        assignee=assignee,
        message_id=message_id[:250],
        created_at=now,
    )
    if assignee is None:
        route_ticket(ticket=ticket, now=now)
    else:
        ticket.routing_explanation = _("assigned by hand to %(agent)s") % {"agent": _agent_label(assignee)}
    sla_apply(ticket=ticket, start=now)
    ticket.save()
    if description or message_id:
        TicketMessage.objects.create(
            ticket=ticket,
            kind=TicketMessage.Kind.CUSTOMER,
            body=description,
            author=author,
            from_email=from_email[:250],
            message_id=message_id[:250],
            created_at=now,
        )
    webhooks.emit("ticket.created", ticket)
    return ticket


def _attach(message: TicketMessage, files) -> list[TicketAttachment]:
    """Stores uploaded files (or (name, bytes, content type) tuples from email) on a message."""
    stored = []
    for item in files:
        if isinstance(item, tuple):
            name, content, content_type = item
            upload = ContentFile(content, name=name)
        else:
            upload, name, content_type = item, item.name, getattr(item, "content_type", "")
        stored.append(TicketAttachment.objects.create(
            message=message, file=upload, name=(name or "attachment")[:200], size=upload.size, content_type=(content_type or "")[:100]))
    return stored


def _customer_email(ticket: Ticket) -> str:
    if ticket.person_id and ticket.person.email:
        return ticket.person.email
    last = ticket.messages.filter(kind=TicketMessage.Kind.CUSTOMER).exclude(from_email="").order_by("-created_at").first()
    return last.from_email if last else ""


def _thread_ids(ticket: Ticket) -> list[str]:
    ids = [ticket.message_id] if ticket.message_id else []
    ids += [m for m in ticket.messages.exclude(kind=TicketMessage.Kind.NOTE).exclude(message_id="").values_list("message_id", flat=True)]
    return list(dict.fromkeys(ids))


def email_subject(ticket: Ticket) -> str:
    return f"[{ticket.number}] {ticket.subject}"


@transaction.atomic
def ticket_reply(*, ticket: Ticket, author, body: str, public: bool, status: str = "", files=()) -> TicketMessage:
    """A public reply (emailed to the customer, threaded, with its attachments) or an internal note."""
    now = timezone.now()
    message = TicketMessage(ticket=ticket, author=author, body=body, created_at=now,
                            kind=TicketMessage.Kind.REPLY if public else TicketMessage.Kind.NOTE)
    fields = {"updated_at"}
    if public:
        message.message_id = make_msgid(domain=settings.SERVICE_EMAIL_DOMAIN)
        thread = _thread_ids(ticket)
        recipient = _customer_email(ticket)
        message.save()
        stored = _attach(message, files)
        if recipient:
            # Stored with the reply, in its transaction; a worker delivers it (crm.outbox).
            headers = {}
            if thread:
                headers["In-Reply-To"] = thread[-1]
                headers["References"] = " ".join(thread[-20:])
            outbox.email_queue(
                to=recipient, subject=email_subject(ticket), body=body, from_email=settings.SERVICE_FROM_EMAIL,
                headers=headers, message_id=message.message_id, regarding=ticket,
                attachments=[(a.name, a.file, a.content_type) for a in stored],
            )
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            fields.add("first_responded_at")
        if ticket.assignee_id is None and getattr(author, "is_authenticated", False):
            # Whoever answers an unassigned ticket owns it from then on (the view says so).
            ticket.assignee = author
            ticket.routing_explanation = _("taken by %(agent)s by answering") % {"agent": _agent_label(author)}
            fields.update({"assignee", "routing_explanation"})
        if ticket.status == Ticket.Status.NEW and not status:
            status = Ticket.Status.OPEN
    else:
        message.save()
        _attach(message, files)
    if public:
        # Internal notes stay internal: a receiver hears of public replies only.
        webhooks.emit("ticket.replied", ticket, extra={"reply": {
            "id": message.pk, "body": message.body, "author": getattr(author, "pk", None),
            "created_at": message.created_at,
        }})
    if status and status != ticket.status:
        ticket_set_status(ticket=ticket, status=status, user=author)
    else:
        ticket.version += 1
        ticket.save(update_fields=[*fields, "version"])
    return message


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, status: str, user=None) -> None:
    """Changes the status; resolving sends the survey, leaving resolved/closed is a reopen."""
    previous = ticket.status
    ticket.status = status
    now = timezone.now()
    if status in Ticket.CLOSED_STATUSES and previous not in Ticket.CLOSED_STATUSES:
        ticket.resolved_at = now
    elif previous in Ticket.CLOSED_STATUSES and status not in Ticket.CLOSED_STATUSES:
        ticket.reopened_count += 1
        ticket.resolved_at = None
        sla_apply(ticket=ticket, start=now)
    ticket.version += 1
    ticket.save()
    if status != previous:
        webhooks.emit("ticket.status_changed", ticket, extra={"previous_status": previous})
    if status == Ticket.Status.RESOLVED and previous not in Ticket.CLOSED_STATUSES:
        survey_send(ticket=ticket)


@changefeed.one_change()  # the ticket and its tags: one entry in the change feed
def ticket_update(*, ticket_id: int, version: int, changes: dict, user) -> Ticket:
    """Saves a ticket edit unless someone else saved it since `version` was read (optimistic lock)."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
    if ticket.version != version:
        raise TicketConflict
    status = changes.pop("status", ticket.status)
    tags = changes.pop("tags", None)
    recompute = "priority" in changes and changes["priority"] != ticket.priority
    for field, value in changes.items():
        setattr(ticket, field, value)
    if recompute:
        sla_apply(ticket=ticket)
    if status != ticket.status:
        ticket_set_status(ticket=ticket, status=status, user=user)
    else:
        ticket.version += 1
        ticket.save()
    if tags is not None:
        ticket.tags.set(tags)
    return ticket


@transaction.atomic
def tickets_bulk_update(*, tickets, user, assignee=None, status: str = "", priority: str = "", team=None) -> int:
    """Bulk actions of the queue (lead override included); each ticket keeps its history."""
    count = 0
    for ticket in tickets.select_for_update():
        if assignee is not None:
            ticket.assignee = assignee
            ticket.routing_explanation = _("reassigned by %(user)s to %(agent)s") % {
                "user": _agent_label(user), "agent": _agent_label(assignee)}
        if team is not None:
            ticket.team = team
        if priority and priority != ticket.priority:
            ticket.priority = priority
            sla_apply(ticket=ticket)
        if status and status != ticket.status:
            ticket_set_status(ticket=ticket, status=status, user=user)
        else:
            ticket.version += 1
            ticket.save()
        count += 1
    return count


@transaction.atomic
def ticket_merge(*, survivor: Ticket, other: Ticket, user) -> Ticket:
    """Moves the other ticket's messages to the survivor and closes the other."""
    if survivor.pk == other.pk:
        raise ValueError("A ticket cannot be merged into itself.")
    other.messages.update(ticket=survivor)
    TicketMessage.objects.create(
        ticket=survivor, kind=TicketMessage.Kind.NOTE, author=user,
        body=_("Ticket %(number)s was merged into this one.") % {"number": other.number},
    )
    other.merged_into = survivor
    other.status = Ticket.Status.CLOSED
    other.version += 1
    other.save()
    survivor.version += 1
    survivor.save(update_fields=["version", "updated_at"])
    return survivor


def canned_reply_render(*, reply: CannedReply, ticket: Ticket, agent) -> str:
    values = {
        "name": ticket.person.full_name if ticket.person_id else "",
        "salutation": ticket.person.letter_salutation if ticket.person_id else _("Hello"),
        "ticket": ticket.number,
        "subject": ticket.subject,
        "agent": _agent_label(agent),
    }
    text = reply.body
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


# --- escalation ------------------------------------------------------------------------------


def _claim(ticket: Ticket, stage: str) -> bool:
    """True for the one run that records this stage for the ticket (a unique row)."""
    try:
        with transaction.atomic():
            Escalation.objects.create(ticket=ticket, stage=stage)
        return True
    except IntegrityError:
        return False


def _sla_due(now: datetime):
    """(stage, open tickets that reached it and were not yet warned or escalated for it)."""
    warn = now + timezone.timedelta(minutes=settings.SERVICE_SLA_WARN_MINUTES)
    Stage = Escalation.Stage
    checks = [
        (Stage.FIRST_RESPONSE_BREACH, Q(first_responded_at__isnull=True, first_response_due__lte=now)),
        (Stage.FIRST_RESPONSE_WARNING, Q(first_responded_at__isnull=True, first_response_due__lte=warn, first_response_due__gt=now)),
        (Stage.RESOLUTION_BREACH, Q(resolution_due__lte=now)),
        (Stage.RESOLUTION_WARNING, Q(resolution_due__lte=warn, resolution_due__gt=now)),
    ]
    return [(stage, Ticket.objects.open().filter(condition).exclude(escalations__stage=stage)) for stage, condition in checks]


def sla_mark_notified(*, now: datetime | None = None) -> int:
    """Record every SLA stage that is due as warned or escalated already, without notifying anyone
    or raising a priority: for demo data, whose open tickets are days old, so that beat does not
    send warnings about the past at its start."""
    now = now or timezone.now()
    rows = [
        Escalation(ticket_id=ticket_id, stage=stage, created_at=now)
        for stage, due in _sla_due(now)
        for ticket_id in due.values_list("pk", flat=True)
    ]
    Escalation.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return len(rows)


def sla_escalate(*, now: datetime | None = None, limit: int = 500) -> int:
    """Warns the assignee before a breach and escalates after it (lead notified, priority raised),
    once per ticket and stage even when two runs overlap. Each person gets one digest per run
    that lists all their tickets, stored in the transaction that records the escalations."""
    now = now or timezone.now()
    Stage = Escalation.Stage
    done = 0
    digests: dict[int, tuple] = {}
    with transaction.atomic():
        for stage, due in _sla_due(now):
            for ticket in due.select_related("assignee", "team__lead").order_by("pk")[:limit]:
                if not _claim(ticket, stage):
                    continue
                done += 1
                breach = stage in (Stage.FIRST_RESPONSE_BREACH, Stage.RESOLUTION_BREACH)
                if breach:
                    Ticket.objects.filter(pk=ticket.pk).update(priority=raised(ticket.priority), version=ticket.version + 1)
                    changefeed.record_updated_ids(Ticket, [ticket.pk])
                recipient = ticket.team.lead if breach and ticket.team_id and ticket.team.lead_id else ticket.assignee
                if recipient is not None and recipient.email:
                    digests.setdefault(recipient.pk, (recipient, []))[1].append((ticket, Stage(stage)))
        for recipient, items in digests.values():
            _sla_digest_queue(recipient=recipient, items=items)
    return done


def _sla_digest_queue(*, recipient, items: list[tuple]) -> None:
    """One email listing every ticket of this run that concerns the recipient, grouped by stage."""
    by_stage: dict = {}
    for ticket, stage in items:
        by_stage.setdefault(stage, []).append(ticket)
    sections = []
    for stage in Escalation.Stage:
        if stage in by_stage:
            lines = [f"- {t.number} “{t.subject}”: {absolute_url(t.get_absolute_url())}" for t in by_stage[stage]]
            sections.append(f"{stage.label} ({len(lines)}):\n" + "\n".join(lines))
    count = len(items)
    subject = ngettext("SLA: %(count)d ticket needs attention", "SLA: %(count)d tickets need attention", count) % {"count": count}
    body = _("Hello %(name)s,\n\nthe service levels of these tickets need your attention:\n\n%(sections)s\n") % {
        "name": _agent_label(recipient), "sections": "\n\n".join(sections)}
    outbox.email_queue(to=recipient.email, subject=subject, body=body, from_email=settings.SERVICE_FROM_EMAIL)


# --- inbound email ---------------------------------------------------------------------------


def _text(value: str) -> str:
    """Text a database can store: Postgres refuses NUL characters."""
    return value.replace("\x00", "")


def _header(message, name: str) -> str:
    try:
        return _text(str(message.get(name, "") or "")).strip()
    except Exception:  # a header the parser cannot decode is treated as missing
        return ""


def _body(message) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is not None:
            return _text(part.get_content()).strip()
    except Exception:  # noqa: S110  malformed MIME: fall back to the raw payload below
        part = None
    payload = message.get_payload(decode=True) if not message.is_multipart() else None
    return _text((payload or b"").decode("utf-8", errors="replace")).strip()


def _attachments(message) -> list[tuple]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if payload:
            found.append((part.get_filename() or "attachment", payload, part.get_content_type()))
    return found


def _ticket_for(message) -> tuple[Ticket | None, bool]:
    """The ticket a message answers, and whether its thread proves it: In-Reply-To or References
    naming a message of the ticket (ids only its correspondents know), rather than only the ticket
    number in the subject (which anybody can type)."""
    refs = re.findall(r"<[^>]+>", _header(message, "In-Reply-To") + " " + _header(message, "References"))
    if refs:
        found = TicketMessage.objects.filter(message_id__in=refs).select_related("ticket").order_by("-pk").first()
        if found:
            return found.ticket, True
        ticket = Ticket.objects.filter(message_id__in=refs).first()
        if ticket:
            return ticket, True
    match = SUBJECT_NUMBER.search(_header(message, "Subject"))
    if match:
        return Ticket.objects.filter(pk=int(match.group(1))).first(), False
    return None, False


def email_ingest(*, raw: bytes) -> InboundEmail:
    """Stores the raw message first, then makes it a reply on its ticket or a new ticket.
    A message that cannot be parsed still becomes a ticket; if even that fails it stays on the
    inbound list as "could not be processed" with the error — it is never dropped."""
    inbound = InboundEmail.objects.create(raw=raw)
    try:
        with transaction.atomic():
            message = BytesParser(policy=policy.default).parsebytes(raw)
            _process(inbound, message)
    except Exception as error:  # noqa: BLE001  anything at all: keep the message and make it visible
        inbound.error = f"{type(error).__name__}: {error}"[:2000]
        try:
            with transaction.atomic():
                ticket = ticket_create(
                    subject=_("Unreadable email received %(when)s") % {"when": timezone.localtime(inbound.received_at).strftime("%d.%m.%Y %H:%M")},
                    description=_text(bytes(raw)[:20000].decode("utf-8", errors="replace")),
                    channel=Ticket.Channel.EMAIL,
                )
            inbound.ticket, inbound.status = ticket, InboundEmail.Status.NEW_TICKET
        except Exception as second:  # noqa: BLE001
            inbound.error += f"\n{type(second).__name__}: {second}"
            inbound.status = InboundEmail.Status.FAILED
        inbound.save(update_fields=["error", "ticket", "status"])
    return inbound


def _process(inbound: InboundEmail, message) -> None:
    message_id = _header(message, "Message-ID")[:250]
    addresses = getaddresses([_header(message, "From")])
    sender = (addresses[0][1] if addresses else "").strip().lower()
    subject = _header(message, "Subject")
    body = _body(message)
    if message.defects and not body and not sender:
        raise ValueError(f"unparsable message ({len(message.defects)} defects)")
    inbound.message_id = message_id
    if message_id and TicketMessage.objects.filter(message_id=message_id).exists():
        # The same message delivered twice: keep the raw copy, add nothing.
        existing = TicketMessage.objects.filter(message_id=message_id).first()
        inbound.ticket, inbound.status = existing.ticket, InboundEmail.Status.REPLY
        inbound.save(update_fields=["message_id", "ticket", "status"])
        return
    ticket, on_thread = _ticket_for(message)
    named = None
    if ticket is not None and not on_thread and not ticket.accepts_mail_from(sender):
        # Only the number matches: a stranger's mail must not land in the customer's conversation
        # (and reach the agent as the customer's word); it becomes a ticket of its own.
        named, ticket = ticket, None
    files = _attachments(message) if message.is_multipart() else []
    if ticket is not None:
        stored = TicketMessage.objects.create(
            ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, body=body, from_email=sender[:250], message_id=message_id
        )
        _attach(stored, files)
        if not ticket.is_open:
            ticket_set_status(ticket=ticket, status=Ticket.Status.OPEN)
        elif ticket.status == Ticket.Status.WAITING:
            ticket_set_status(ticket=ticket, status=Ticket.Status.OPEN)
        inbound.ticket, inbound.status = ticket, InboundEmail.Status.REPLY
    else:
        person = Person.objects.filter(Q(email=sender) | Q(email_secondary=sender)).order_by("pk").first() if sender else None
        ticket = ticket_create(
            subject=subject or _("(no subject)"),
            description=body,
            person=person,
            channel=Ticket.Channel.EMAIL,
            from_email=sender,
            message_id=message_id,
        )
        first = ticket.messages.first()
        if first is not None:
            _attach(first, files)
        if named is not None:
            ticket.possibly_related.add(named)
            TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.NOTE, body=_(
                "The subject names %(number)s, but the sender %(sender)s is not that ticket's customer and has not "
                "written on it: this message became a ticket of its own, linked to %(number)s as possibly related."
            ) % {"number": named.number, "sender": sender or _("(unknown)")})
        inbound.ticket, inbound.status = ticket, InboundEmail.Status.NEW_TICKET
    inbound.save(update_fields=["message_id", "ticket", "status"])


# --- satisfaction ----------------------------------------------------------------------------


def survey_token(survey: SatisfactionSurvey) -> str:
    return signing.dumps(survey.pk, salt=SURVEY_SALT)


def survey_from_token(token: str) -> SatisfactionSurvey | None:
    try:
        pk = signing.loads(token, salt=SURVEY_SALT, max_age=60 * 60 * 24 * 60)
    except signing.BadSignature:
        return None
    return SatisfactionSurvey.objects.filter(pk=pk).select_related("ticket").first()


def survey_send(*, ticket: Ticket) -> SatisfactionSurvey | None:
    """One survey per ticket: by email to the customer, a link per rating (each opens the survey
    page with that rating chosen; the page's button records it)."""
    survey, created = SatisfactionSurvey.objects.get_or_create(
        ticket=ticket, defaults={"agent": ticket.assignee, "team": ticket.team}
    )
    recipient = _customer_email(ticket)
    if created and recipient:
        url = absolute_url(reverse("service:survey_answer", args=[survey_token(survey)]))
        links = "\n".join(f"{n}: {url}?rating={n}" for n in range(5, 0, -1))
        body = _("How satisfied are you with the handling of “%(subject)s”? Choose a rating (5 is best) and "
                 "confirm it on the page:\n\n%(links)s") % {
            "subject": ticket.subject, "links": links}
        outbox.email_queue(to=recipient, subject=email_subject(ticket), body=body, from_email=settings.SERVICE_FROM_EMAIL,
                           regarding=ticket)
    return survey


def survey_answer(*, survey: SatisfactionSurvey, rating: int, comment: str | None = None) -> None:
    survey.rating = rating
    if comment is not None:
        survey.comment = comment[:2000]
    survey.answered_at = timezone.now()
    survey.full_clean()
    survey.save()


# --- portal ----------------------------------------------------------------------------------


class PortalLinkRefused(Exception):
    """A sign-in link that signs nobody in. `reason` is INVALID (forged, or older than
    SERVICE_PORTAL_LINK_MAX_AGE) or USED (used, superseded by a newer link, or ended by signing out)."""

    INVALID = "invalid"
    USED = "used"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def portal_token(access: PortalAccess) -> str:
    return signing.dumps({"a": access.pk, "v": access.link_version}, salt=PORTAL_SALT)


def _portal_token_read(token: str) -> tuple[int, int]:
    try:
        payload = signing.loads(token, salt=PORTAL_SALT, max_age=settings.SERVICE_PORTAL_LINK_MAX_AGE)
        return int(payload["a"]), int(payload["v"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise PortalLinkRefused(PortalLinkRefused.INVALID) from error


def _portal_link_current(pk: int, version: int):
    return PortalAccess.objects.filter(pk=pk, is_active=True, link_version=version)


def portal_link_check(*, token: str) -> PortalAccess:
    """The access a sign-in link opens, without using the link up: mail scanners open every link
    they see, so the link's page asks for a click (a POST) before it signs in."""
    pk, version = _portal_token_read(token)
    access = _portal_link_current(pk, version).select_related("person").first()
    if access is None:
        raise PortalLinkRefused(PortalLinkRefused.USED)
    return access


def portal_link_redeem(*, token: str) -> PortalAccess:
    """Signs in with a link, once: one UPDATE moves the access past the link's version, so of two
    requests with the same link only one signs in."""
    pk, version = _portal_token_read(token)
    if not _portal_link_current(pk, version).update(link_version=F("link_version") + 1, last_login_at=timezone.now()):
        raise PortalLinkRefused(PortalLinkRefused.USED)
    return PortalAccess.objects.select_related("person").get(pk=pk)


def portal_links_end(*, access: PortalAccess) -> None:
    """Ends every sign-in link sent to `access` so far (on signing out)."""
    PortalAccess.objects.filter(pk=access.pk).update(link_version=F("link_version") + 1)


def portal_link_request(*, email: str) -> None:
    """The sign-in form's whole work in the request: hand the address to a task. The request does
    the same for every address and answers alike, so neither the answer nor its time tells who
    is a customer; the task looks the address up and mails the link through the outbox."""
    email = email.strip().lower()
    transaction.on_commit(lambda: _portal_link_enqueue(email))


def _portal_link_enqueue(email: str) -> None:
    from service.tasks import portal_link_send

    try:
        portal_link_send.delay(email)
    except Exception:  # noqa: BLE001 - broker down: do it here (the outbox row waits for its beat job)
        logger.warning("portal: could not enqueue the sign-in link task; sending it in the request", exc_info=True)
        portal_link_send(email)


def portal_link_send(*, email: str) -> bool:
    """Mails a sign-in link if a customer with portal access has this address; the new link ends
    the ones sent before. At most SERVICE_PORTAL_LINK_RECIPIENT_LIMIT links per address in the
    rate-limit window, however many visitors ask for one."""
    email = email.strip().lower()
    if ratelimit.hit("portal-link-recipient", email, limit=settings.SERVICE_PORTAL_LINK_RECIPIENT_LIMIT):
        return False
    access = (
        PortalAccess.objects.filter(is_active=True)
        .filter(Q(person__email=email) | Q(person__email_secondary=email))
        .select_related("person")
        .first()
    )
    if access is None:
        return False
    with transaction.atomic():
        portal_links_end(access=access)
        access.refresh_from_db(fields=["link_version"])
        url = absolute_url(reverse("service:portal_enter", args=[portal_token(access)]))
        minutes = max(1, settings.SERVICE_PORTAL_LINK_MAX_AGE // 60)
        outbox.email_queue(
            to=access.person.email or email,
            subject=_("Your sign-in link to the service portal"),
            body=ngettext(
                "Open this link within %(minutes)d minute to see your tickets. It works once; "
                "signing out or asking for a new link ends it.\n\n%(url)s",
                "Open this link within %(minutes)d minutes to see your tickets. It works once; "
                "signing out or asking for a new link ends it.\n\n%(url)s",
                minutes,
            ) % {"minutes": minutes, "url": url},
            from_email=settings.SERVICE_FROM_EMAIL,
            regarding=access,
        )
    return True


def portal_tickets(access: PortalAccess):
    """The tickets a portal customer may see: their own, and their organization's if allowed."""
    person = access.person
    condition = Q(person=person)
    if access.sees_organization_tickets:
        org_ids = list(person.employments.values_list("organization_id", flat=True))
        condition |= Q(organization_id__in=org_ids)
    return Ticket.objects.filter(condition, merged_into__isnull=True)


@transaction.atomic
def portal_reply(*, access: PortalAccess, ticket: Ticket, body: str) -> TicketMessage:
    message = TicketMessage.objects.create(
        ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, body=body, from_email=access.person.email
    )
    if not ticket.is_open or ticket.status == Ticket.Status.WAITING:
        ticket_set_status(ticket=ticket, status=Ticket.Status.OPEN)
    return message
