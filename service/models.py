"""Customer service: teams (queues) and agents, tickets with their messages, SLA policies on a
business calendar, escalations, canned replies, satisfaction surveys, VIP tiers and portal access.

Record access (`Ticket.objects.visible_to`): admins see every ticket; support leads the tickets
of the teams they lead or belong to, and tickets without a team (to triage them); agents the
tickets of their teams and those assigned to them; sales roles read the tickets of customers
they or their team own. Service staff with access change a ticket; sales only reads.
"""

from datetime import time, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contacts.models import Organization, Person, Tag
from crm.changefeed import ChangeFeedModel
from crm.models import SearchIndexedModel, Team
from crm.roles import SALES_ROLES, SERVICE_ROLES, Role, has_role


def weekdays_default() -> list:
    return [0, 1, 2, 3, 4]


class BusinessCalendar(models.Model):
    """Working hours in a time zone, German public holidays of a state, and extra closed days."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=50, default="Europe/Berlin")
    subdivision = models.CharField(
        _("federal state"), max_length=5, blank=True, help_text=_("e.g. BY, NW, BE; empty: national holidays only")
    )
    opens_at = models.TimeField(_("opens at"), default=time(8))
    closes_at = models.TimeField(_("closes at"), default=time(17))
    weekdays = models.JSONField(_("working days"), default=weekdays_default, help_text=_("0 = Monday … 6 = Sunday"))

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="calendar_opens_before_closing",
                violation_error_message=_("The calendar must open before it closes."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class ClosedDay(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField(_("date"))
    name = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="closed_day_unique",
                violation_error_message=_("This day is already closed."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.name}".strip()


class ServiceTeam(models.Model):
    """A queue: the agents who work it, its lead, the channels routed to it."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        WEB = "web", _("Web form")
        PORTAL = "portal", _("Portal")

    name = models.CharField(_("name"), max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("lead"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="led_service_teams",
    )
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("agents"), blank=True, related_name="service_teams")
    channels = models.JSONField(_("channels routed here"), default=list, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("business calendar"), on_delete=models.SET_NULL, null=True, blank=True
    )
    # Round-robin pointer: the agent who got the last tie.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("service team")
        verbose_name_plural = _("service teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


QUEUE_SCOPES = ("mine", "team", "unassigned", "all")


def default_queue(user) -> str:
    """Service staff start in their own queue, everybody else with all the tickets they see."""
    return "mine" if has_role(user, *SERVICE_ROLES) else "all"


def service_team_ids(user) -> set[int]:
    """Ids of the service teams a user works in or leads (cached on the user for the request)."""
    cached = getattr(user, "_service_team_ids", None)
    if cached is None:
        cached = set(ServiceTeam.objects.filter(Q(agents=user) | Q(lead=user)).values_list("pk", flat=True))
        user._service_team_ids = cached
    return cached


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    team = models.ForeignKey(
        ServiceTeam, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="categories"
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What an agent can do and when: skills, capacity, working hours, absence."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    languages = models.JSONField(_("languages"), default=list, blank=True, help_text=_('e.g. ["de", "en"]'))
    categories = models.ManyToManyField(Category, verbose_name=_("categories"), blank=True, related_name="agents")
    products = models.JSONField(_("products"), default=list, blank=True)
    capacity = models.PositiveSmallIntegerField(_("capacity (open tickets)"), default=20, validators=[MaxValueValidator(500)])
    works_from = models.TimeField(_("works from"), default=time(8))
    works_until = models.TimeField(_("works until"), default=time(17))
    workdays = models.JSONField(_("working days"), default=weekdays_default)
    absent = models.BooleanField(_("absent"), default=False)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)

    def is_available(self, at) -> bool:
        local = timezone.localtime(at)
        return (
            not self.absent
            and local.weekday() in self.workdays
            and self.works_from <= local.time() < self.works_until
        )


class CustomerTier(models.Model):
    """A VIP flag for a person or an organization, set by hand (derived tiers come from revenue,
    see services.customer_tier)."""

    class Tier(models.TextChoices):
        STANDARD = "standard", _("Standard")
        VIP = "vip", _("VIP")

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="service_tier")
    person = models.OneToOneField(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="service_tier")
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.VIP)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("customer tier")
        verbose_name_plural = _("customer tiers")
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | Q(person__isnull=False),
                name="tier_has_customer",
                violation_error_message=_("Choose a person or an organization."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization or self.person}: {self.get_tier_display()}"


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class SLAPolicy(models.Model):
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    tier = models.CharField(_("customer tier"), max_length=10, choices=CustomerTier.Tier.choices, default=CustomerTier.Tier.STANDARD)
    first_response_hours = models.PositiveIntegerField(_("first response (business hours)"), validators=[MinValueValidator(1)])
    resolution_hours = models.PositiveIntegerField(_("resolution (business hours)"), validators=[MinValueValidator(1)])
    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("business calendar"), on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["tier", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority", "tier"], name="sla_unique_priority_tier",
                violation_error_message=_("There is already a policy for this priority and tier."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()} / {self.get_priority_display()}"


OPEN_TICKET = ~Q(status__in=["resolved", "closed"])
# A running SLA target this close to its due time is "due soon" (Ticket.sla_state, the start page).
SLA_DUE_SOON = timedelta(hours=2)


def current_due_condition(**lookups) -> Q:
    """Open tickets whose running SLA target (Ticket.current_due: the first response while it is
    awaited, else the resolution) matches `lookups` (e.g. lte=now)."""
    awaiting_response = Q(first_responded_at__isnull=True, first_response_due__isnull=False)
    response = Q(**{f"first_response_due__{lookup}": value for lookup, value in lookups.items()})
    resolution = Q(**{f"resolution_due__{lookup}": value for lookup, value in lookups.items()})
    return OPEN_TICKET & ((awaiting_response & response) | (~awaiting_response & resolution))


def sla_outcomes(now) -> dict[str, Q]:
    """The SLA targets of tickets that are decided, as conditions: the first response or the
    resolution was met (done by its due time) or missed (done later, or not done and due by `now`).
    A target still running is neither. A ticket resolved before its first response was due, without
    a reply, had no response target left (its timer stopped, as Ticket.current_due says); merged
    tickets have no running target. Used by the ticket list's SLA filter and the service dashboard,
    so both count the same tickets."""
    still_open = Q(resolved_at__isnull=True, merged_into__isnull=True) & ~Q(status__in=["resolved", "closed"])
    return {
        "response_met": Q(first_response_due__isnull=False, first_responded_at__isnull=False,
                          first_responded_at__lte=models.F("first_response_due")),
        "response_missed": Q(first_response_due__isnull=False) & (
            Q(first_responded_at__gt=models.F("first_response_due"))
            | Q(first_responded_at__isnull=True, first_response_due__lte=now)
            & (still_open | Q(resolved_at__gt=models.F("first_response_due")))),
        "resolution_met": Q(resolution_due__isnull=False, resolved_at__isnull=False,
                            resolved_at__lte=models.F("resolution_due")),
        "resolution_missed": Q(resolution_due__isnull=False) & (
            Q(resolved_at__gt=models.F("resolution_due")) | Q(resolution_due__lte=now) & still_open),
    }


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if has_role(user, Role.ADMIN):
            return self.all()
        condition = Q(pk__in=[])
        if has_role(user, *SERVICE_ROLES):
            condition |= Q(team_id__in=service_team_ids(user)) | Q(assignee=user)
            if has_role(user, Role.SUPPORT_LEAD):
                condition |= Q(team__isnull=True)
        if has_role(user, *SALES_ROLES):
            # The owners as a subquery (teammates and the members of teams the user manages),
            # so the rule costs no extra query.
            owners = Team.members.through.objects.filter(Q(team__members=user) | Q(team__manager=user)).values("user_id")
            # Subqueries, not joins: the search's SQL names `search_key` unqualified, and people
            # and organizations have one too.
            owned = Q(owner=user) | Q(owner_id__in=owners)
            condition |= Q(person_id__in=Person.objects.filter(owned).values("pk")) | Q(
                organization_id__in=Organization.objects.filter(owned).values("pk")
            )
        if condition == Q(pk__in=[]):
            return self.none()
        return self.filter(condition)

    def editable_by(self, user):
        if has_role(user, Role.ADMIN):
            return self.all()
        if not has_role(user, *SERVICE_ROLES):
            return self.none()
        condition = Q(team_id__in=service_team_ids(user)) | Q(assignee=user)
        if has_role(user, Role.SUPPORT_LEAD):
            condition |= Q(team__isnull=True)
        return self.filter(condition)

    def open(self):
        return self.exclude(status__in=Ticket.CLOSED_STATUSES)

    def sla_breached(self, now):
        """Open tickets whose running SLA target is past due (Ticket.sla_state "breached")."""
        return self.filter(current_due_condition(lte=now))

    def sla_due_soon(self, now):
        """Open tickets whose running SLA target falls due within SLA_DUE_SOON ("due_soon")."""
        return self.filter(current_due_condition(gt=now, lt=now + SLA_DUE_SOON))

    def queue(self, user, scope: str):
        """The tickets of a queue of the list page (and the API's list): "mine", "team",
        "unassigned" or "all" (of those the queryset holds)."""
        if scope == "mine":
            return self.filter(assignee=user)
        if scope == "team":
            return self.filter(team_id__in=service_team_ids(user))
        if scope == "unassigned":
            return self.filter(assignee__isnull=True)
        return self

    def about(self, *, person=None, organization=None):
        if person is not None:
            return self.filter(person=person)
        # The organization's tickets and those of its people.
        return self.filter(Q(organization=organization) | Q(person_id__in=organization.people_ids()))


class Ticket(ChangeFeedModel, SearchIndexedModel):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting for customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    Channel = ServiceTeam.Channel
    Priority = Priority
    CLOSED_STATUSES = (Status.RESOLVED, Status.CLOSED)

    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.SET_NULL, null=True, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    team = models.ForeignKey(ServiceTeam, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assigned_tickets",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="tickets")
    product = models.CharField(_("product"), max_length=100, blank=True)
    related_deal = models.ForeignKey(
        "sales.Deal", verbose_name=_("related deal"), on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    language = models.CharField(_("language"), max_length=2, default="de")
    tier = models.CharField(_("customer tier"), max_length=10, choices=CustomerTier.Tier.choices, default=CustomerTier.Tier.STANDARD)
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    routing_explanation = models.CharField(_("routing"), max_length=300, blank=True)
    merged_into = models.ForeignKey("self", verbose_name=_("merged into"), on_delete=models.SET_NULL, null=True, blank=True)
    # Tickets that may be about the same matter: an email naming this ticket's number from someone
    # who is not its customer becomes a ticket of its own, linked here (both ways) for the agents.
    possibly_related = models.ManyToManyField("self", verbose_name=_("possibly related tickets"), blank=True)
    is_complaint = models.BooleanField(_("complaint"), default=False)
    complaint_cause = models.CharField(_("cause"), max_length=20, blank=True, choices=[
        ("product", _("Product defect")), ("delivery", _("Delivery")), ("billing", _("Billing error")),
        ("service", _("Service quality")), ("other", _("Other")),
    ])
    complaint_measures = models.TextField(_("measures"), blank=True)
    complaint_compensation = models.DecimalField(
        _("compensation (EUR)"), max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    message_id = models.CharField(max_length=250, blank=True, editable=False, db_index=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)  # crm.customfields
    history = HistoricalRecords(excluded_fields=["search_key", "updated_at", "version"])
    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["status", "resolution_due", "id"], name="ticket_status_due_idx"),
            models.Index(fields=["team", "status", "resolution_due"], name="ticket_team_due_idx"),
            models.Index(fields=["assignee", "status", "resolution_due"], name="ticket_assignee_due_idx"),
            models.Index(fields=["priority", "resolution_due"], name="ticket_priority_idx"),
            models.Index(fields=["category", "resolution_due"], name="ticket_category_idx"),
            models.Index(fields=["resolution_due", "id"], name="ticket_due_idx"),
            models.Index(fields=["-created_at"], name="ticket_created_idx"),
            models.Index(fields=["-updated_at"], name="ticket_updated_idx"),
            models.Index(fields=["person", "-created_at"], name="ticket_person_idx"),
            models.Index(fields=["organization", "-created_at"], name="ticket_org_idx"),
            models.Index(fields=["is_complaint", "complaint_cause"], name="ticket_complaint_idx"),
            # The service dashboard counts first responses and resolutions of a period.
            models.Index(fields=["first_responded_at"], name="ticket_responded_idx"),
            models.Index(fields=["resolved_at"], name="ticket_resolved_idx"),
            # The queues show open tickets by due time: partial indexes hold only those (about half
            # the table), with the columns of the access rule so counts can read the index alone.
            models.Index(fields=["assignee", "resolution_due", "id"], include=["team"], condition=OPEN_TICKET,
                         name="ticket_open_assignee_idx"),
            models.Index(fields=["team", "resolution_due", "id"], include=["assignee"], condition=OPEN_TICKET,
                         name="ticket_open_team_idx"),
            models.Index(fields=["resolution_due", "id"], include=["team", "assignee"], condition=OPEN_TICKET,
                         name="ticket_open_due_idx"),
            # Open tickets by age (the list's age filter, the dashboard's backlog): the open ones only,
            # with the access rule's columns, like the indexes above.
            models.Index(fields=["created_at", "id"], include=["team", "assignee"], condition=OPEN_TICKET,
                         name="ticket_open_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return f"T-{self.pk:06d}" if self.pk else "T-new"

    def get_absolute_url(self) -> str:
        return reverse("service:ticket_detail", args=[self.pk])

    def search_text(self) -> list:
        return [self.number if self.pk else "", self.subject]

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED_STATUSES

    def accepts_mail_from(self, email: str) -> bool:
        """Whether an email from `email` may join this ticket on the strength of its number alone:
        it comes from the ticket's person, from a person of the ticket's organization, or from an
        address that already wrote on the ticket. (A reply whose In-Reply-To or References names
        one of the ticket's messages is on the thread anyway.)"""
        email = (email or "").strip()
        if not email:
            return False
        senders = Person.objects.filter(Q(email__iexact=email) | Q(email_secondary__iexact=email))
        if self.person_id and senders.filter(pk=self.person_id).exists():
            return True
        if self.organization_id and senders.filter(employments__organization_id=self.organization_id).exists():
            return True
        return self.messages.filter(kind=TicketMessage.Kind.CUSTOMER, from_email__iexact=email).exists()

    def sla_state(self, now=None) -> str:
        """"breached", "due_soon" (within 2 hours), "ok" or "" (no running timer)."""
        due = self.current_due
        if due is None:
            return ""
        now = now or timezone.now()
        if due <= now:
            return "breached"
        return "due_soon" if due - now < SLA_DUE_SOON else "ok"

    @property
    def current_due(self):
        if not self.is_open:
            return None
        if self.first_responded_at is None and self.first_response_due:
            return self.first_response_due
        return self.resolution_due


class TicketMessage(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("From the customer")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    body = models.TextField(_("message"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_email = models.CharField(_("from"), max_length=250, blank=True)
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_message_idx")]

    def __str__(self) -> str:
        return f"{self.ticket.number}: {self.get_kind_display()}"

    @property
    def kind_label(self) -> str:
        """What the thread calls the message: a customer message with an author is a description a
        staff member typed in (the ticket page's form, the API), not words from the customer."""
        if self.kind == self.Kind.CUSTOMER and self.author_id:
            return str(_("Description entered by staff"))
        return self.get_kind_display()

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE


class TicketAttachmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Attachments of the tickets the user may see; those of internal notes for service only."""
        visible = self.filter(message__ticket__in=Ticket.objects.visible_to(user))
        if not has_role(user, Role.ADMIN, *SERVICE_ROLES):
            visible = visible.exclude(message__kind=TicketMessage.Kind.NOTE)
        return visible


class TicketAttachment(models.Model):
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="service/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)

    objects = TicketAttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class InboundEmail(models.Model):
    """Every message that reaches us, raw, before and whatever the parsing does."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        NEW_TICKET = "new_ticket", _("New ticket")
        REPLY = "reply", _("Reply on a ticket")
        FAILED = "failed", _("Could not be processed")

    raw = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_emails")

    class Meta:
        verbose_name = _("incoming email")
        verbose_name_plural = _("incoming emails")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["status", "-received_at"], name="inbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.received_at:%d.%m.%Y %H:%M} {self.get_status_display()}"


class Escalation(models.Model):
    class Stage(models.TextChoices):
        FIRST_RESPONSE_WARNING = "fr_warning", _("First response due soon")
        FIRST_RESPONSE_BREACH = "fr_breach", _("First response overdue")
        RESOLUTION_WARNING = "res_warning", _("Resolution due soon")
        RESOLUTION_BREACH = "res_breach", _("Resolution overdue")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    stage = models.CharField(max_length=12, choices=Stage.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "stage"], name="escalation_once_per_stage",
                violation_error_message=_("This ticket was already escalated at this stage."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number}: {self.get_stage_display()}"


class CannedReply(models.Model):
    """A reply template; {name}, {ticket}, {agent} are filled in when used."""

    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"), help_text=_("Placeholders: {name}, {salutation}, {ticket}, {subject}, {agent}"))
    team = models.ForeignKey(ServiceTeam, verbose_name=_("team"), on_delete=models.CASCADE, null=True, blank=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class SatisfactionSurvey(models.Model):
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    team = models.ForeignKey(ServiceTeam, on_delete=models.SET_NULL, null=True, blank=True, related_name="surveys")
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    sent_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [
            models.Index(fields=["agent", "answered_at"], name="survey_agent_idx"),
            models.Index(fields=["answered_at"], name="survey_answered_idx"),  # satisfaction trend of a period
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="survey_rating_range",
                violation_error_message=_("The rating is between 1 and 5."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number}: {self.rating or '–'}"


class PortalAccess(models.Model):
    """A customer who may sign in to the portal (by magic link to the person's email)."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="portal_access")
    sees_organization_tickets = models.BooleanField(_("sees the organization's tickets"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    # Sign-in links carry the version they were made for; using one, sending a newer one and
    # signing out count it up, so each link signs in once and only while it is the latest.
    link_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("portal access")
        verbose_name_plural = _("portal accesses")

    def __str__(self) -> str:
        return str(self.person)
