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


def test_an_appointment_moved_there_moves_in_the_crm_with_history_and_an_updated_invitation(
    first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    mailoutbox.clear()
    phone.move_event(radicale_server, appointment.uid, at(day, 15), at(day, 15, 30))
    with django_capture_on_commit_callbacks(execute=True):
        sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    appointment.refresh_from_db()
    assert appointment.start == at(day, 15) and appointment.sequence == 1
    assert appointment.history.first().history_change_reason == sync.MOVED_THERE
    to_customer = [m for m in mailoutbox if m.to == ["erika@kunde-gmbh.de"]]
    assert len(to_customer) == 1 and to_customer[0].subject.startswith("Verschoben")
    invitation = to_customer[0].attachments[0][1]
    invitation = invitation.decode() if isinstance(invitation, bytes) else invitation
    assert appointment.uid in invitation and "SEQUENCE:1" in invitation
    push = CalendarPush.objects.get(appointment=appointment)
    assert push.state == State.SYNCED
    assert phone.events(radicale_server)[appointment.uid]["sequence"] == 1
    # Read again: nothing changed there since, nothing moves.
    with django_capture_on_commit_callbacks(execute=True):
        sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    assert Appointment.objects.get().sequence == 1


def test_one_deleted_there_is_flagged_and_cancelled_only_when_the_host_confirms(
    client_for, first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    phone.delete_event(radicale_server, appointment.uid)
    sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert CalendarPush.objects.get(appointment=appointment).state == State.DELETED_THERE
    page = client_for(connected_host).get(appointment.get_absolute_url()).content.decode()
    assert 'data-calendar-state="deleted_there"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(connected_host).post(
            reverse("appointments:calendar_entry_resolve", args=[appointment.pk]), {"action": "confirm_deleted"}
        )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert CalendarPush.objects.get(appointment=appointment).state == State.REMOVED


def test_a_conflicting_edit_on_both_sides_loses_neither_change(
    client_for, first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    # Moved to 15:00 on the phone, and to 14:00 in the CRM before the calendar was read again.
    phone.move_event(radicale_server, appointment.uid, at(day, 15), at(day, 15, 30))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=appointment, start=at(day, 14))
    push = CalendarPush.objects.get(appointment=appointment)
    assert push.state == State.CONFLICT and push.remote_start == at(day, 15)
    assert phone.events(radicale_server)[appointment.uid]["start"] == at(day, 15).astimezone(UTC)  # not overwritten
    assert Appointment.objects.get().start == at(day, 14)  # not overwritten either
    # A read does not settle it behind the host's back.
    sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    assert CalendarPush.objects.get(appointment=appointment).state == State.CONFLICT
    page = client_for(connected_host).get(appointment.get_absolute_url()).content.decode()
    assert 'data-calendar-state="conflict"' in page and "15:00" in page and "14:00" in page

    with django_capture_on_commit_callbacks(execute=True):
        client_for(connected_host).post(
            reverse("appointments:calendar_entry_resolve", args=[appointment.pk]), {"action": "take_calendar"}
        )
    assert Appointment.objects.get().start == at(day, 15)
    assert CalendarPush.objects.get(appointment=appointment).state == State.SYNCED
    assert phone.events(radicale_server)[appointment.uid]["start"] == at(day, 15).astimezone(UTC)


def test_the_host_may_keep_the_crms_time_over_the_calendars(
    client_for, first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    phone.move_event(radicale_server, appointment.uid, at(day, 15), at(day, 15, 30))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=appointment, start=at(day, 14))
    assert CalendarPush.objects.get(appointment=appointment).state == State.CONFLICT
    with django_capture_on_commit_callbacks(execute=True):
        client_for(connected_host).post(
            reverse("appointments:calendar_entry_resolve", args=[appointment.pk]), {"action": "keep_crm"}
        )
    assert phone.events(radicale_server)[appointment.uid]["start"] == at(day, 14).astimezone(UTC)
    assert CalendarPush.objects.get(appointment=appointment).state == State.SYNCED


def test_with_the_calendar_server_down_the_appointment_is_booked_and_pushed_later(
    client_for, first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks, fixed_clock
):
    radicale_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    assert Appointment.objects.get() == appointment
    push = CalendarPush.objects.get(appointment=appointment)
    assert push.state == State.FAILED and push.attempts == 1 and push.last_error
    page = client_for(connected_host).get(appointment.get_absolute_url()).content.decode()
    assert 'data-calendar-state="failed"' in page

    radicale_server.restart()
    fixed_clock.shift(timedelta(minutes=5))
    from appointments.tasks import calendars_sync

    calendars_sync.delay()
    assert CalendarPush.objects.get(appointment=appointment).state == State.SYNCED
    assert appointment.uid in phone.events(radicale_server)
