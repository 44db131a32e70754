"""Staff enter a fixed appointment with a customer (appointments.views.staff.appointment_enter):
it lands in the CRM, in the customer's invitation (through the outbox, to a real SMTP server)
and in the host's calendar (a real Radicale), all with the same UID; the host's free times are
checked with a clear message, an override never double-books, and roles are checked."""

from datetime import UTC

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from appointments import services
from appointments.models import Appointment
from appointments.tests import caldav_helpers as phone
from appointments.tests.conftest import at
from contacts.tests.factories import PersonFactory
from contacts.tests.test_form_fuzz import FUZZ, odd_text
from crm.models import OutgoingEmail
from crm.roles import Role

URL = reverse("appointments:appointment_enter")
GRETA = "greta.groessl@kundenfirma.de"


@pytest.fixture
def greta(db):
    return PersonFactory(first_name="Greta", last_name="Größl", email=GRETA)


def _form(kind, person, host, start, **changes):
    return {"appointment_type": kind.pk, "person": person.pk, "host": host.pk,
            "start": start.strftime("%Y-%m-%dT%H:%M"), "note": "Vertrag mitbringen", **changes}


def test_it_books_invites_the_customer_and_writes_the_hosts_calendar_with_one_uid(
    client_for, first_meeting, connected_host, radicale_server, greta, day, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(connected_host).post(URL, _form(first_meeting, greta, connected_host, at(day, 10)))

    appointment = Appointment.objects.get()
    assert response.status_code == 302 and response["Location"] == appointment.get_absolute_url()
    assert (appointment.person, appointment.host, appointment.created_by) == (greta, connected_host, connected_host)
    assert appointment.start == at(day, 10) and appointment.customer_email == GRETA
    invitation = OutgoingEmail.objects.get(to=GRETA)
    assert invitation.state == OutgoingEmail.State.SENT and invitation.regarding == appointment
    [ics] = invitation.attachments.all()
    [event] = Calendar.from_ical(ics.read()).walk("VEVENT")
    assert str(event["UID"]) == appointment.uid
    [received] = smtp_sink.received(GRETA)
    assert received["message_id"] == invitation.message_id
    pushed = phone.events(radicale_server)[appointment.uid]  # the same UID in the host's calendar
    assert pushed["start"] == at(day, 10).astimezone(UTC)


def test_outside_the_hosts_free_times_it_says_so_at_the_start_and_books_only_with_the_override(
    client_for, first_meeting, host, greta, day, django_capture_on_commit_callbacks
):
    client = client_for(host)
    early = _form(first_meeting, greta, host, at(day, 7))  # working hours start at 9
    response = client.post(URL, early)
    assert response.status_code == 200
    assert "is not free then" in " ".join(response.context["form"].errors["start"])
    assert not Appointment.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {**early, "override": "on"})
    assert response.status_code == 302
    assert Appointment.objects.get().start == at(day, 7)


def test_the_override_never_books_on_top_of_another_appointment(client_for, first_meeting, host, greta, day):
    services.appointment_book(appointment_type=first_meeting, start=at(day, 10), customer_name="Erika Müller",
                              customer_email="erika@kunde-gmbh.de")
    response = client_for(host).post(URL, _form(first_meeting, greta, host, at(day, 10), override="on"))
    assert response.status_code == 200
    assert "another appointment" in " ".join(response.context["form"].errors["start"])
    assert Appointment.objects.count() == 1


def test_bad_input_is_answered_at_the_fields(client_for, first_meeting, host, day, greta):
    no_address = PersonFactory(email="", email_secondary="")
    response = client_for(host).post(URL, {**_form(first_meeting, no_address, host, at(day, 10)), "start": "morgen früh"})
    assert response.status_code == 200
    assert {"person", "start"} <= set(response.context["form"].errors)
    past = client_for(host).post(URL, _form(first_meeting, greta, host, at(day.replace(year=day.year - 1), 10)))
    assert "start" in past.context["form"].errors
    assert not Appointment.objects.exists()


def test_a_rep_books_only_their_own_time(client_for, first_meeting, host, bob, greta, day):
    response = client_for(bob).post(URL, _form(first_meeting, greta, host, at(day, 10)))  # alice's time, not bob's
    assert response.status_code == 200 and "host" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_a_manager_books_a_team_members_time(client_for, first_meeting, host, manager, greta, day):
    response = client_for(manager).post(URL, _form(first_meeting, greta, host, at(day, 10)))
    assert response.status_code == 302
    assert Appointment.objects.get().host == host


def test_marketing_may_not_book_and_is_not_offered_the_button(client_for, role_users, greta):
    marketing = role_users[Role.MARKETING]
    assert client_for(marketing).get(URL).status_code == 403
    assert client_for(marketing).get(URL, {"person": greta.pk}).status_code == 403
    assert f"{URL}?person={greta.pk}" not in client_for(marketing).get(greta.get_absolute_url()).content.decode()
    rep = role_users[Role.SALES_REP]
    assert f"{URL}?person={greta.pk}" in client_for(rep).get(greta.get_absolute_url()).content.decode()
    page = client_for(rep).get(URL, {"person": greta.pk})
    assert page.status_code == 200 and "Größl" in page.content.decode()  # the customer is filled in


def test_the_customer_search_suggests_only_matching_people(client_for, alice, greta):
    PersonFactory(first_name="Hans", last_name="Hübner", email="hans@kundenfirma.de")
    page = client_for(alice).get(reverse("contacts:person_autocomplete"), {"field": "person", "person__text": "Größl"})
    text = page.content.decode()
    assert f'data-value="{greta.pk}"' in text and "Hübner" not in text


def test_a_busy_time_in_the_hosts_own_calendar_blocks_the_time(
    client_for, first_meeting, connected_host, radicale_server, greta, day
):
    from appointments.calendars import sync
    from appointments.calendars.models import CalendarConnection

    phone.add_event(radicale_server, uid="zahnarzt@phone", start=at(day, 10), end=at(day, 11))
    sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    response = client_for(connected_host).post(URL, _form(first_meeting, greta, connected_host, at(day, 10, 30)))
    assert response.status_code == 200
    assert "busy time in their calendar" in " ".join(response.context["form"].errors["start"])
    assert client_for(connected_host).post(URL, _form(first_meeting, greta, connected_host, at(day, 11, 30))).status_code == 302


@FUZZ
@given(values=st.lists(odd_text, min_size=6, max_size=6))
def test_odd_input_never_causes_a_500(client_for, first_meeting, host, greta, values):
    data = dict(zip(["appointment_type", "person", "host", "start", "note", "override"], values, strict=True))
    response = client_for(host).post(URL, data)
    assert response.status_code in (200, 302)
    assert client_for(host).get(URL, {"person": values[1]}).status_code in (200, 404)
