from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from appointments.tests.factories import AppointmentTypeFactory, AvailabilityFactory

BERLIN = ZoneInfo("Europe/Berlin")


def next_weekday(days_ahead: int = 3, weekday: int = 1) -> datetime.date:
    """A date a few days ahead that falls on `weekday` (Tuesday by default) and is no German holiday."""
    day = timezone.localdate() + timedelta(days=days_ahead)
    while day.weekday() != weekday or (day.month, day.day) in {(12, 25), (12, 26), (1, 1), (5, 1), (10, 3)}:
        day += timedelta(days=1)
    return day


def at(day, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def deliver_to_test_hosts(settings):
    """The hosts are test users with example.com addresses, a domain the outbox does not deliver
    to unless told: these tests read the invitations the hosts get."""
    settings.CRM_EMAIL_DELIVER_RESERVED = True


@pytest.fixture
def host(alice):
    AvailabilityFactory(user=alice)
    return alice


@pytest.fixture
def first_meeting(host):
    return AppointmentTypeFactory(host_user=host, name="Erstgespräch 30 Min", duration=30, buffer_after=10, slot_interval=30, min_notice=60)


@pytest.fixture
def day():
    return next_weekday()


CALDAV_USER, CALDAV_PASSWORD = "alice", "Kalender-Passwört"


@pytest.fixture
def radicale_server():
    """A private Radicale (crm/tests/radicale.py) with alice's calendar "calendar"."""
    from crm.tests import radicale

    radicale.require_radicale()
    server = radicale.start(users={CALDAV_USER: CALDAV_PASSWORD})
    server.make_calendar(CALDAV_USER)
    yield server
    server.cleanup()


@pytest.fixture
def connected_host(host, radicale_server, django_capture_on_commit_callbacks):
    """Alice (the host of first_meeting) with her Radicale calendar connected."""
    from appointments.calendars.sync import calendar_connect

    with django_capture_on_commit_callbacks(execute=True):
        calendar_connect(user=host, url=radicale_server.url, username=CALDAV_USER, password=CALDAV_PASSWORD)
    return host
