"""Agent workspace (queues, ticket page, bulk actions), reports, inbound mail, and the customer
side (survey link, portal). Staff views load tickets through Ticket.objects.visible_to/editable_by."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Avg, Count, Q, Sum
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import outbox, ratelimit
from crm.access import get_editable_or_403, get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.links import safe_next_url
from crm.lists import FilteredListView, int_param
from crm.roles import SALES_ROLES, SERVICE_ROLES, TICKET_OPEN_ROLES, Role, has_role
from crm.views import RecordHistoryView
from service import services
from service.filters import TicketFilter
from service.forms import (
    BulkForm,
    PortalLoginForm,
    PortalReplyForm,
    PortalTicketForm,
    ReplyForm,
    SurveyForm,
    TicketCreateForm,
    TicketForm,
)
from service.models import (
    CannedReply,
    InboundEmail,
    PortalAccess,
    SatisfactionSurvey,
    Ticket,
    TicketAttachment,
    TicketMessage,
    default_queue,
    service_team_ids,
)

TICKET_READERS = (Role.ADMIN, *SERVICE_ROLES, *SALES_ROLES)
TICKET_WORKERS = (Role.ADMIN, *SERVICE_ROLES)
LEADS = (Role.ADMIN, Role.SUPPORT_LEAD)
MESSAGES_ON_PAGE = 200
PORTAL_SESSION_KEY = "service_portal_access"
PORTAL_FRAME = "service/portal/base.html"


def _trail():
    return [crumb(_("Tickets"), "service:ticket_list")]


class TicketListView(FilteredListView):
    """The queues: mine, my teams', unassigned, or all visible; by SLA due time unless sorted."""

    model = Ticket
    allowed_roles = TICKET_READERS
    filterset_class = TicketFilter
    template_name = "service/ticket_list.html"
    table_template = "service/partials/ticket_table.html"
    sort_fields = {
        "due": ("resolution_due",),
        "priority": ("priority", "resolution_due"),
        "created": ("created_at",),
        "updated": ("updated_at",),
        "subject": ("subject",),
    }
    default_sort = "due"
    SCOPES = {"mine": _("My queue"), "team": _("Team queue"), "unassigned": _("Unassigned"), "all": _("All tickets")}

    def scope(self) -> str:
        requested = self.request.GET.get("scope", "")
        return requested if requested in self.SCOPES else default_queue(self.request.user)

    def base_queryset(self):
        qs = super().base_queryset().queue(self.request.user, self.scope())
        if not self.request.GET.getlist("status"):
            qs = qs.open()
        return qs.select_related("assignee", "team", "category", "person", "organization").only(
            "id", "subject", "status", "priority", "channel", "tier", "is_complaint", "created_at", "updated_at",
            "first_response_due", "resolution_due", "first_responded_at",
            "assignee__id", "assignee__username", "assignee__first_name", "assignee__last_name",
            "team__id", "team__name", "category__id", "category__name",
            "person__id", "person__first_name", "person__last_name", "person__academic_title",
            "organization__id", "organization__name",
        )

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.SCOPES[self.scope()])]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        can_work = has_role(user, *TICKET_WORKERS)
        context.update(
            scope=self.scope(),
            scope_label=self.SCOPES[self.scope()],
            scopes=self.SCOPES,
            can_work=can_work,
            bulk_form=BulkForm(user=user) if can_work else None,
            now=timezone.now(),
        )
        return context


@role_required(*TICKET_OPEN_ROLES)
def ticket_create(request):
    person = request.GET.get("person", "")
    form = TicketCreateForm(
        request.POST or None, initial={"person": person} if person.isdigit() else None, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ticket = services.ticket_create(
            subject=data["subject"], description=data["description"], person=data["person"],
            channel=data["channel"], category=data["category"], priority=data["priority"], product=data["product"],
            author=request.user,
        )
        messages.success(request, _("Ticket %(number)s was created: %(routing)s") % {
            "number": ticket.number, "routing": ticket.routing_explanation})
        if Ticket.objects.visible_to(request.user).filter(pk=ticket.pk).exists():
            return redirect(ticket)
        # Marketing (and sales for a customer they do not own) opens tickets it may not read.
        return redirect(ticket.person or "home")
    context = {"form": form, "breadcrumbs": [*_trail(), crumb(_("New ticket"))]}
    return render(request, "service/ticket_form.html", context)


def _detail_context(request, ticket, reply_form=None) -> dict:
    user = request.user
    can_edit = Ticket.objects.editable_by(user).filter(pk=ticket.pk).exists()
    thread = list(
        ticket.messages.select_related("author").prefetch_related("attachments").order_by("created_at", "pk")[:MESSAGES_ON_PAGE]
    )
    canned = []
    if can_edit:
        replies = CannedReply.objects.filter(Q(team__isnull=True) | Q(team_id__in=service_team_ids(user)))[:50]
        canned = [(r, services.canned_reply_render(reply=r, ticket=ticket, agent=user)) for r in replies]
    survey = SatisfactionSurvey.objects.filter(ticket=ticket).first()
    # Each public reply shows the state of its email; the other emails (the survey) get a card.
    emails = outbox.emails_about(ticket)
    by_message_id = {e.message_id: e for e in emails}
    for message in thread:
        message.outgoing_email = by_message_id.pop(message.message_id, None) if message.kind == TicketMessage.Kind.REPLY else None
    return {
        "object": ticket,
        "ticket": ticket,
        "thread": thread,
        "can_edit": can_edit,
        "reply_form": reply_form or (ReplyForm() if can_edit else None),
        "canned": canned,
        "survey": survey,
        "other_emails": [e for e in emails if e.message_id in by_message_id],
        "escalations": list(ticket.escalations.order_by("created_at")),
        "tags": list(ticket.tags.all()),
        "related_tickets": list(ticket.possibly_related.visible_to(user).only("id", "subject", "status").order_by("-pk")[:20]),
        "now": timezone.now(),
        "breadcrumbs": [*_trail(), crumb(ticket.number)],
    }


def _load(request, pk):
    qs = Ticket.objects.visible_to(request.user).select_related(
        "person", "organization", "assignee", "team", "category", "merged_into", "related_deal"
    )
    try:
        return qs.get(pk=pk)
    except Ticket.DoesNotExist:
        raise Http404 from None


@role_required(*TICKET_READERS, record=Ticket)
def ticket_detail(request, pk: int):
    ticket = _load(request, pk)
    return render(request, "service/ticket_detail.html", _detail_context(request, ticket))


@role_required(*TICKET_WORKERS, record=Ticket)
def ticket_update(request, pk: int):
    """Edits with an optimistic lock: a save based on an old version is refused, not merged."""
    ticket = get_editable_or_403(Ticket, request.user, pk=pk)
    form = TicketForm(request.POST or None, instance=ticket, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_record_data()
        version = data.pop("version")
        try:
            services.ticket_update(ticket_id=ticket.pk, version=version, changes=data, user=request.user)
        except services.TicketConflict:
            form.add_error(None, _(
                "Someone else saved this ticket after you opened it. Your changes are still in the form: "
                "open the ticket in a new tab to see what changed, then save again."))
            current = Ticket.objects.get(pk=ticket.pk)
            form.data = form.data.copy()
            form.data["version"] = current.version  # saving again is then a deliberate overwrite
        else:
            messages.success(request, _("Ticket %(number)s was saved.") % {"number": ticket.number})
            return redirect(ticket)
    context = {
        "form": form,
        "object": ticket,
        "breadcrumbs": [*_trail(), crumb(ticket.number, url=ticket.get_absolute_url()), crumb(_("Edit"))],
    }
    return render(request, "service/ticket_update.html", context, status=409 if form.non_field_errors() else 200)


@require_POST
@role_required(*TICKET_WORKERS, record=Ticket)
def ticket_reply(request, pk: int):
    ticket = get_editable_or_403(Ticket, request.user, pk=pk)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        ticket = _load(request, pk)
        return render(request, "service/ticket_detail.html", _detail_context(request, ticket, reply_form=form), status=422)
    data = form.cleaned_data
    was_unassigned = ticket.assignee_id is None
    services.ticket_reply(
        ticket=ticket, author=request.user, body=data["body"], public=data["public"], status=data["status"],
        files=[data["attachment"]] if data["attachment"] else [],
    )
    messages.success(request, _("Reply saved; its email is on its way (see its state below the reply).") if data["public"] else _("Note saved."))
    if was_unassigned and ticket.assignee_id == request.user.pk:
        messages.info(request, _("The ticket was unassigned; it is now assigned to you."))
    return redirect(ticket)


@require_POST
@role_required(*TICKET_WORKERS, record=Ticket)
def ticket_merge(request, pk: int):
    ticket = get_editable_or_403(Ticket, request.user, pk=pk)
    raw = request.POST.get("other", "").strip().upper().removeprefix("T-")
    other = Ticket.objects.editable_by(request.user).filter(pk=int(raw)).first() if raw.isdigit() else None
    if other is None or other.pk == ticket.pk:
        messages.error(request, _("No other ticket with this number that you may change."))
    else:
        services.ticket_merge(survivor=ticket, other=other, user=request.user)
        messages.success(request, _("%(other)s was merged into this ticket.") % {"other": other.number})
    return redirect(ticket)


@require_POST
@role_required(*TICKET_WORKERS)
def ticket_bulk(request):
    form = BulkForm(request.POST, user=request.user)
    back = safe_next_url(request, request.POST.get("next"), reverse("service:ticket_list"))
    if not form.is_valid():
        messages.error(request, _("Choose at least one ticket you may change."))
        return HttpResponseRedirect(back)
    data = form.cleaned_data
    if data["assignee"] is not None and not has_role(request.user, *LEADS) and data["assignee"] != request.user:
        messages.error(request, _("Only leads assign tickets to others."))
        return HttpResponseRedirect(back)
    count = services.tickets_bulk_update(
        tickets=Ticket.objects.filter(pk__in=[t.pk for t in data["tickets"]]), user=request.user,
        assignee=data["assignee"], status=data["status"], priority=data["priority"],
    )
    messages.success(request, _("%(count)d tickets changed.") % {"count": count})
    return HttpResponseRedirect(back)


@role_required(*TICKET_READERS, record=TicketAttachment)
def attachment_download(request, pk: int):
    attachment = get_visible_or_404(TicketAttachment, request.user, pk=pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)


ticket_history = RecordHistoryView.as_view(model=Ticket, trail=_trail)



@role_required(*LEADS)
def service_report(request):
    """Complaints by cause and satisfaction by agent and team, over the tickets the lead sees."""
    tickets = Ticket.objects.visible_to(request.user)
    complaints = (
        tickets.filter(is_complaint=True).values("complaint_cause")
        .annotate(count=Count("pk"), compensation=Sum("complaint_compensation")).order_by("-count")
    )
    causes = dict(Ticket._meta.get_field("complaint_cause").choices)
    surveys = SatisfactionSurvey.objects.filter(ticket__in=tickets, rating__isnull=False)
    by_agent = surveys.values("agent__first_name", "agent__last_name", "agent__username").annotate(
        avg=Avg("rating"), count=Count("pk")).order_by("-avg")[:50]
    by_team = surveys.values("team__name").annotate(avg=Avg("rating"), count=Count("pk")).order_by("-avg")[:50]
    context = {
        "complaints": [{**row, "label": causes.get(row["complaint_cause"], _("(no cause)"))} for row in complaints],
        "by_agent": by_agent,
        "by_team": by_team,
        "breadcrumbs": [*_trail(), crumb(_("Reports"))],
    }
    return render(request, "service/report.html", context)


@role_required(*LEADS)
def inbound_list(request):
    """Incoming email, newest first, failures on top: nothing is dropped without a trace."""
    status = request.GET.get("status", "")
    qs = InboundEmail.objects.select_related("ticket").defer("raw")
    if status in InboundEmail.Status.values:
        qs = qs.filter(status=status)
    offset = int_param(request, "offset")
    rows = list(qs.order_by("-received_at", "-pk")[offset: offset + 51])
    context = {
        "rows": rows[:50], "has_more": len(rows) > 50, "next_offset": offset + 50, "status": status,
        "statuses": InboundEmail.Status.choices,
        "failed": InboundEmail.objects.filter(status=InboundEmail.Status.FAILED).count(),
        "breadcrumbs": [*_trail(), crumb(_("Incoming email"))],
    }
    return render(request, "service/inbound_list.html", context)


# --- customers: survey and portal ------------------------------------------------------------


@ratelimit.rate_limit("service-survey", limit="SERVICE_SURVEY_RATE_LIMIT", frame=PORTAL_FRAME,
                      key=lambda request, token: token)
def survey_answer(request, token: str):
    """The survey link: the email has one link per rating, which opens this page with that rating
    chosen; only the button (a POST) records it. Mail scanners open every link in a message, and
    must not cast five ratings."""
    survey = services.survey_from_token(token)
    if survey is None:
        raise Http404
    clicked = request.GET.get("rating", "")
    initial = {"rating": int(clicked) if clicked in {"1", "2", "3", "4", "5"} else survey.rating, "comment": survey.comment}
    form = SurveyForm(request.POST or None, initial=initial)
    saved = False
    if request.method == "POST" and form.is_valid():
        services.survey_answer(survey=survey, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"])
        saved = True
    return render(request, "service/portal/survey.html", {"survey": survey, "form": form, "saved": saved})


def _portal_access(request) -> PortalAccess | None:
    pk = request.session.get(PORTAL_SESSION_KEY)
    if not pk:
        return None
    return PortalAccess.objects.filter(pk=pk, is_active=True).select_related("person").first()


def portal_required(view):
    def wrapper(request, *args, **kwargs):
        access = _portal_access(request)
        if access is None:
            return redirect("service:portal_login")
        return view(request, access, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


@ratelimit.rate_limit("service-portal-link", limit="SERVICE_PORTAL_LINK_RATE_LIMIT", frame=PORTAL_FRAME)
def portal_login(request):
    """The sign-in form: the same answer, after the same work, for every address (the task
    behind it mails the link, or nothing)."""
    form = PortalLoginForm(request.POST or None)
    sent = False
    if request.method == "POST" and form.is_valid():
        services.portal_link_request(email=form.cleaned_data["email"])
        sent = True
    minutes = max(1, settings.SERVICE_PORTAL_LINK_MAX_AGE // 60)
    return render(request, "service/portal/login.html", {"form": form, "sent": sent, "link_minutes": minutes})


def portal_enter(request, token: str):
    """The link from the email: a page with one button (mail scanners open links, they do not
    press buttons); the POST uses the link up and signs in."""
    try:
        if request.method == "POST":
            access = services.portal_link_redeem(token=token)
        else:
            services.portal_link_check(token=token)
    except services.PortalLinkRefused as refused:
        return render(request, "service/portal/login.html", {"form": PortalLoginForm(), "refused": refused.reason}, status=400)
    if request.method != "POST":
        return render(request, "service/portal/enter.html")
    request.session.cycle_key()
    request.session[PORTAL_SESSION_KEY] = access.pk
    return redirect("service:portal_ticket_list")


@require_POST
def portal_logout(request):
    """Ends the portal session and every sign-in link sent before it."""
    access = _portal_access(request)
    if access is not None:
        services.portal_links_end(access=access)
    request.session.pop(PORTAL_SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("service:portal_login")


@portal_required
def portal_ticket_list(request, access):
    tickets = list(
        services.portal_tickets(access).select_related("person").order_by("-created_at")[:100]
    )
    return render(request, "service/portal/ticket_list.html", {"access": access, "tickets": tickets})


@portal_required
def portal_ticket_detail(request, access, pk: int):
    ticket = services.portal_tickets(access).filter(pk=pk).first()
    if ticket is None:
        raise Http404
    form = PortalReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.portal_reply(access=access, ticket=ticket, body=form.cleaned_data["body"])
        return redirect("service:portal_ticket_detail", pk=ticket.pk)
    thread = ticket.messages.exclude(kind=TicketMessage.Kind.NOTE).order_by("created_at", "pk")[:MESSAGES_ON_PAGE]
    return render(request, "service/portal/ticket_detail.html", {"access": access, "ticket": ticket, "thread": thread, "form": form})


@portal_required
def portal_ticket_create(request, access):
    form = PortalTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ticket = services.ticket_create(
            subject=form.cleaned_data["subject"], description=form.cleaned_data["body"], person=access.person,
            channel=Ticket.Channel.PORTAL, from_email=access.person.email,
        )
        return redirect("service:portal_ticket_detail", pk=ticket.pk)
    return render(request, "service/portal/ticket_form.html", {"access": access, "form": form})
