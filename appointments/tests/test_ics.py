"""Every ICS we produce parses with icalendar and shows the right local time on both sides of
the changes to and from summer time in Europe/Berlin (29 March and 25 October 2026)."""

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from appointments import ics, services
from appointments.tests.conftest import BERLIN
from appointments.tests.factories import AppointmentTypeFactory

DST_DAYS = [
    (datetime(2026, 3, 27).date(), 1),  # Friday before the change to summer time: UTC+1
    (datetime(2026, 3, 30).date(), 2),  # Monday after: UTC+2
    (datetime(2026, 10, 23).date(), 2),  # Friday before the change back
    (datetime(2026, 10, 26).date(), 1),  # Monday after
]


def parse(data) -> Calendar:
    return Calendar.from_ical(data if isinstance(data, bytes) else data.encode())


def event_of(calendar: Calendar):
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    return events[0]


@pytest.fixture
def kind(host):
    return AppointmentTypeFactory(host_user=host, min_notice=0, max_days_ahead=365)


@pytest.fixture
def long_ago(monkeypatch):
    """Book the 2026 days as if it were early 2026, whatever today is."""
    from appointments import slots

    real = slots.bookable_window

    def window(appointment_type, now=None):
        return real(appointment_type, datetime(2026, 1, 5, tzinfo=BERLIN))

    monkeypatch.setattr(slots, "bookable_window", window)


@pytest.mark.parametrize(("day", "utc_offset"), DST_DAYS)
def test_invitations_keep_local_time_across_summer_time(kind, long_ago, day, utc_offset, django_capture_on_commit_callbacks):
    start = datetime.combine(day, time(10), tzinfo=BERLIN)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book(
            appointment_type=kind, start=start, customer_name="Erika Mustermann", customer_email="erika@example.de"
        )
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        calendar = parse(message.attachments[0][1])
        assert calendar["METHOD"] == "REQUEST"
        assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
        event = event_of(calendar)
        assert event["UID"] == appointment.uid and event["SEQUENCE"] == 0
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        dtstart = event.decoded("DTSTART")
        assert (dtstart.hour, dtstart.minute) == (10, 0)
        assert dtstart.utcoffset() == timedelta(hours=utc_offset)
        assert event.decoded("DTEND") - dtstart == timedelta(minutes=30)
        assert "DTSTART;TZID=Europe/Berlin:" + day.strftime("%Y%m%d") + "T100000" in calendar.to_ical().decode()


def test_moving_keeps_the_uid_and_raises_the_sequence_and_cancel_sends_cancel(kind, long_ago, django_capture_on_commit_callbacks):
    before, after = DST_DAYS[0][0], DST_DAYS[1][0]
    appointment = services.appointment_book(
        appointment_type=kind, start=datetime.combine(before, time(10), tzinfo=BERLIN), customer_name="E", customer_email="e@example.de"
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=appointment, start=datetime.combine(after, time(10), tzinfo=BERLIN))
    moved = event_of(parse(mail.outbox[0].attachments[0][1]))
    assert moved["UID"] == appointment.uid and moved["SEQUENCE"] == 1
    assert moved.decoded("DTSTART").hour == 10 and moved.decoded("DTSTART").utcoffset() == timedelta(hours=2)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(appointment=appointment)
    calendar = parse(mail.outbox[0].attachments[0][1])
    cancelled = event_of(calendar)
    assert calendar["METHOD"] == "CANCEL" and cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == appointment.uid and cancelled["SEQUENCE"] == 2


def test_customer_in_another_zone_gets_their_local_time(kind, long_ago, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_book(
            appointment_type=kind, start=datetime(2026, 3, 30, 10, tzinfo=BERLIN), customer_name="Jane",
            customer_email="jane@example.com", customer_time_zone="America/New_York", language="en",
        )
    message = next(m for m in mail.outbox if m.to == ["jane@example.com"])
    event = event_of(parse(message.attachments[0][1]))
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTSTART").hour == 4  # 10:00 CEST is 04:00 EDT
    assert "04:00" in message.body


def test_the_feed_parses_and_lists_the_hosts_appointments(client, kind, host, long_ago):
    for day, _offset in DST_DAYS:
        services.appointment_book(
            appointment_type=kind, start=datetime.combine(day, time(9, 30), tzinfo=BERLIN), customer_name="E", customer_email="e@example.de"
        )
    response = client.get(reverse("appointments:calendar_feed", args=[host.availability.feed_token]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = parse(response.content)
    events = calendar.walk("VEVENT")
    # The feed shows 90 days back and a year ahead of today.
    for event in events:
        assert event.decoded("DTSTART").hour == 9 and event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert client.get(reverse("appointments:calendar_feed", args=["wrong-token"])).status_code == 404


def test_ics_module_output_parses_for_a_feed_of_all_dst_days(kind, host):
    from appointments.tests.factories import AppointmentFactory

    appointments = [
        AppointmentFactory(appointment_type=kind, host=host, start=datetime.combine(day, time(16, 45), tzinfo=BERLIN))
        for day, _offset in DST_DAYS
    ]
    calendar = parse(ics.feed(appointments, name="Termine"))
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert [(e.decoded("DTSTART").hour, e.decoded("DTSTART").utcoffset()) for e in events] == [
        (16, timedelta(hours=offset)) for _day, offset in DST_DAYS
    ]
