"""Two-way calendar sync against a real Radicale on 127.0.0.1 (crm/tests/radicale.py)."""

from datetime import UTC, timedelta

from django.urls import reverse

from appointments import services
from appointments.calendars import sync
from appointments.calendars.models import BusyTime, CalendarConnection, CalendarPush
from appointments.models import Appointment
from appointments.slots import compute_slots
from appointments.tests import caldav_helpers as phone
from appointments.tests.conftest import at

State = CalendarPush.State


def book(kind, start):
    return services.appointment_book(
        appointment_type=kind, start=start, customer_name="Erika Müller", customer_email="erika@kunde-gmbh.de"
    )


def test_a_booked_appointment_appears_in_the_hosts_calendar_and_moves_and_cancels_with_it(
    first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    event = phone.events(radicale_server)[appointment.uid]  # the invitation's UID
    assert event["start"] == at(day, 10).astimezone(UTC) and event["status"] == "CONFIRMED"
    assert "Erika Müller" in event["summary"]
    push = CalendarPush.objects.get(appointment=appointment)
    assert push.state == State.SYNCED and push.etag

    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=appointment, start=at(day, 14))
    event = phone.events(radicale_server)[appointment.uid]
    assert event["start"] == at(day, 14).astimezone(UTC) and event["sequence"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(appointment=appointment)
    assert appointment.uid not in phone.events(radicale_server)
    assert CalendarPush.objects.get(appointment=appointment).state == State.REMOVED


def test_an_event_created_there_removes_the_overlapping_slots_from_the_booking_page(
    client, first_meeting, connected_host, radicale_server, day
):
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    slot = f'value="{at(day, 11).astimezone(UTC).isoformat()}"'
    page = client.get(url, {"day": day.isoformat(), "tz": "Europe/Berlin"}).content.decode()
    assert slot in page

    phone.add_event(radicale_server, uid="zahnarzt@phone", start=at(day, 11), end=at(day, 12))
    sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))

    assert list(BusyTime.objects.values_list("start", "end")) == [(at(day, 11), at(day, 12))]
    page = client.get(url, {"day": day.isoformat(), "tz": "Europe/Berlin"}).content.decode()
    assert slot not in page
    assert f'value="{at(day, 12).astimezone(UTC).isoformat()}"' in page
    starts = {s.start for s in compute_slots(appointment_type=first_meeting, start=at(day, 0), end=at(day, 23))}
    # 10:30 ends at 11:00 plus a 10-minute buffer: busy too; 10:00 is free.
    assert at(day, 10) in starts and at(day, 10, 30) not in starts and at(day, 11, 30) not in starts
