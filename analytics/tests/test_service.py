"""Service figures against a small data set counted by hand, their links, permissions, scope and cost.

The period is March 2025 (1 March is a Saturday; no public holiday in Bavaria that month). All
tickets use the calendar "Deutschland" (Bavaria, Monday to Friday 08:00–17:00 Europe/Berlin), the
calendar of both service teams. Times are local. Business hours (h) count only the opening hours:

ticket team    assignee  prio    channel cat.     created          first response      resolved
t1     DACH    anna      normal  email   Rechnung Fri 07.03. 16:00 Mon 10.03. 09:00 2 h  Tue 11.03. 10:00 12 h
t2     DACH    anna      high    email   Rechnung Mon 03.03. 20:00 Tue 04.03. 11:30 3.5h Wed 05.03. 12:00 13 h
t3     DACH    ben       normal  phone   Technik  Thu 13.03. 08:30 Thu 13.03. 09:00 0.5h Mon 17.03. 08:30 18 h
t4     DACH    ben       normal  portal  Technik  Sat 15.03. 10:00 Sat 15.03. 11:00 0 h  (open)
t5     Export  otto      normal  email   -        Mon 10.03. 09:00 Mon 10.03. 10:00 1 h  Mon 10.03. 15:00  6 h
t6     DACH    anna      normal  email   -        Wed 26.02. 10:00 Wed 26.02. 12:00 (Feb) Mon 03.03. 10:00 27 h
t7     DACH    -         low     web     -        Mon 24.03. 09:00 (open, no SLA policy for low: no due times)
t8     DACH    ben       normal  email   -        2 hours ago, open
t9     Export  -         normal  email   -        2 days ago, waiting for the customer

t1: Fri 16–17 (1) + Mon 8–9 (1) = 2; + Mon 9 + Tue 8–10 (2) = 12. t2: the evening does not count:
Tue 8–11:30 = 3.5; Tue 9 + Wed 8–12 (4) = 13. t3: Thu 8:30–17 (8.5) + Fri 9 + Mon 0.5 = 18.
t4: answered on the weekend: 0. t6: Wed 10–17 (7) + Thu 9 + Fri 9 + Mon 8–10 (2) = 27.

Due times (normal: first response 4 h, resolution 16 h; high: 2 h, 8 h):
t1 response due Mon 11:00 (met), resolution due Tue 14:00 (met); t2 Tue 10:00 (missed), Tue 16:00
(missed); t3 Thu 12:30 (met), Fri 15:30 (missed); t4 Mon 17.03. 12:00 (met), Tue 18.03. 15:00
(still open: missed); t5 Mon 13:00 (met), Tue 11.03. 16:00 (met).

Complaints: t2 billing (20 € compensation), t5 delivery. Tags: t1, t2 "Mahnung"; t3 "Login".
Surveys: t2 rated 2 on Thu 06.03., t5 3 on Mon 10.03., t1 5 on Tue 11.03., t3 4 on Tue 18.03.

Lena leads DACH (anna, ben); otto works in Export.
"""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Period, Scope
from analytics.services.business_time import Spread, ticket_durations
from analytics.services.service import service_dashboard, service_scope
from analytics.tests.charts import assert_charts
from conftest import make_user
from contacts.tests.factories import TagFactory
from crm.roles import Role
from service.models import ClosedDay, SatisfactionSurvey, Ticket
from service.sla import Calendar
from service.tests.factories import CalendarFactory, CategoryFactory, TeamFactory, TicketFactory

URL = reverse("analytics:service")
MARCH = Scope(None, date(2025, 3, 1), date(2025, 3, 31), "März 2025", period=Period.THIS_MONTH)
BERLIN = ZoneInfo("Europe/Berlin")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def people(db):
    lena = make_user("lena", Role.SUPPORT_LEAD, first_name="Lena", last_name="Lehmann")
    anna = make_user("anna", Role.SUPPORT_AGENT, first_name="Anna", last_name="Berger")
    ben = make_user("ben", Role.SUPPORT_AGENT, first_name="Ben", last_name="Kraus")
    otto = make_user("otto", Role.SUPPORT_AGENT, first_name="Otto", last_name="Fremd")
    calendar = CalendarFactory(name="Deutschland", subdivision="BY")
    dach = TeamFactory(name="Support DACH", lead=lena, calendar=calendar)
    dach.agents.add(anna, ben)
    export = TeamFactory(name="Support Export", calendar=calendar)
    export.agents.add(otto)
    return {"lena": lena, "anna": anna, "ben": ben, "otto": otto, "dach": dach, "export": export, "calendar": calendar}


@pytest.fixture
def dataset(people):
    p = people
    billing, tech = CategoryFactory(name="Rechnung", team=p["dach"]), CategoryFactory(name="Technik", team=p["dach"])
    reminder, login = TagFactory(name="Mahnung"), TagFactory(name="Login")

    def ticket(team, assignee, priority, channel, category, created, responded=None, resolved=None, due=(None, None), **fields):
        status = Ticket.Status.RESOLVED if resolved else fields.pop("status", Ticket.Status.OPEN)
        return TicketFactory(
            team=team, assignee=assignee, priority=priority, channel=channel, category=category, created_at=created,
            first_responded_at=responded, resolved_at=resolved, status=status,
            first_response_due=due[0], resolution_due=due[1], **fields)

    t = {}
    t[1] = ticket(p["dach"], p["anna"], "normal", "email", billing, at(3, 7, 16), at(3, 10, 9), at(3, 11, 10),
                  (at(3, 10, 11), at(3, 11, 14)))
    t[2] = ticket(p["dach"], p["anna"], "high", "email", billing, at(3, 3, 20), at(3, 4, 11, 30), at(3, 5, 12),
                  (at(3, 4, 10), at(3, 4, 16)), is_complaint=True, complaint_cause="billing",
                  complaint_compensation=Decimal("20.00"))
    t[3] = ticket(p["dach"], p["ben"], "normal", "phone", tech, at(3, 13, 8, 30), at(3, 13, 9), at(3, 17, 8, 30),
                  (at(3, 13, 12, 30), at(3, 14, 15, 30)))
    t[4] = ticket(p["dach"], p["ben"], "normal", "portal", tech, at(3, 15, 10), at(3, 15, 11), None,
                  (at(3, 17, 12), at(3, 18, 15)))
    t[5] = ticket(p["export"], p["otto"], "normal", "email", None, at(3, 10, 9), at(3, 10, 10), at(3, 10, 15),
                  (at(3, 10, 13), at(3, 11, 16)), is_complaint=True, complaint_cause="delivery")
    t[6] = ticket(p["dach"], p["anna"], "normal", "email", None, at(2, 26, 10), at(2, 26, 12), at(3, 3, 10),
                  (at(2, 26, 14), at(2, 27, 17)))
    t[7] = ticket(p["dach"], None, "low", "web", None, at(3, 24, 9))
    now = timezone.now()
    t[8] = ticket(p["dach"], p["ben"], "normal", "email", None, now - timedelta(hours=2))
    t[9] = ticket(p["export"], None, "normal", "email", None, now - timedelta(days=2), status=Ticket.Status.WAITING)
    t[1].tags.add(reminder)
    t[2].tags.add(reminder)
    t[3].tags.add(login)
    for number, rating, answered in ((2, 2, at(3, 6, 12)), (5, 3, at(3, 10, 16)), (1, 5, at(3, 11, 12)), (3, 4, at(3, 18, 9))):
        SatisfactionSurvey.objects.create(ticket=t[number], agent=t[number].assignee, team=t[number].team, rating=rating,
                                          answered_at=answered)
    return {**p, "tickets": t, "billing": billing, "tech": tech}


def cards(dashboard):
    return {f.key: (f.value, f.total) for f in dashboard.cards}


def table(rows, *keys):
    return {row["label"]: tuple(row[k] for k in keys) for row in rows}


def test_the_hand_counted_hours_are_those_of_the_service_calendar(dataset):
    """The arithmetic of the module docstring, checked against service.sla (which sets the due times)."""
    calendar = Calendar.from_model(dataset["calendar"])
    t = dataset["tickets"]
    assert [calendar.business_hours_between(t[n].created_at, t[n].first_responded_at) for n in (1, 2, 3, 4, 5)] == [
        2, 3.5, 0.5, 0, 1]
    assert [calendar.business_hours_between(t[n].created_at, t[n].resolved_at) for n in (1, 2, 3, 5, 6)] == [
        12, 13, 18, 6, 27]


def test_admin_figures_equal_the_hand_count(dataset, admin_user):
    d = service_dashboard(user=admin_user, scope=MARCH)
    figures = cards(d)
    # Created in March: t1, t2, t3, t4, t5, t7 (t6 in February, t8 and t9 now). Open now: t4, t7, t8, t9.
    assert figures["created"] == (6, None)
    assert figures["open"] == (4, None)
    by_day = {row["day"]: row["count"] for row in d.volume_by_day if row["count"]}
    assert by_day == {date(2025, 3, 3): 1, date(2025, 3, 7): 1, date(2025, 3, 10): 1, date(2025, 3, 13): 1,
                      date(2025, 3, 15): 1, date(2025, 3, 24): 1}
    assert len(d.volume_by_day) == 31
    assert table(d.categories, "count") == {"Rechnung": (2,), "Technik": (2,), "No category": (2,)}
    assert table(d.channels, "count") == {"Email": (3,), "Phone": (1,), "Portal": (1,), "Web form": (1,)}
    # First responses in March: t4 0, t3 0.5, t5 1, t1 2, t2 3.5 h. Median: the 3rd of 5 = 1.0;
    # 90th percentile at rank 1 + 0.9 × 4 = 4.6: 2 + 0.6 × (3.5 − 2) = 2.9.
    # Resolved in March: t5 6, t1 12, t2 13, t3 18, t6 27 h. Median 13; rank 4.6: 18 + 0.6 × 9 = 23.4.
    assert table(d.times, "count", "median", "p90") == {
        "First response": (5, Decimal("1.0"), Decimal("2.9")),
        "Resolution": (5, Decimal("13.0"), Decimal("23.4")),
    }
    assert figures["first_response"] == (Decimal("1.0"), None)
    assert figures["resolution"] == (Decimal("13.0"), None)
    # SLA of the tickets created in March. Normal: t1, t3, t4, t5 answered in time (4 of 4);
    # resolved in time t1, t5 (t3 late, t4 still open after its due time): 2 of 4. High: t2 late twice.
    # Low: t7 has no due times.
    assert table(d.sla, "response_met", "response_due", "resolution_met", "resolution_due") == {
        "Urgent": (0, 0, 0, 0), "High": (0, 1, 0, 1), "Normal": (4, 4, 2, 4), "Low": (0, 0, 0, 0),
    }
    assert (d.sla_total["response_share"], d.sla_total["resolution_share"]) == (80.0, 40.0)
    assert figures["sla"] == (6, 10)
    # Open now: t8 (2 hours), t9 (2 days), t4 and t7 (since March 2025).
    assert table(d.backlog, "count") == {
        "under 1 day": (1,), "1–3 days": (1,), "3–7 days": (0,), "7–30 days": (0,), "over 30 days": (2,)}
    # Resolved in March per assignee: anna t1, t2, t6; ben t3; otto t5. First response medians over the
    # tickets each answered in March: anna (2 + 3.5) / 2 = 2.75 → 2.8; ben (0 + 0.5) / 2 = 0.25 → 0.3.
    # Resolution medians: anna 12, 13, 27 → 13. Ratings of the resolved tickets: anna (5 + 2) / 2.
    assert table(d.agents, "handled", "first_response", "resolution", "csat", "ratings") == {
        "Anna Berger": (3, Decimal("2.8"), Decimal("13.0"), Decimal("3.50"), 2),
        "Ben Kraus": (1, Decimal("0.3"), Decimal("18.0"), Decimal("4.00"), 1),
        "Otto Fremd": (1, Decimal("1.0"), Decimal("6.0"), Decimal("3.00"), 1),
    }
    assert [row["label"] for row in d.agents] == ["Anna Berger", "Ben Kraus", "Otto Fremd"]
    # Surveys answered in March by week: 3 March t2 (2); 10 March t5, t1 (3 + 5) / 2; 17 March t3 (4).
    assert [(row["start"], row["average"], row["count"]) for row in d.satisfaction] == [
        (date(2025, 3, 3), Decimal("2.00"), 1), (date(2025, 3, 10), Decimal("4.00"), 2), (date(2025, 3, 17), Decimal("4.00"), 1)]
    assert figures["csat"] == (Decimal("3.50"), None)  # (2 + 3 + 5 + 4) / 4
    assert d.ratings == 4
    assert table(d.tags, "count") == {"Mahnung": (2,), "Login": (1,)}
    assert table(d.complaints, "count", "compensation") == {
        "Billing error": (1, Decimal("20.00")), "Delivery": (1, Decimal("0.00"))}


def test_a_ticket_resolved_without_reply_before_the_response_was_due_has_no_response_target(people, admin_user):
    due = (at(3, 25, 13), at(3, 26, 9))
    # Resolved at 10:00 without a reply, response due at 13:00: only the resolution target counts (met).
    TicketFactory(team=people["dach"], created_at=at(3, 25, 9), resolved_at=at(3, 25, 10), status=Ticket.Status.RESOLVED,
                  first_response_due=due[0], resolution_due=due[1])
    # Resolved at 14:00 without a reply: the response was missed, the resolution met.
    TicketFactory(team=people["dach"], created_at=at(3, 25, 9), resolved_at=at(3, 25, 14), status=Ticket.Status.RESOLVED,
                  first_response_due=due[0], resolution_due=due[1])
    normal = table(service_dashboard(user=admin_user, scope=MARCH).sla, "response_met", "response_due",
                   "resolution_met", "resolution_due")["Normal"]
    assert normal == (0, 1, 2, 2)


def test_an_agent_counts_only_the_tickets_of_their_teams(dataset):
    d = service_dashboard(user=dataset["anna"], scope=MARCH)
    # Without Export's t5 (and t9): created t1, t2, t3, t4, t7; open t4, t7, t8.
    assert cards(d)["created"] == (5, None)
    assert cards(d)["open"] == (3, None)
    assert [row["label"] for row in d.agents] == ["Anna Berger", "Ben Kraus"]
    # Resolved: t1 12, t2 13, t3 18, t6 27: median (13 + 18) / 2; rank 1 + 0.9 × 3 = 3.7: 18 + 0.7 × 9.
    assert table(d.times, "count", "median", "p90")["Resolution"] == (4, Decimal("15.5"), Decimal("24.3"))
    assert "Delivery" not in table(d.complaints, "count")
    assert d.ratings == 3


def test_assignee_and_service_team_narrow_the_figures(dataset, admin_user):
    form, scope = service_scope({"owner": dataset["ben"].pk, "period": Period.LAST_MONTH})
    assert scope.owner_ids == frozenset({dataset["ben"].pk}) and scope.team_id is None
    ben = Scope(frozenset({dataset["ben"].pk}), MARCH.start, MARCH.end, "Ben", period=Period.THIS_MONTH)
    d = service_dashboard(user=admin_user, scope=ben)
    assert cards(d)["created"] == (2, None)  # t3, t4
    assert [row["label"] for row in d.agents] == ["Ben Kraus"]
    form, scope = service_scope({"team": dataset["export"].pk})
    assert scope.team_id == dataset["export"].pk and scope.owner_ids is None
    export = Scope(None, MARCH.start, MARCH.end, "Export", team_id=dataset["export"].pk, period=Period.THIS_MONTH)
    d = service_dashboard(user=admin_user, scope=export)
    assert cards(d)["created"] == (1, None)  # t5
    assert table(d.times, "count", "median")["Resolution"] == (1, Decimal("6.0"))
    assert table(d.backlog, "count")["1–3 days"] == (1,)  # t9


def test_durations_count_business_hours_across_the_switch_to_summer_time(people, admin_user):
    """Fri 28.03.2025 16:00 CET to Mon 31.03. 10:00 CEST: 1 h on Friday + 2 h on Monday, although
    the clock jumped on Sunday."""
    TicketFactory(team=people["dach"], assignee=people["anna"], created_at=at(3, 28, 16), resolved_at=at(3, 31, 10),
                  status=Ticket.Status.RESOLVED)
    found = ticket_durations(Ticket.objects.all(), by=F("assignee_id"), start_at=at(3, 1, 0), end_at=at(4, 1, 0))
    assert found[None]["resolution"].median == Decimal("3.0")


def test_durations_skip_public_holidays_and_closed_days(people):
    """Thu 17.04.2025 16:00 to Wed 23.04. 10:00 in Bavaria: Good Friday and Easter Monday are
    holidays, Tuesday a closed day of the calendar: 1 h on Thursday + 2 h on Wednesday."""
    ClosedDay.objects.create(calendar=people["calendar"], date=date(2025, 4, 22), name="Inventur")
    ticket = TicketFactory(team=people["dach"], assignee=people["ben"], created_at=at(4, 17, 16), resolved_at=at(4, 23, 10),
                           status=Ticket.Status.RESOLVED)
    found = ticket_durations(Ticket.objects.all(), by=F("assignee_id"), start_at=at(4, 1, 0), end_at=at(5, 1, 0))
    assert found[people["ben"].pk]["resolution"] == Spread(1, Decimal("3.0"), Decimal("3.0"))
    calendar = Calendar.from_model(people["calendar"])
    assert calendar.business_hours_between(ticket.created_at, ticket.resolved_at) == 3


def listed(client, url) -> int:
    """The number of tickets the ticket list shows at `url`."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert not response.context["filterset"].form.errors, (url, response.context["filterset"].form.errors)
    return response.context["paginator"].count


def linked_figures(d) -> list[tuple[str, int, str]]:
    """(what, figure, url) of every number of the dashboard that links to its tickets."""
    found = [(f"card {f.key}", f.value, f.url) for f in d.cards if f.url]
    found += [(f"day {row['label']}", row["count"], row["url"]) for row in d.volume_by_day if row["count"]]
    found += [(f"times {row['label']}", row["count"], row["url"]) for row in d.times if row["count"]]
    for section, rows in (("category", d.categories), ("channel", d.channels), ("tag", d.tags), ("backlog", d.backlog),
                          ("complaints", d.complaints)):
        found += [(f"{section} {row['label']}", row["count"], row["url"]) for row in rows if row["url"]]
    found += [(f"agent {row['label']}", row["handled"], row["url"]) for row in d.agents]
    for row in [*d.sla, d.sla_total]:
        for key in ("response_met", "response_due", "resolution_met", "resolution_due"):
            found.append((f"sla {row['label']} {key}", row[key], row[f"{key}_url"]))
    return found


@pytest.mark.parametrize("who, scope_of", [
    ("lena", lambda ds: MARCH),
    ("admin", lambda ds: MARCH),
    ("anna", lambda ds: MARCH),
    ("admin", lambda ds: Scope(frozenset({ds["ben"].pk}), MARCH.start, MARCH.end, "Ben", period=Period.THIS_MONTH)),
    ("admin", lambda ds: Scope(None, MARCH.start, MARCH.end, "Export", team_id=ds["export"].pk, period=Period.THIS_MONTH)),
])
def test_every_linked_figure_opens_a_ticket_list_with_the_same_count(dataset, admin_user, client, who, scope_of):
    user = admin_user if who == "admin" else dataset[who]
    client.force_login(user)
    d = service_dashboard(user=user, scope=scope_of(dataset))
    figures = linked_figures(d)
    assert len(figures) >= 20
    for what, figure, url in figures:
        assert listed(client, url) == figure, what


def test_the_links_show_exactly_the_tickets_counted(dataset, client):
    """The lead's March: which tickets some links show, by hand."""
    lena, t = dataset["lena"], dataset["tickets"]
    client.force_login(lena)
    d = service_dashboard(user=lena, scope=MARCH)

    def shown(url):
        return {row.pk for row in client.get(url).context["object_list"]}

    # Created in March, of DACH (the lead's team): t1, t2, t3, t4, t7.
    assert shown(d.cards[0].url) == {t[n].pk for n in (1, 2, 3, 4, 7)}
    # Open now: t8 under a day, t4 and t7 over 30 days.
    backlog = {row["key"]: row["url"] for row in d.backlog}
    assert shown(backlog["lt1"]) == {t[8].pk}
    assert shown(backlog["gt30"]) == {t[4].pk, t[7].pk}
    assert shown(backlog["1to3"]) == set()  # t9 is Export's
    assert shown(table(d.tags, "url")["Mahnung"][0]) == {t[1].pk, t[2].pk}
    assert shown(table(d.complaints, "url")["Billing error"][0]) == {t[2].pk}
    # Anna resolved t1, t2 and t6 in March (t6 was created in February).
    assert shown(table(d.agents, "url")["Anna Berger"][0]) == {t[1].pk, t[2].pk, t[6].pk}
    normal = table(d.sla, "resolution_met_url", "resolution_due_url")["Normal"]
    assert shown(normal[0]) == {t[1].pk}  # (t5 is Export's)
    assert shown(normal[1]) == {t[1].pk, t[3].pk, t[4].pk}  # t3 resolved late, t4 still open after its due time
    assert shown(table(d.sla, "response_due_url")["High"][0]) == {t[2].pk}


def test_page_shows_every_figure_and_runs_constant_queries(dataset, client, django_assert_max_num_queries):
    lena, ben = dataset["lena"], dataset["ben"]
    client.force_login(lena)
    now = timezone.now()
    # One ticket answered and resolved this month, so that the first count includes the durations.
    # (a tagged complaint with a survey, so that every chart has something to draw).
    recent = TicketFactory(team=dataset["dach"], assignee=ben, created_at=now - timedelta(hours=3), status=Ticket.Status.RESOLVED,
                           first_responded_at=now - timedelta(hours=2), resolved_at=now - timedelta(hours=1),
                           is_complaint=True, complaint_cause="product")
    recent.tags.add(TagFactory(name="Mahnung"))
    SatisfactionSurvey.objects.create(ticket=recent, agent=ben, rating=4, answered_at=now)
    with django_assert_max_num_queries(34) as few:
        response = client.get(URL, {"period": Period.LAST_12_MONTHS})
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("created", "open", "first_response", "resolution", "sla", "csat"):
        assert f'data-figure="{key}"' in html
    charts = ("volume-chart", "sla-chart", "categories-chart", "channels-chart", "backlog-chart",
                  "satisfaction-chart", "agents-chart", "tags-chart", "complaints-chart")
    assert_charts(html, charts)
    austria = CalendarFactory(name="Österreich", subdivision="", time_zone="Europe/Vienna")
    ClosedDay.objects.create(calendar=austria, date=now.date())
    ClosedDay.objects.create(calendar=dataset["calendar"], date=now.date() - timedelta(days=1))
    TeamFactory(name="Support AT", calendar=austria).agents.add(ben)
    for i in range(30):
        agent = make_user(f"agent{i}", Role.SUPPORT_AGENT) if i % 3 == 0 else ben
        dataset["dach"].agents.add(agent)
        ticket = TicketFactory(team=dataset["dach"], assignee=agent, created_at=now - timedelta(hours=i + 3),
                               first_responded_at=now - timedelta(hours=i + 2), resolved_at=now - timedelta(hours=1),
                               status=Ticket.Status.RESOLVED, channel="phone", category=dataset["billing"])
        SatisfactionSurvey.objects.create(ticket=ticket, agent=agent, rating=1 + i % 5, answered_at=now)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"period": Period.LAST_12_MONTHS})
    assert response.status_code == 200
    assert len(response.context["dashboard"].agents) == 1 + 10  # ben and ten new agents


def test_csv_export_has_every_figure(dataset, admin_user, client, monkeypatch):
    monkeypatch.setattr("analytics.scope.timezone.localdate", lambda: date(2025, 3, 20))  # "this month" is March 2025
    client.force_login(admin_user)
    response = client.get(URL, {"format": "csv", "team": dataset["dach"].pk, "period": Period.THIS_MONTH})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Figure", "Item", "Measure", "Value", "Scope"]
    sections = {row[0] for row in rows[1:]}
    assert {"Tickets created", "Response and resolution times (business hours)", "SLA compliance by priority",
            "Backlog by age", "Agent performance", "Satisfaction trend", "Complaints by cause"} <= sections
    by_key = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    # DACH in March: resolved t1 12, t2 13, t3 18, t6 27 → median 15.5.
    assert by_key[("Response and resolution times (business hours)", "Resolution", "Median")] == "15.5"
    assert by_key[("Backlog by age", "over 30 days", "Tickets")] == "2"  # t4, t7


def test_roles_outside_service_are_refused(role_users, nobody, client):
    for user in (nobody, role_users[Role.MARKETING], role_users[Role.SALES_REP], role_users[Role.SALES_MANAGER]):
        client.force_login(user)
        assert client.get(URL).status_code == 403
    client.force_login(role_users[Role.SUPPORT_AGENT])
    assert client.get(URL).status_code == 200


def test_bad_filter_values_fall_back_to_everything(dataset, client):
    client.force_login(dataset["anna"])
    response = client.get(URL, {"owner": "x'; drop", "team": "999999", "period": "eon"})
    assert response.status_code == 200
    assert response.context["scope"].team_id is None
