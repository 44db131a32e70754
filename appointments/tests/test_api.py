"""The appointments API over real HTTP (Django's test client): every role reads and books, the
host, the host's managers and admins move, cancel and record outcomes (the teammate and the
outsider may not); slots as the booking page computes them; a taken slot is 409, as the booking
page refuses it; moves and cancellations go through the services and their webhooks."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.slots import compute_slots
from appointments.tests.conftest import at
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from contacts.tests.factories import PersonFactory
from crm.models import IdempotencyKey, OutgoingEmail, WebhookEndpoint
from crm.tests.api_client import call, token_for

pytestmark = pytest.mark.django_db
APPOINTMENTS, SLOTS = "/api/v1/appointments/", "/api/v1/appointments/slots/"


def url(appointment, action=""):
    return reverse("api:appointment-detail", args=[appointment.pk]) + (f"{action}/" if action else "")


def booking(kind, start, **extra):
    return {"appointment_type": kind.pk, "start": start.isoformat(), "customer_name": "Erika Mustermann",
            "customer_email": "erika@example.de", **extra}


def subscribe(*types):
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/a", event_types=list(types), secret="whsec_x")


@pytest.fixture
def users(host, bob, manager, charlie, role_users):
    from crm.roles import Role

    return {"host": host, "manager": manager, "bob": bob, "charlie": charlie, "marketing": role_users[Role.MARKETING],
            "admin": role_users[Role.ADMIN]}


# --- who may do what, as on the pages ----------------------------------------------------------------


@pytest.mark.parametrize(("who", "write"), [
    ("host", 200), ("manager", 200), ("admin", 200),  # the host, the host's team manager, admins
    ("bob", 403), ("charlie", 403), ("marketing", 403),  # they see it, as on the pages, but may not change it
])
def test_each_user_reads_and_changes_appointments_as_on_the_pages(client, users, first_meeting, day, who, write):
    appointment = AppointmentFactory(appointment_type=first_meeting, start=at(day, 10), end=at(day, 10, 30),
                                     blocked_start=at(day, 10), blocked_end=at(day, 10, 40))
    token = token_for(users[who])
    assert call(client, "get", url(appointment), token=token).status_code == 200
    assert [a["id"] for a in call(client, "get", APPOINTMENTS, token=token).json()["results"]] == [appointment.pk]
    assert call(client, "get", SLOTS + f"?type={first_meeting.pk}", token=token).status_code == 200
    assert call(client, "patch", url(appointment), {"start": at(day, 14).isoformat()}, token=token).status_code == write
    assert call(client, "post", url(appointment, "cancel"), token=token).status_code == write
    assert call(client, "delete", url(appointment), token=token).status_code == 405  # cancelled, not deleted
    assert call(client, "put", url(appointment), {}, token=token).status_code == 405


def test_a_user_without_a_role_gets_nothing(client, nobody, first_meeting, day):
    appointment = AppointmentFactory(appointment_type=first_meeting)
    token = token_for(nobody)
    assert call(client, "get", url(appointment), token=token).status_code == 404
    assert call(client, "get", SLOTS + f"?type={first_meeting.pk}", token=token).status_code == 403
    assert call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)), token=token).status_code == 403


# --- slots ---------------------------------------------------------------------------------------


def test_the_slots_are_the_booking_pages_slots(client, host, first_meeting, day):
    AppointmentFactory(appointment_type=first_meeting, start=at(day, 10), end=at(day, 10, 30),
                       blocked_start=at(day, 10), blocked_end=at(day, 10, 40))
    start, end = at(day, 0), at(day + timedelta(days=1), 0)
    response = call(client, "get", SLOTS + f"?type={first_meeting.pk}&from={start.isoformat()}&to={end.isoformat()}".replace("+", "%2B"),
                    token=token_for(host))
    assert response.status_code == 200, response.content
    slots = response.json()
    expected = compute_slots(appointment_type=first_meeting, start=start, end=end)
    assert [s["start"] for s in slots] == [s.start.isoformat().replace("+00:00", "Z") for s in expected]
    starts = {s["start"] for s in slots}
    assert at(day, 9).isoformat() not in starts and len(slots) == len(expected) > 0
    assert "2026-11-24T08:00:00Z" in starts and "2026-11-24T09:00:00Z" not in starts  # 10:00 Berlin is booked
    assert all(s["hosts"] == [host.pk] for s in slots)


@pytest.mark.parametrize(("query", "fields"), [
    ("", {"type"}),
    ("?type=999999", {"type"}),
    ("?type={type}&from=gestern", {"from"}),
    ("?type={type}&from=2026-11-20&to=2026-11-19", {"to"}),
    ("?type={type}&from=2026-11-20&to=2027-01-20", {"to"}),
    ("?type={type}&host=99999999999999999999", {"host"}),
])
def test_a_bad_slot_search_is_a_field_error(client, host, first_meeting, query, fields):
    response = call(client, "get", SLOTS + query.format(type=first_meeting.pk), token=token_for(host))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == fields


# --- booking -------------------------------------------------------------------------------------


def test_it_books_a_free_slot_as_the_booking_page_does(client, users, first_meeting, day):
    endpoint = subscribe("appointment.booked")
    person = PersonFactory(email="erika@example.de")
    token = token_for(users["bob"])  # anyone may book (as anyone may offer times)
    response = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10), note="Bitte Angebot"),
                    token=token, Idempotency_Key="b-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["host"] == users["host"].pk and data["person"] == person.pk and data["created_by"] == users["bob"].pk
    assert datetime.fromisoformat(data["end"]) == at(day, 10, 30)  # the type's 30 minutes
    assert response["Location"].endswith(url(Appointment(pk=data["id"])))
    assert sorted(OutgoingEmail.objects.values_list("to", flat=True)) == sorted(["erika@example.de", users["host"].email])
    assert endpoint.deliveries.get().event.payload["data"] == data  # the API representation
    again = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10), note="Bitte Angebot"),
                 token=token, Idempotency_Key="b-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == data
    assert Appointment.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def test_a_taken_slot_is_refused_with_409(client, host, first_meeting, day):
    token = token_for(host)
    assert call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)), token=token).status_code == 201
    taken = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)), token=token)
    assert taken.status_code == 409 and taken.json()["status"] == 409
    buffered = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10, 30)), token=token)  # in the buffer
    assert buffered.status_code == 409
    assert call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 20)), token=token).status_code == 409
    assert Appointment.objects.count() == 1


def test_a_booking_is_checked_as_the_booking_form_checks_it(client, host, first_meeting, day):
    inactive = AppointmentTypeFactory(host_user=host, is_active=False)
    body = {"appointment_type": inactive.pk, "start": "morgen", "customer_name": "", "customer_email": "kein-at",
            "customer_time_zone": "Mars/Olympus", "language": "fr", "host": 12345}
    response = call(client, "post", APPOINTMENTS, body, token=token_for(host))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "appointment_type", "start", "customer_name", "customer_email", "customer_time_zone", "language"}
    wrong_host = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10), host=12345), token=token_for(host))
    assert wrong_host.status_code == 400 and set(wrong_host.json()["errors"]) == {"host"}
    assert not Appointment.objects.exists()


# --- moving, outcomes, cancelling -------------------------------------------------------------------


def test_a_move_goes_through_the_service_and_needs_a_free_slot(client, host, first_meeting, day):
    endpoint = subscribe("appointment.moved")
    token = token_for(host)
    first = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)), token=token)
    other = call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 14)), token=token).json()
    appointment = Appointment.objects.get(pk=first.json()["id"])
    etag = call(client, "get", url(appointment), token=token)["ETag"]
    taken = call(client, "patch", url(appointment), {"start": other["start"]}, token=token, If_Match=etag)
    assert taken.status_code == 409
    moved = call(client, "patch", url(appointment), {"start": at(day, 11).isoformat()}, token=token, If_Match=etag)
    assert moved.status_code == 200, moved.content
    assert moved.json()["sequence"] == 1 and moved.json()["start"] != first.json()["start"]
    assert endpoint.deliveries.get().event.payload["data"]["start"] == moved.json()["start"]
    stale = call(client, "patch", url(appointment), {"start": at(day, 12).isoformat()}, token=token, If_Match=etag)
    assert stale.status_code == 412
    appointment.refresh_from_db()
    assert appointment.start == at(day, 11)
    bad = call(client, "patch", url(appointment), {"start": "bald", "status": "vielleicht"}, token=token)
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"start", "status"}


def test_cancelling_tells_both_sides_and_is_reported(client, host, first_meeting, day):
    endpoint = subscribe("appointment.cancelled")
    token = token_for(host)
    appointment = Appointment.objects.get(pk=call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)),
                                                  token=token).json()["id"])
    OutgoingEmail.objects.all().delete()
    response = call(client, "post", url(appointment, "cancel"), token=token)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert OutgoingEmail.objects.count() == 2  # customer and host, with the withdrawn invitation
    assert endpoint.deliveries.get().event.payload["data"]["status"] == "cancelled"
    assert call(client, "post", url(appointment, "cancel"), token=token).status_code == 200  # again: nothing new
    assert OutgoingEmail.objects.count() == 2 and endpoint.deliveries.count() == 1
    moved = call(client, "patch", url(appointment), {"start": at(day, 11).isoformat()}, token=token)
    assert moved.status_code == 409  # a cancelled appointment is not moved
    # The slot is free again.
    assert call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)), token=token).status_code == 201


def test_the_outcome_follows_the_page_rule(client, host, first_meeting, day, fixed_clock):
    token = token_for(host)
    appointment = Appointment.objects.get(pk=call(client, "post", APPOINTMENTS, booking(first_meeting, at(day, 10)),
                                                  token=token).json()["id"])
    early = call(client, "patch", url(appointment), {"status": "held"}, token=token)
    assert early.status_code == 409  # not yet begun
    fixed_clock.move_to(at(day, 11))
    held = call(client, "patch", url(appointment), {"status": "held"}, token=token)
    assert held.status_code == 200 and held.json()["status"] == "held"


# --- queries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_makes_the_same_few_queries_for_few_and_many(client, host, first_meeting, django_assert_max_num_queries, count):
    for n in range(count):  # an hour apart: one host's appointments may not overlap (Postgres refuses them)
        AppointmentFactory(appointment_type=first_meeting, start=timezone.now() + timedelta(days=2, hours=n))
    token = token_for(host)
    with django_assert_max_num_queries(5):  # token, its touch, roles, appointments, the custom fields' definitions
        response = call(client, "get", APPOINTMENTS + "?limit=100", token=token)
    assert len(response.json()["results"]) == count
    with django_assert_max_num_queries(9):  # token, touch, roles, the type; the host's availability, hours, absences, bookings, calendar busy times
        response = call(client, "get", SLOTS + f"?type={first_meeting.pk}", token=token)
    assert response.status_code == 200
