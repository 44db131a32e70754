"""Start page widgets of service: an agent's queue, the SLA alarms, the unassigned tickets of the
user's teams, and a lead's backlog per team and agent.

Each widget reads the tickets the user may see (Ticket.objects.visible_to) in one or two bounded
queries over the partial indexes of open tickets, whatever the number of tickets."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from service.models import ServiceTeam, Ticket, current_due_condition

WIDGET_ROWS = 10
TICKET_FIELDS = (
    "id", "subject", "status", "priority", "first_response_due", "resolution_due", "first_responded_at",
    "person__id", "person__first_name", "person__last_name", "person__academic_title",
    "organization__id", "organization__name",
)


def _open_tickets(user):
    return Ticket.objects.visible_to(user).open()


def _rows(queryset, limit: int = WIDGET_ROWS) -> tuple[list, bool]:
    rows = list(
        queryset.select_related("person", "organization").only(*TICKET_FIELDS).order_by("resolution_due", "id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def my_queue(user) -> dict:
    """The open tickets assigned to the user, the next due first (the list's "My queue")."""
    tickets, more = _rows(_open_tickets(user).queue(user, "mine"))
    return {"tickets": tickets, "more": more, "now": timezone.now()}


def sla_alarms(user) -> dict:
    """Open tickets the user sees whose running SLA target is breached, and those due soon."""
    now = timezone.now()
    visible = _open_tickets(user)
    breached, more_breached = _rows(visible.sla_breached(now))
    due_soon, more_due_soon = _rows(visible.sla_due_soon(now), limit=WIDGET_ROWS // 2)
    return {
        "breached": breached, "more_breached": more_breached,
        "due_soon": due_soon, "more_due_soon": more_due_soon, "now": now,
    }


def unassigned(user) -> dict:
    """Open tickets of the user's queues that nobody has taken yet (the list's "Unassigned")."""
    tickets, more = _rows(_open_tickets(user).queue(user, "unassigned"))
    return {"tickets": tickets, "more": more, "now": timezone.now()}


def team_backlog(user) -> dict:
    """Open tickets of the teams the user leads: per team (open, unassigned, breached) and per
    agent (open, breached). Three queries: the teams with their agents, two grouped counts."""
    now = timezone.now()
    teams = list(ServiceTeam.objects.filter(lead=user).prefetch_related("agents").order_by("name"))
    if not teams:
        return {"teams": [], "agents": [], "leads_team": False}
    breached = current_due_condition(lte=now)
    backlog = _open_tickets(user).filter(team__in=teams)
    per_team = {
        row["team_id"]: row
        for row in backlog.values("team_id").annotate(
            open=Count("pk"), unassigned=Count("pk", filter=Q(assignee__isnull=True)), breached=Count("pk", filter=breached)
        ).order_by()
    }
    per_agent = {
        row["assignee_id"]: row
        for row in backlog.filter(assignee__isnull=False).values("assignee_id").annotate(
            open=Count("pk"), breached=Count("pk", filter=breached)
        ).order_by()
    }
    agents = {agent.pk: agent for team in teams for agent in team.agents.all()}
    # Someone outside the teams can hold one of their tickets (a lead, a former agent): they count too.
    missing = set(per_agent) - set(agents)
    if missing:
        agents.update({u.pk: u for u in get_user_model().objects.filter(pk__in=missing)})
    team_rows = [
        {"team": team, **{key: per_team.get(team.pk, {}).get(key, 0) for key in ("open", "unassigned", "breached")}}
        for team in teams
    ]
    agent_rows = sorted(
        (
            {"agent": agent, "open": per_agent.get(pk, {}).get("open", 0), "breached": per_agent.get(pk, {}).get("breached", 0)}
            for pk, agent in agents.items()
        ),
        key=lambda row: (-row["open"], agent_sort_key(row["agent"])),
    )
    return {"teams": team_rows, "agents": agent_rows, "leads_team": True}


def agent_sort_key(user) -> tuple:
    return (user.first_name.lower(), user.last_name.lower(), user.username)
