"""Service figures: ticket volume (by day, category, channel), first response and resolution times
in business hours (median and 90th percentile), SLA compliance per priority, the backlog by age,
agent performance, the satisfaction trend, the most frequent issues and complaints by cause.

Every figure counts only tickets the user may see (`Ticket.objects.visible_to(user)`), narrowed to
the scope's assignee (the dashboard's "owner") and service team. A fixed number of queries whatever
the number of tickets: volume by day, by category, by channel (3), tags (1), SLA compliance (1),
backlog (1), complaints (1), satisfaction trend (1) and the business-hours durations with the agent
table (analytics.services.business_time: 4), plus the agents' names (1).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.figures import Figure
from analytics.scope import Period, Scope, scope_from
from analytics.services.business_time import Spread, ticket_durations
from analytics.snapshots import serializable
from crm.roles import SERVICE_ROLES
from service.filters import NO_CAUSE
from service.models import PRIORITY_ORDER, Priority, SatisfactionSurvey, ServiceTeam, Ticket, sla_outcomes

DAY = timedelta(days=1)
TOP = 10
# Backlog age buckets: (key, label, lower bound in days, upper bound in days or None).
AGE_BUCKETS = [
    ("lt1", gettext_lazy("under 1 day"), 0, 1),
    ("1to3", gettext_lazy("1–3 days"), 1, 3),
    ("3to7", gettext_lazy("3–7 days"), 3, 7),
    ("7to30", gettext_lazy("7–30 days"), 7, 30),
    ("gt30", gettext_lazy("over 30 days"), 30, None),
]
ALL_STATUSES = [value for value, _label in Ticket.Status.choices]


def percent(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@serializable
@dataclass
class ServiceDashboard:
    cards: list[Figure]
    times: list[dict]
    volume_by_day: list[dict]
    categories: list[dict]
    channels: list[dict]
    sla: list[dict]
    sla_total: dict
    backlog: list[dict]
    agents: list[dict]
    satisfaction: list[dict]
    satisfaction_unit: str
    tags: list[dict]
    complaints: list[dict]
    ratings: int

    def csv_rows(self) -> Iterator[tuple]:
        """(figure, item, measure, value): every number of the page, one per row."""
        for card in self.cards:
            yield card.label, "", _("Value"), card.value
            if card.total is not None:
                yield card.label, "", _("Out of"), card.total
                yield card.label, "", _("Share in %"), card.share
        section = _("Response and resolution times (business hours)")
        for row in self.times:
            yield section, row["label"], _("Tickets"), row["count"]
            yield section, row["label"], _("Median"), row["median"]
            yield section, row["label"], _("90th percentile"), row["p90"]
        for section, rows in ((_("Tickets by day"), self.volume_by_day), (_("Tickets by category"), self.categories),
                              (_("Tickets by channel"), self.channels), (_("Most frequent tags"), self.tags),
                              (_("Backlog by age"), self.backlog)):
            for row in rows:
                yield section, row["label"], _("Tickets"), row["count"]
        section = _("SLA compliance by priority")
        for row in [*self.sla, self.sla_total]:
            for key, measure in SLA_MEASURES:
                yield section, row["label"], str(measure), row[key]
        section = _("Agent performance")
        for row in self.agents:
            yield section, row["label"], _("Resolved tickets"), row["handled"]
            yield section, row["label"], _("Median first response (business hours)"), row["first_response"]
            yield section, row["label"], _("Median resolution (business hours)"), row["resolution"]
            yield section, row["label"], _("Average satisfaction"), row["csat"]
            yield section, row["label"], _("Ratings"), row["ratings"]
        section = _("Satisfaction trend")
        for row in self.satisfaction:
            yield section, row["label"], _("Average satisfaction"), row["average"]
            yield section, row["label"], _("Ratings"), row["count"]
        section = _("Complaints by cause")
        for row in self.complaints:
            yield section, row["label"], _("Complaints"), row["count"]
            yield section, row["label"], _("Compensation"), row["compensation"]


SLA_MEASURES = [
    ("response_met", gettext_lazy("First response in time")),
    ("response_due", gettext_lazy("First response targets decided")),
    ("response_share", gettext_lazy("First response in time in %")),
    ("resolution_met", gettext_lazy("Resolution in time")),
    ("resolution_due", gettext_lazy("Resolution targets decided")),
    ("resolution_share", gettext_lazy("Resolution in time in %")),
]


def service_scope(params):
    """The service dashboard's filter form (assignee, service team, period) and its scope."""
    staff = get_user_model().objects.filter(is_active=True, groups__name__in=SERVICE_ROLES).distinct()
    form, scope = scope_from(params, teams=ServiceTeam.objects.order_by("name"), owners=staff)
    for name, label in (("owner", _("Assignee")), ("team", _("Service team"))):
        form.fields[name].label = form[name].label = label  # the bound field copied the label when validated
    return form, scope


def compute(user, params) -> "ServiceDashboard":
    """For analytics.snapshots: the dashboard of `user` for the filter `params`."""
    return service_dashboard(user=user, scope=service_scope(params)[1])


def scoped_tickets(*, user, scope: Scope):
    tickets = scope.owned(Ticket.objects.visible_to(user), "assignee")
    if scope.team_id:
        tickets = tickets.filter(team_id=scope.team_id)
    return tickets


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(scope.start, time.min), tz),
            timezone.make_aware(datetime.combine(scope.end + DAY, time.min), tz))


def ticket_list_url(scope: Scope, *, open: bool = False, created: tuple | None = None, **query) -> str:
    """The ticket list ("all tickets" I may see) narrowed like the figures: the scope's assignee and
    team, the days `created` (first, last) if given, and `query` (a list value repeats the
    parameter); every status unless `open` (the list shows only open tickets when no status is
    chosen)."""
    params = [("scope", "all")]
    if scope.owner_ids is not None and len(scope.owner_ids) == 1:
        params.append(("assignee", next(iter(scope.owner_ids))))
    if scope.team_id:
        params.append(("team", scope.team_id))
    if not open:
        params += [("status", status) for status in ALL_STATUSES]
    if created is not None:
        params += [("created_from", created[0].isoformat()), ("created_to", created[1].isoformat())]
    for key, value in query.items():
        params += [(key, item) for item in value] if isinstance(value, list) else [(key, value)]
    return f"{reverse('service:ticket_list')}?{urlencode(params)}"


def _user_label(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _hours_row(label: str, spread, url: str) -> dict:
    return {"label": label, "count": spread.count, "median": spread.median, "p90": spread.p90, "url": url}


def service_dashboard(*, user, scope: Scope) -> ServiceDashboard:
    tickets = scoped_tickets(user=user, scope=scope)
    start_at, end_at = _bounds(scope)
    now = timezone.now()
    created = tickets.filter(created_at__gte=start_at, created_at__lt=end_at)

    # Volume: tickets created in the period, by day, category and channel.
    per_day = dict(created.annotate(day=TruncDate("created_at")).values_list("day").annotate(n=Count("pk")).order_by())
    volume_by_day = []
    day = scope.start
    while day <= scope.end:
        volume_by_day.append({"label": day.isoformat(), "day": day, "count": per_day.get(day, 0),
                              "url": ticket_list_url(scope, created=(day, day))})
        day += DAY
    total_created = sum(row["count"] for row in volume_by_day)
    period = (scope.start, scope.end)
    categories = [
        {"label": r["category__name"] or _("No category"), "count": r["count"],
         "url": ticket_list_url(scope, created=period, category=r["category_id"]) if r["category_id"] else ""}
        for r in created.values("category_id", "category__name").annotate(count=Count("pk")).order_by("-count", "category__name")
    ]
    channel_labels = dict(Ticket.Channel.choices)
    channels = [
        {"label": str(channel_labels.get(r["channel"], r["channel"])), "count": r["count"],
         "url": ticket_list_url(scope, created=period, channel=r["channel"])}
        for r in created.values("channel").annotate(count=Count("pk")).order_by("-count", "channel")
    ]
    tags = [
        {"label": r["tags__name"], "count": r["count"], "url": ticket_list_url(scope, created=period, tag=r["tags__pk"])}
        for r in created.filter(tags__isnull=False).values("tags__pk", "tags__name").annotate(count=Count("pk"))
        .order_by("-count", "tags__name")[:TOP]
    ]

    # SLA compliance of the tickets created in the period, per (current) priority. A target counts
    # once it is decided: met or missed, as service.models.sla_outcomes says (the ticket list's SLA
    # filter uses the same conditions, so the links show these tickets).
    outcomes = sla_outcomes(now)
    by_priority = {
        r["priority"]: r for r in created.values("priority").annotate(
            **{f"n_{key}": Count("pk", filter=condition) for key, condition in outcomes.items()}).order_by()
    }
    priority_labels = dict(Priority.choices)
    sla = [{"label": str(priority_labels[priority]), "priority": str(priority),
            **{key: by_priority.get(priority, {}).get(f"n_{key}", 0) for key in outcomes}}
           for priority in reversed(PRIORITY_ORDER)]
    sla_total = {"label": _("All priorities"), "priority": ""}
    for key in outcomes:
        sla_total[key] = sum(row[key] for row in sla)
    for row in [*sla, sla_total]:
        for target in ("response", "resolution"):
            row[f"{target}_due"] = row[f"{target}_met"] + row[f"{target}_missed"]
            row[f"{target}_share"] = percent(row[f"{target}_met"], row[f"{target}_due"])
            # The met and the decided targets of the row: its tickets with that outcome.
            narrow = {"priority": row["priority"]} if row["priority"] else {}
            row[f"{target}_met_url"] = ticket_list_url(scope, created=period, sla=f"{target}_met", **narrow)
            row[f"{target}_due_url"] = ticket_list_url(
                scope, created=period, sla=[f"{target}_met", f"{target}_missed"], **narrow)
        row["url"] = ticket_list_url(scope, created=period, **({"priority": row["priority"]} if row["priority"] else {}))

    # Backlog: tickets open now (whatever the period), by age since creation.
    ages = tickets.open().aggregate(**{
        key: Count("pk", filter=Q(created_at__lte=now - timedelta(days=low)) & (
            Q(created_at__gt=now - timedelta(days=high)) if high is not None else Q()))
        for key, _label, low, high in AGE_BUCKETS
    })
    open_url = ticket_list_url(scope, open=True)
    backlog = [
        {"key": key, "label": str(label), "count": ages[key],
         "url": ticket_list_url(scope, open=True, age_min_days=low, **({"age_max_days": high} if high is not None else {}))}
        for key, label, low, high in AGE_BUCKETS
    ]
    open_count = sum(row["count"] for row in backlog)

    # Times in business hours and the agent table (one grouped query, see business_time).
    durations = ticket_durations(tickets, by=F("assignee_id"), start_at=start_at, end_at=end_at)
    nothing = Spread(0, None, None)
    overall = durations.pop(None, None) or {"first_response": nothing, "resolution": nothing}
    days = {"from": scope.start.isoformat(), "to": scope.end.isoformat()}
    times = [
        _hours_row(_("First response"), overall["first_response"],
                   ticket_list_url(scope, responded_from=days["from"], responded_to=days["to"])),
        _hours_row(_("Resolution"), overall["resolution"],
                   ticket_list_url(scope, resolved_from=days["from"], resolved_to=days["to"])),
    ]
    names = {
        u["pk"]: _user_label(u["first_name"], u["last_name"], u["username"])
        for u in get_user_model().objects.filter(pk__in=list(durations)).values("pk", "first_name", "last_name", "username")
    } if durations else {}
    resolved_in = {"resolved_from": days["from"], "resolved_to": days["to"]}
    agents = sorted(
        ({"label": names.get(pk, str(pk)), "user_id": pk, "handled": row["handled"],
          "url": ticket_list_url(Scope(frozenset({pk}), scope.start, scope.end, "", team_id=scope.team_id), **resolved_in),
          "first_response": row["first_response"].median, "resolution": row["resolution"].median,
          "csat": row["csat"], "ratings": row["ratings"]}
         for pk, row in durations.items()),
        key=lambda row: (-row["handled"], row["label"]),
    )

    # Satisfaction: surveys of these tickets answered in the period, by week (month for long periods).
    monthly = scope.period in (Period.THIS_YEAR, Period.LAST_12_MONTHS)
    trunc = TruncMonth if monthly else TruncWeek
    answered = SatisfactionSurvey.objects.filter(
        ticket__in=tickets, rating__isnull=False, answered_at__gte=start_at, answered_at__lt=end_at)
    satisfaction = []
    for r in answered.annotate(unit=trunc("answered_at")).values("unit").annotate(average=Avg("rating"), count=Count("pk")).order_by("unit"):
        start = r["unit"].date() if isinstance(r["unit"], datetime) else r["unit"]
        label = date_format(start, "YEAR_MONTH_FORMAT") if monthly else _("Week of %(day)s") % {
            "day": date_format(start, "SHORT_DATE_FORMAT")}
        satisfaction.append({"label": label, "start": start, "average": Decimal(r["average"]).quantize(Decimal("0.01")),
                             "count": r["count"]})
    ratings = sum(row["count"] for row in satisfaction)
    csat_average = (
        (sum(row["average"] * row["count"] for row in satisfaction) / ratings).quantize(Decimal("0.01")) if ratings else None
    )

    # Complaints created in the period by cause.
    causes = dict(Ticket._meta.get_field("complaint_cause").choices)
    complaints = [
        {"label": str(causes.get(r["complaint_cause"])) if r["complaint_cause"] else _("No cause given"),
         "count": r["count"], "compensation": (r["compensation"] or Decimal("0")).quantize(Decimal("0.01")),
         "url": ticket_list_url(scope, created=period, complaint_cause=r["complaint_cause"] or NO_CAUSE)}
        for r in created.filter(is_complaint=True).values("complaint_cause")
        .annotate(count=Count("pk"), compensation=Sum("complaint_compensation")).order_by("-count", "complaint_cause")
    ]

    cards = [
        Figure("created", _("Tickets created"), total_created, None, ticket_list_url(scope, created=period),
               _("Tickets created in the period.")),
        Figure("open", _("Open tickets"), open_count, None, open_url, _("Tickets open now, whatever their age.")),
        Figure("first_response", _("Median first response"), overall["first_response"].median, None, "",
               _("Business hours from creation to the first public reply, for the tickets first answered in the period.")),
        Figure("resolution", _("Median resolution"), overall["resolution"].median, None, "",
               _("Business hours from creation to resolution, for the tickets resolved in the period.")),
        Figure("sla", _("SLA met"), sla_total["response_met"] + sla_total["resolution_met"],
               sla_total["response_due"] + sla_total["resolution_due"], "",
               _("First response and resolution targets met, out of those decided, for tickets created in the period.")),
        Figure("csat", _("Satisfaction"), csat_average, None, "",
               _("Average rating (1–5) of the surveys answered in the period.")),
    ]
    return ServiceDashboard(
        cards, times, volume_by_day, categories, channels, sla, sla_total, backlog, agents, satisfaction,
        "month" if monthly else "week", tags, complaints, ratings,
    )
