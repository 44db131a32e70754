"""The start page of support agents and leads: their queue, SLA alarms, unassigned tickets of
their teams, and a lead's backlog; each reads only the tickets the user may see."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import make_user
from crm.roles import Role
from crm.tests.startpage import home, home_queries, part, widget
from service.models import Ticket
from service.tests.factories import TicketFactory

SALES_WIDGETS = ("w-stale-deals", "w-new-leads", "w-team-pipeline", "w-team-forecast")
MARKETING_WIDGETS = ("w-campaigns", "w-consent-growth", "w-form-leads")


def ticket(team, *, assignee=None, due_in_hours=24, responded=True, **kwargs):
    now = timezone.now()
    return TicketFactory(
        team=team, assignee=assignee, resolution_due=now + timedelta(hours=due_in_hours),
        first_response_due=now - timedelta(hours=30), first_responded_at=now - timedelta(hours=31) if responded else None,
        **kwargs,
    )


def test_agent_sees_the_service_widgets_and_no_sales_or_marketing_ones(support, client_for):
    body = home(client_for(support["anna"]))
    for widget_id in ("w-my-queue", "w-sla-alarms", "w-unassigned", "w-my-tasks", "w-appointments-today"):
        assert widget(body, widget_id), widget_id
    for widget_id in (*SALES_WIDGETS, *MARKETING_WIDGETS, "w-team-backlog", "w-team-tasks"):
        assert not widget(body, widget_id), widget_id


def test_sales_and_marketing_see_no_ticket_widgets(role_users, client_for):
    for role in (Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING):
        body = home(client_for(role_users[role]))
        for widget_id in ("w-my-queue", "w-sla-alarms", "w-unassigned", "w-team-backlog"):
            assert not widget(body, widget_id), (role, widget_id)


def test_queue_holds_my_open_tickets_by_due_time(support, client_for):
    later = ticket(support["team"], assignee=support["anna"], due_in_hours=30, subject="Später fällig")
    sooner = ticket(support["team"], assignee=support["anna"], due_in_hours=5, subject="Bald fällig")
    ticket(support["team"], assignee=support["anna"], subject="Schon gelöst", status=Ticket.Status.RESOLVED)
    ticket(support["team"], assignee=support["ben"], subject="Bens Ticket")
    queue = widget(home(client_for(support["anna"])), "w-my-queue")
    assert queue.index(sooner.subject) < queue.index(later.subject)
    assert "Schon gelöst" not in queue and "Bens Ticket" not in queue
    assert "?scope=mine" in queue


def test_breached_and_due_soon_tickets_of_my_teams_only(support, client_for):
    breached = ticket(support["team"], assignee=support["ben"], due_in_hours=-3, subject="Überfällige Lösung")
    no_answer = ticket(support["team"], due_in_hours=20, responded=False, subject="Keine Antwort")  # first response 30 h late
    due_soon = ticket(support["team"], assignee=support["anna"], due_in_hours=1, subject="In einer Stunde")
    ticket(support["team"], due_in_hours=3, subject="In drei Stunden")
    ticket(support["other_team"], assignee=support["outsider"], due_in_hours=-5, subject="Fremdes Team überfällig")
    ticket(support["team"], due_in_hours=-5, subject="Erledigt", status=Ticket.Status.CLOSED)
    alarms = widget(home(client_for(support["anna"])), "w-sla-alarms")
    overdue, soon = part(alarms, "breached"), part(alarms, "due_soon")
    assert breached.subject in overdue and no_answer.subject in overdue
    assert "Fremdes Team" not in alarms and "Erledigt" not in alarms and "In drei Stunden" not in alarms
    assert due_soon.subject in soon and due_soon.subject not in overdue
    assert "due=breached" in alarms and "due=due_soon" in alarms


def test_the_overdue_link_lists_the_same_tickets(support, client_for):
    ticket(support["team"], assignee=support["ben"], due_in_hours=-3, subject="Überfällige Lösung")
    ticket(support["team"], due_in_hours=1, subject="In einer Stunde")
    client = client_for(support["anna"])
    listed = client.get("/service/tickets/?scope=all&due=breached").content.decode()
    assert "Überfällige Lösung" in listed and "In einer Stunde" not in listed
    listed = client.get("/service/tickets/?scope=all&due=due_soon").content.decode()
    assert "In einer Stunde" in listed and "Überfällige Lösung" not in listed


def test_empty_widgets_say_so_in_german(support, client_for):
    body = home(client_for(support["anna"]), language="de")
    assert "Keine überfälligen Tickets." in widget(body, "w-sla-alarms")
    assert "Ihnen sind keine offenen Tickets zugewiesen." in widget(body, "w-my-queue")
    assert "Keine nicht zugewiesenen Tickets." in widget(body, "w-unassigned")


def test_unassigned_tickets_of_my_teams(support, client_for):
    mine = ticket(support["team"], subject="Noch niemandes")
    ticket(support["other_team"], subject="Niemandes im Export")
    ticket(support["team"], assignee=support["ben"], subject="Ben hat es")
    unassigned = widget(home(client_for(support["anna"])), "w-unassigned")
    assert mine.subject in unassigned
    assert "Niemandes im Export" not in unassigned and "Ben hat es" not in unassigned


def test_lead_sees_the_backlog_per_team_and_agent(support, client_for):
    lead = support["lead"]
    ticket(support["team"], assignee=support["anna"], due_in_hours=-2)
    ticket(support["team"], assignee=support["anna"])
    ticket(support["team"])
    ticket(support["team"], due_in_hours=-1)
    ticket(support["other_team"], assignee=support["outsider"], due_in_hours=-1)
    body = home(client_for(lead))
    backlog = widget(body, "w-team-backlog")
    assert backlog and widget(body, "w-sla-alarms")
    row = backlog[backlog.index(f'data-team="{support["team"].pk}"'):]
    row = row[: row.index("</tr>")]
    assert ">4<" in row and row.count(">2</a>") == 2  # 4 open; 2 unassigned and 2 breached, as links
    assert "Support Export" not in backlog and f'data-agent="{support["outsider"].pk}"' not in backlog
    anna = backlog[backlog.index(f'data-agent="{support["anna"].pk}"'):]
    anna = anna[: anna.index("</tr>")]
    assert ">2<" in anna and ">1</a>" in anna  # 2 open, 1 breached
    ben = backlog[backlog.index(f'data-agent="{support["ben"].pk}"'):]
    assert ">0<" in ben[: ben.index("</tr>")]  # listed with nothing open


def test_agent_does_not_see_the_backlog_and_a_lead_without_team_is_told(support, client_for):
    assert not widget(home(client_for(support["anna"])), "w-team-backlog")
    lone_lead = make_user("lone", Role.SUPPORT_LEAD)
    assert "You do not lead a service team yet." in widget(home(client_for(lone_lead)), "w-team-backlog")


@pytest.mark.parametrize("member", ["anna", "lead"])
def test_start_page_queries_do_not_grow_with_the_tickets(support, client_for, member):
    client = client_for(support[member])

    def add(n):
        for i in range(n):
            ticket(support["team"], assignee=support["anna"] if i % 2 else None, due_in_hours=(i % 5) - 2)
            ticket(support["other_team"], assignee=support["outsider"], due_in_hours=-1)

    add(3)
    few = home_queries(client)
    add(27)
    assert home_queries(client) == few
    assert few <= 30
