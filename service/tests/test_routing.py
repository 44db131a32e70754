"""Routing: team by category or channel, then skills, then load, round-robin on ties."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from contacts.tests.factories import PersonFactory
from service import services
from service.models import Ticket
from service.tests.factories import AgentProfileFactory, TicketFactory

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def load(user, count):
    for _ in range(count):
        TicketFactory(assignee=user, status=Ticket.Status.OPEN)


def test_billing_ticket_goes_to_the_agent_with_the_billing_skill(support):
    load(support["anna"], 3)
    ticket = services.ticket_create(subject="Rechnung doppelt", category=support["billing"], person=PersonFactory(), now=NOON)
    assert ticket.team == support["team"]
    assert ticket.assignee == support["anna"]
    assert ticket.routing_explanation == "assigned to Anna Berger: skill German + Rechnung, load 3"


def test_the_lower_load_wins_among_equally_skilled_agents(support):
    support["ben"].agent_profile.categories.add(support["billing"])
    load(support["anna"], 3)
    load(support["ben"], 1)
    ticket = services.ticket_create(subject="Rechnung", category=support["billing"], person=PersonFactory(), now=NOON)
    assert ticket.assignee == support["ben"]
    assert "load 1" in ticket.routing_explanation


def test_ties_go_round_robin_and_the_pointer_persists(support):
    tech = support["tech"]
    support["anna"].agent_profile.categories.add(tech)
    assignees = []
    for _ in range(4):
        ticket = services.ticket_create(subject="Drucker", category=tech, person=PersonFactory(), now=NOON)
        assignees.append(ticket.assignee)
        ticket.status = Ticket.Status.RESOLVED  # keep the loads equal
        ticket.save()
    assert assignees == [support["anna"], support["ben"], support["anna"], support["ben"]]
    support["team"].refresh_from_db()
    assert support["team"].last_assigned == support["ben"]


def test_absent_agents_and_agents_at_capacity_get_nothing(support):
    support["anna"].agent_profile.absent = True
    support["anna"].agent_profile.save()
    ticket = services.ticket_create(subject="Rechnung", category=support["billing"], person=PersonFactory(), now=NOON)
    assert ticket.assignee == support["ben"]
    profile = support["ben"].agent_profile
    profile.capacity = 1
    profile.save()
    second = services.ticket_create(subject="Rechnung 2", category=support["billing"], person=PersonFactory(), now=NOON)
    assert second.assignee is None
    assert "no agent available" in second.routing_explanation


def test_agents_outside_working_hours_are_skipped(support):
    from datetime import time

    profile = support["anna"].agent_profile
    profile.works_from, profile.works_until = time(8), time(11)
    profile.save()
    ticket = services.ticket_create(subject="Rechnung", category=support["billing"], person=PersonFactory(), now=NOON)
    assert ticket.assignee == support["ben"]


def test_english_speaker_gets_the_english_ticket(support):
    person = PersonFactory(preferred_language="en")
    ticket = services.ticket_create(subject="Invoice", person=person, channel=Ticket.Channel.EMAIL, now=NOON)
    assert ticket.team == support["team"]  # by channel
    assert ticket.assignee == support["ben"]
    assert "English" in ticket.routing_explanation


def test_without_a_matching_team_the_ticket_waits_unassigned(support):
    ticket = services.ticket_create(subject="Anruf", channel=Ticket.Channel.PHONE, person=PersonFactory(), now=NOON)
    assert ticket.team is None and ticket.assignee is None
    assert ticket.routing_explanation


def test_a_lead_reassigns_in_bulk(support):
    tickets = [TicketFactory(team=support["team"], assignee=support["anna"]) for _ in range(3)]
    AgentProfileFactory(user=support["lead"])
    count = services.tickets_bulk_update(
        tickets=Ticket.objects.filter(pk__in=[t.pk for t in tickets]), user=support["lead"], assignee=support["ben"]
    )
    assert count == 3
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("assignee", flat=True)) == {support["ben"].pk}
    assert "reassigned by Lena Lehmann" in Ticket.objects.get(pk=tickets[0].pk).routing_explanation
