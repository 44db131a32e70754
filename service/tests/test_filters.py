"""The ticket list's filters by creation day, age, assignee, tag, complaint cause, response and
resolution day and SLA outcome (the Service dashboard links with them): each finds exactly its
tickets, within what the user may see, with a constant number of queries; bad values never fail."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.tests.factories import TagFactory
from service.models import Ticket
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

URL = reverse("service:ticket_list")
BERLIN = ZoneInfo("Europe/Berlin")
EVERY_STATUS = [("status", s) for s, _label in Ticket.Status.choices]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=BERLIN)


def shown(client, **params) -> set:
    """The subjects the list shows for the filter `params` (every status, every queue)."""
    query = [("scope", "all"), *EVERY_STATUS]
    for key, value in params.items():
        query += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    response = client.get(URL, query)
    assert response.status_code == 200
    return {ticket.subject for ticket in response.context["object_list"]}


def test_created_from_and_until_hold_whole_local_days(client, support):
    team = support["team"]
    TicketFactory(team=team, subject="before", created_at=at(9, 23, 59))  # 9 March, 23:59 in Berlin
    TicketFactory(team=team, subject="first", created_at=at(10, 0, 0))
    TicketFactory(team=team, subject="last", created_at=at(12, 23, 59))
    TicketFactory(team=team, subject="after", created_at=at(13, 0, 0))
    client.force_login(support["lead"])
    assert shown(client, created_from="2025-03-10", created_to="2025-03-12") == {"first", "last"}
    assert shown(client, created_from="2025-03-13") == {"after"}
    assert shown(client, created_to="2025-03-09") == {"before"}


def test_age_in_days_counts_from_now(client, support):
    now = timezone.now()
    for subject, age in (("hours", timedelta(hours=5)), ("two days", timedelta(days=2)), ("month", timedelta(days=40))):
        TicketFactory(team=support["team"], subject=subject, created_at=now - age)
    client.force_login(support["anna"])
    assert shown(client, age_min_days=1) == {"two days", "month"}
    assert shown(client, age_max_days=1) == {"hours"}
    assert shown(client, age_min_days=1, age_max_days=3) == {"two days"}
    assert shown(client, age_min_days=30) == {"month"}


def test_assignee_finds_their_tickets_and_nobody_the_unassigned(client, support):
    TicketFactory(team=support["team"], subject="anna's", assignee=support["anna"])
    TicketFactory(team=support["team"], subject="ben's", assignee=support["ben"])
    TicketFactory(team=support["team"], subject="nobody's", assignee=None)
    client.force_login(support["lead"])
    assert shown(client, assignee=support["anna"].pk) == {"anna's"}
    assert shown(client, assignee="null") == {"nobody's"}


def test_the_filters_keep_an_agents_view_to_their_teams(client, support):
    """Filtering by a foreign agent shows nothing of the other team's tickets."""
    TicketFactory(team=support["other_team"], subject="export", assignee=support["outsider"], created_at=at(10, 9))
    TicketFactory(team=support["team"], subject="dach", assignee=support["ben"], created_at=at(10, 9))
    client.force_login(support["anna"])
    assert shown(client, assignee=support["outsider"].pk) == set()
    assert shown(client, created_from="2025-03-10", created_to="2025-03-10") == {"dach"}
    client.force_login(support["outsider"])
    assert shown(client, created_from="2025-03-10", created_to="2025-03-10") == {"export"}


def test_tag_finds_the_tagged_tickets_once(client, support):
    reminder, login = TagFactory(name="Mahnung"), TagFactory(name="Login")
    both = TicketFactory(team=support["team"], subject="both")
    both.tags.add(reminder, login)
    TicketFactory(team=support["team"], subject="login").tags.add(login)
    TicketFactory(team=support["team"], subject="none")
    client.force_login(support["anna"])
    assert shown(client, tag=reminder.pk) == {"both"}
    response = client.get(URL, [("scope", "all"), ("tag", login.pk)])
    assert response.context["paginator"].count == 2


def test_complaint_cause_finds_complaints_with_that_cause(client, support):
    team = support["team"]
    TicketFactory(team=team, subject="billing", is_complaint=True, complaint_cause="billing",
                  complaint_compensation=Decimal("5"))
    TicketFactory(team=team, subject="delivery", is_complaint=True, complaint_cause="delivery")
    TicketFactory(team=team, subject="no cause", is_complaint=True, complaint_cause="")
    TicketFactory(team=team, subject="no complaint")
    client.force_login(support["anna"])
    assert shown(client, complaint_cause="billing") == {"billing"}
    assert shown(client, complaint_cause="none") == {"no cause"}


def test_first_response_and_resolution_days(client, support):
    team = support["team"]
    TicketFactory(team=team, subject="answered 10th", created_at=at(1, 9), first_responded_at=at(10, 23, 30))
    TicketFactory(team=team, subject="answered 11th", created_at=at(1, 9), first_responded_at=at(11, 0, 30),
                  resolved_at=at(20, 10), status=Ticket.Status.RESOLVED)
    TicketFactory(team=team, subject="resolved 31st", created_at=at(1, 9), resolved_at=at(31, 23, 59),
                  status=Ticket.Status.CLOSED)
    client.force_login(support["anna"])
    assert shown(client, responded_from="2025-03-10", responded_to="2025-03-10") == {"answered 10th"}
    assert shown(client, resolved_from="2025-03-01", resolved_to="2025-03-31") == {"answered 11th", "resolved 31st"}
    assert shown(client, resolved_from="2025-04-01") == set()


def test_sla_outcomes(client, support):
    team = support["team"]
    now = timezone.now()
    hour = timedelta(hours=1)
    TicketFactory(team=team, subject="answered in time", created_at=now - 5 * hour, first_response_due=now - 2 * hour,
                  first_responded_at=now - 3 * hour, resolution_due=now + hour)
    TicketFactory(team=team, subject="answered late", created_at=now - 5 * hour, first_response_due=now - 3 * hour,
                  first_responded_at=now - 2 * hour, resolution_due=now - hour, resolved_at=now - 2 * hour,
                  status=Ticket.Status.RESOLVED)
    TicketFactory(team=team, subject="unanswered, due", created_at=now - 5 * hour, first_response_due=now - hour,
                  resolution_due=now - hour / 2)
    TicketFactory(team=team, subject="running", created_at=now - hour, first_response_due=now + hour, resolution_due=now + 9 * hour)
    # Resolved without a reply before the response was due: no response target, resolution met.
    TicketFactory(team=team, subject="resolved early", created_at=now - 5 * hour, first_response_due=now - hour,
                  resolution_due=now + hour, resolved_at=now - 2 * hour, status=Ticket.Status.RESOLVED)
    client.force_login(support["anna"])
    assert shown(client, sla="response_met") == {"answered in time"}
    assert shown(client, sla="response_missed") == {"answered late", "unanswered, due"}
    assert shown(client, sla="resolution_met") == {"answered late", "resolved early"}
    assert shown(client, sla="resolution_missed") == {"unanswered, due"}
    assert shown(client, sla=["response_met", "response_missed"]) == {"answered in time", "answered late", "unanswered, due"}


def test_the_form_offers_the_new_filters_in_german(client, support):
    client.force_login(support["anna"])
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    for name in ("assignee", "tag", "complaint_cause", "created_from", "created_to", "age_min_days", "age_max_days",
                 "responded_from", "resolved_to", "sla"):
        assert f'name="{name}"' in html, name


def test_the_filter_form_keeps_the_queue(client, support):
    client.force_login(support["anna"])
    html = client.get(URL, {"scope": "all", "tag": ""}).content.decode()
    assert '<input type="hidden" name="scope" value="all"' in html


@pytest.mark.parametrize("params", [
    {"age_min_days": "x"}, {"age_max_days": "1e400"}, {"age_min_days": "-3"}, {"age_min_days": "99999999999"},
    {"created_from": "2025-13-40"}, {"created_to": "0000-00-00"}, {"resolved_from": "<script>"},
    {"assignee": "99999999999999999999999"}, {"tag": "x'; drop"}, {"complaint_cause": "nonsense"},
    {"sla": "everything"},
])
def test_bad_filter_values_never_fail(client, support, params):
    TicketFactory(team=support["team"])
    client.force_login(support["anna"])
    assert client.get(URL, {"scope": "all", **params}).status_code == 200


def test_every_filter_together_runs_a_constant_number_of_queries(client, support, django_assert_max_num_queries):
    tag = TagFactory(name="Mahnung")
    params = [("scope", "all"), *EVERY_STATUS, ("assignee", support["ben"].pk), ("tag", tag.pk),
              ("complaint_cause", "billing"), ("created_from", "2000-01-01"), ("created_to", "2100-01-01"),
              ("age_min_days", "0"), ("age_max_days", "3"), ("resolved_from", "2000-01-01"), ("sla", "resolution_met"),
              ("sla", "resolution_missed")]
    client.force_login(support["lead"])

    def make(count):
        now = timezone.now()
        for _ in range(count):
            ticket = TicketFactory(team=support["team"], assignee=support["ben"], is_complaint=True, complaint_cause="billing",
                                   created_at=now - timedelta(hours=5), resolved_at=now - timedelta(hours=1),
                                   resolution_due=now, status=Ticket.Status.RESOLVED)
            ticket.tags.add(tag)

    make(2)
    with django_assert_max_num_queries(14) as few:
        response = client.get(URL, params)
    assert response.context["paginator"].count == 2
    make(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, params)
    assert response.context["paginator"].count == 32
