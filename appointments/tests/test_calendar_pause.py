"""Pausing the calendar sync on the calendar page (as the mailbox page pauses its sync): while
paused nothing is read from or written to the calendar (Radicale), and the page says so;
resuming writes what waited and reads the calendar again."""

from django.urls import reverse

from appointments import services
from appointments.calendars import sync
from appointments.calendars.models import BusyTime, CalendarConnection, CalendarPush
from appointments.tasks import calendars_sync
from appointments.tests import caldav_helpers as phone
from appointments.tests.conftest import at

PAGE = reverse("appointments:calendar_connection")
PAUSE = reverse("appointments:calendar_connection_pause")


def _book(kind, start):
    return services.appointment_book(
        appointment_type=kind, start=start, customer_name="Erika Müller", customer_email="erika@kunde-gmbh.de"
    )


def test_it_pauses_nothing_runs_and_resuming_catches_up(
    client_for, first_meeting, connected_host, radicale_server, day, django_capture_on_commit_callbacks
):
    client = client_for(connected_host)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(PAUSE, {"pause": "1"}).status_code == 302
    connection = CalendarConnection.objects.get(user=connected_host)
    assert connection.is_paused
    page = client.get(PAGE).content.decode()
    assert 'data-testid="calendar-paused"' in page and "Resume sync" in page

    phone.add_event(radicale_server, uid="zahnarzt@phone", start=at(day, 9), end=at(day, 10))
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(first_meeting, at(day, 14))  # queues its push, which must not run
        calendars_sync.delay()  # the beat: neither retries pushes nor reads a paused calendar
        sync.calendar_sync(connection=connection)
        assert client.post(reverse("appointments:calendar_connection_sync")).status_code == 302
    assert appointment.uid not in phone.events(radicale_server)
    assert CalendarPush.objects.get(appointment=appointment).state == CalendarPush.State.PENDING
    assert not BusyTime.objects.filter(user=connected_host).exists()
    connection.refresh_from_db()
    assert connection.last_run_at is None or connection.busy_count == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(PAUSE, {"pause": "0"}).status_code == 302
    assert not CalendarConnection.objects.get(user=connected_host).is_paused
    assert appointment.uid in phone.events(radicale_server)  # what waited is written
    assert CalendarPush.objects.get(appointment=appointment).state == CalendarPush.State.SYNCED
    assert BusyTime.objects.filter(user=connected_host).count() == 1  # and the calendar is read again
    assert 'data-testid="calendar-paused"' not in client.get(PAGE).content.decode()


def test_only_the_owner_pauses_their_calendar(client_for, connected_host, charlie, nobody):
    assert client_for(charlie).post(PAUSE, {"pause": "1"}).status_code == 404
    assert client_for(nobody).post(PAUSE, {"pause": "1"}).status_code == 403
    assert client_for(connected_host).get(PAUSE).status_code == 405
    assert not CalendarConnection.objects.get(user=connected_host).is_paused
