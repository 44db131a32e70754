"""Appointment figures against a small data set counted by hand, their links, permissions, scope and cost.

The period is March 2025 (weeks from Monday: 02-24, 03-03, 03-10, 03-17, 03-24, 03-31); every time is
10:00 Europe/Berlin before the switch to summer time, so lead times are whole days. Types: E = Erstgespräch,
B = Beratung. Alice and bob are in the team of `manager` (Mona); charlie is in no team with them.

appt  host     type  booked (created)  start   status      lead time
a1    alice    E     03-03             03-10   held         7 days
a2    alice    E     03-11             03-12   no-show      1
a3    alice    B     02-20             03-20   held        28   (booked before the period)
a4    bob      E     03-12             03-14   cancelled    (cancelled: no lead time)
a5    bob      B     03-25             04-02   booked       (scheduled after the period)
a6    bob      B     03-21             03-25   held         4
a7    charlie  E     03-01             03-18   no-show     17
"""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Period, Scope
from analytics.services.appointments import appointments_dashboard
from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from crm.models import Team
from crm.roles import Role

URL = reverse("analytics:appointments")
MARCH = Scope(None, date(2025, 3, 1), date(2025, 3, 31), "März 2025", period=Period.THIS_MONTH)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(2025, month, day, hour))


@pytest.fixture
def dataset(alice, bob, charlie, manager):
    first = AppointmentTypeFactory(name="Erstgespräch", host_user=alice)
    advice = AppointmentTypeFactory(name="Beratung", host_user=bob)
    status = Appointment.Status
    for host, kind, created, start, state in (
        (alice, first, at(3, 3), at(3, 10), status.HELD),
        (alice, first, at(3, 11), at(3, 12), status.NO_SHOW),
        (alice, advice, at(2, 20), at(3, 20), status.HELD),
        (bob, first, at(3, 12), at(3, 14), status.CANCELLED),
        (bob, advice, at(3, 25), at(4, 2), status.BOOKED),
        (bob, advice, at(3, 21), at(3, 25), status.HELD),
        (charlie, first, at(3, 1), at(3, 18), status.NO_SHOW),
    ):
        AppointmentFactory(host=host, appointment_type=kind, created_at=created, start=start, status=state)
    return {"alice": alice, "bob": bob, "charlie": charlie, "first": first, "advice": advice}


def cards(dashboard):
    return {f.key: (f.value, f.total) for f in dashboard.cards}


def table(rows, *keys):
    return {row["label"]: tuple(row[k] for k in keys) for row in rows}


KEYS = ("booked", "scheduled", "held", "no_show", "cancelled", "open", "no_show_rate", "lead_median", "lead_average")


def test_admin_figures_equal_the_hand_count(dataset, admin_user):
    d = appointments_dashboard(user=admin_user, scope=MARCH)
    # Booked in March: a1 a2 a4 a5 a6 a7 (a3 in February); scheduled in March: a1 a2 a3 a4 a6 a7 (a5 in April).
    # Held a1 a3 a6; no-show a2 a7; cancelled a4. No-show rate 2 / (3 + 2).
    # Lead times of the standing ones: 1, 4, 7, 17, 28 -> median 7, average 57 / 5 = 11.4.
    assert cards(d) == {
        "booked": (6, None), "scheduled": (6, None), "held": (3, 6), "no_show": (2, 6), "cancelled": (1, 6),
        "no_show_rate": (2, 5), "lead_median": (Decimal("7.0"), None), "lead_average": (Decimal("11.4"), None),
    }
    assert next(f for f in d.cards if f.key == "no_show_rate").share == 40.0
    # E: a1 a2 a4 a7 (booked all four in March); leads 1, 7, 17 -> median 7, average 25 / 3; rate 2 / 3.
    # B: a3 a6 scheduled, a5 a6 booked; leads 4, 28 -> median and average 16; rate 0 / 2.
    assert table(d.types, *KEYS) == {
        "Erstgespräch": (4, 4, 1, 2, 1, 0, 66.7, Decimal("7.0"), Decimal("8.3")),
        "Beratung": (2, 2, 2, 0, 0, 0, 0.0, Decimal("16.0"), Decimal("16.0")),
    }
    # alice: a1 a2 a3 (booked a1 a2), leads 7, 1, 28; bob: a4 a6 (booked a4 a5 a6), lead 4; charlie: a7.
    assert table(d.hosts, *KEYS) == {
        "Alice Albrecht": (2, 3, 2, 1, 0, 0, 33.3, Decimal("7.0"), Decimal("12.0")),
        "Bob Brandt": (3, 2, 1, 0, 1, 0, 0.0, Decimal("4.0"), Decimal("4.0")),
        "Charlie Claus": (1, 1, 0, 1, 0, 0, 100.0, Decimal("17.0"), Decimal("17.0")),
    }
    assert [row["label"] for row in d.hosts] == ["Alice Albrecht", "Bob Brandt", "Charlie Claus"]
    # Per week (from Monday): scheduled a1 a2 a4 (03-10), a7 a3 (03-17), a6 (03-24);
    # booked a7 (03-01, week of 02-24), a1 (03-03), a2 a4 (03-10), a6 (03-21), a5 (03-25).
    assert [(row["start"], row["scheduled"], row["booked"]) for row in d.weeks] == [
        (date(2025, 2, 24), 0, 1), (date(2025, 3, 3), 0, 1), (date(2025, 3, 10), 3, 2),
        (date(2025, 3, 17), 2, 1), (date(2025, 3, 24), 1, 1), (date(2025, 3, 31), 0, 0),
    ]


def test_a_host_counts_their_own_and_a_manager_their_teams(dataset, manager):
    d = appointments_dashboard(user=dataset["alice"], scope=MARCH)
    assert (cards(d)["scheduled"], cards(d)["booked"]) == ((3, None), (2, None))  # a1 a2 a3; a1 a2
    assert [row["label"] for row in d.hosts] == ["Alice Albrecht"]
    d = appointments_dashboard(user=manager, scope=MARCH)
    # Without charlie's a7: scheduled 5, booked 5; no-shows a2 of held a1 a3 a6.
    assert (cards(d)["scheduled"], cards(d)["booked"], cards(d)["no_show_rate"]) == ((5, None), (5, None), (1, 4))
    assert cards(d)["lead_median"] == (Decimal("5.5"), None)  # 1, 4, 7, 28


def test_owner_and_team_narrow_the_figures(dataset, admin_user, manager):
    bob_only = Scope(frozenset({dataset["bob"].pk}), MARCH.start, MARCH.end, "Bob", period=Period.THIS_MONTH)
    d = appointments_dashboard(user=admin_user, scope=bob_only)
    assert (cards(d)["scheduled"], cards(d)["cancelled"]) == ((2, None), (1, 2))
    team = Team.objects.get(name="Team Alice")
    team_scope = Scope(frozenset({dataset["alice"].pk, dataset["bob"].pk, manager.pk}), MARCH.start, MARCH.end,
                       team.name, team_id=team.pk, period=Period.THIS_MONTH)
    d = appointments_dashboard(user=admin_user, scope=team_scope)
    assert cards(d)["scheduled"] == (5, None)


def test_a_future_no_show_does_not_count_in_the_rate(alice, admin_user):
    kind = AppointmentTypeFactory(host_user=alice)
    AppointmentFactory(host=alice, appointment_type=kind, start=timezone.now() + timedelta(hours=2), status="no_show")
    AppointmentFactory(host=alice, appointment_type=kind, start=timezone.now() - timedelta(hours=2), status="held")
    today = timezone.localdate()
    scope = Scope(None, today - timedelta(days=1), today + timedelta(days=1), "", period=Period.THIS_MONTH)
    d = appointments_dashboard(user=admin_user, scope=scope)
    assert cards(d)["no_show_rate"] == (0, 1) and cards(d)["no_show"] == (1, 2)


def test_links_open_the_appointments_behind_the_numbers(dataset, admin_user, client):
    client.force_login(admin_user)
    d = appointments_dashboard(user=admin_user, scope=MARCH)
    figures = {f.key: f for f in d.cards}
    for key in ("booked", "scheduled", "held", "no_show", "cancelled"):
        response = client.get(figures[key].url)
        assert response.status_code == 200
        assert response.context["paginator"].count == figures[key].value, key
    for row in [*d.types, *d.hosts]:
        for key in ("booked", "scheduled", "held", "no_show", "cancelled"):
            url = row["booked_url"] if key == "booked" else row["url"] if key == "scheduled" else row[f"{key}_url"]
            assert client.get(url).context["paginator"].count == row[key], (row["label"], key)


def test_a_reps_links_show_their_own_appointments(dataset, client):
    alice = dataset["alice"]
    client.force_login(alice)
    d = appointments_dashboard(user=alice, scope=MARCH)
    response = client.get(d.totals["url"])
    assert response.context["paginator"].count == 3  # the list shows everybody's; the link asks for alice's


def test_page_shows_every_figure_and_runs_constant_queries(dataset, manager, client, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(25) as few:
        response = client.get(URL, {"period": Period.THIS_MONTH})
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("booked", "scheduled", "held", "no_show", "cancelled", "no_show_rate", "lead_median", "lead_average"):
        assert f'data-figure="{key}"' in html
    for chart in ("weeks-chart", "types-chart", "hosts-chart"):
        assert f'data-chart="{chart}"' not in html  # the data set is of March: no empty grids
    now = timezone.now()
    kinds = [AppointmentTypeFactory(name=f"Typ {i}", host_user=dataset["alice"]) for i in range(3)]
    for i in range(25):
        host = [dataset["alice"], dataset["bob"], manager][i % 3]
        AppointmentFactory(host=host, appointment_type=kinds[i % 3], created_at=now - timedelta(days=i % 5),
                           start=now + timedelta(hours=3 * i - 30), status=["held", "no_show", "booked", "cancelled"][i % 4])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"period": Period.THIS_MONTH})
    assert response.context["dashboard"].totals["booked"] >= 25 - 5  # a few may fall into last month
    for chart in ("weeks-chart", "types-chart", "hosts-chart"):
        assert f'data-chart="{chart}"' in response.content.decode()


def test_csv_export_has_every_figure(dataset, admin_user, client):
    kind = AppointmentTypeFactory(name="Heute", host_user=dataset["bob"])
    now = timezone.now()
    AppointmentFactory(host=dataset["bob"], appointment_type=kind, created_at=now - timedelta(minutes=10),
                       start=now - timedelta(minutes=5), status="held")
    client.force_login(admin_user)
    response = client.get(URL, {"format": "csv", "period": Period.LAST_12_MONTHS, "owner": dataset["bob"].pk})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Figure", "Item", "Measure", "Value", "Scope"]
    by_key = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    assert by_key[("By appointment type", "Heute", "Held")] == "1"
    assert by_key[("By host", "Bob Brandt", "No-show rate in %")] == "0.0"
    assert ("By host", "Alice Albrecht", "Held") not in by_key
    assert {"Appointments per week", "No-show rate", "Median lead time in days"} <= {row[0] for row in rows[1:]}


def test_roles_outside_sales_and_service_are_refused(role_users, nobody, client):
    for user in (nobody, role_users[Role.MARKETING]):
        client.force_login(user)
        assert client.get(URL).status_code == 403
    for role in (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT):
        client.force_login(role_users[role])
        assert client.get(URL).status_code == 200, role


def test_bad_filter_values_fall_back_without_an_error(dataset, manager, client):
    client.force_login(manager)
    response = client.get(URL, {"owner": "x'; drop", "team": "999999", "period": "eon"})
    assert response.status_code == 200
    list_response = client.get(reverse("appointments:appointment_list"), {"start_from": "gestern", "team": "x", "booked_to": "2025-02-31"})
    assert list_response.status_code == 200
