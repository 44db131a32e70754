from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group

from appointments.models import AppointmentType, AvailabilityException
from appointments.slots import compute_slots, day_range
from appointments.tests.conftest import BERLIN, at
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory, AvailabilityFactory
from crm.models import Team
from crm.roles import Role
from crm.tests.factories import UserFactory


def starts(slots):
    return [s.start.astimezone(BERLIN).strftime("%H:%M") for s in slots]


def test_it_offers_the_working_hours_in_steps(first_meeting, day):
    start, end = day_range(day, BERLIN)
    slots = compute_slots(appointment_type=first_meeting, start=start, end=end)
    assert starts(slots)[0] == "09:00" and starts(slots)[-1] == "16:30"
    assert len(slots) == 16


def test_existing_appointment_and_buffers_block_time(first_meeting, host, day):
    AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, 11))  # blocks 11:00-11:40
    start, end = day_range(day, BERLIN)
    found = starts(compute_slots(appointment_type=first_meeting, start=start, end=end))
    assert "11:00" not in found and "11:30" not in found
    # 10:30-11:00 plus 10 minutes buffer after would run into 11:00.
    assert "10:30" not in found
    assert "12:00" in found and "10:00" in found


def test_cancelled_appointments_free_their_time(first_meeting, host, day):
    AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, 11), status="cancelled")
    start, end = day_range(day, BERLIN)
    assert "11:00" in starts(compute_slots(appointment_type=first_meeting, start=start, end=end))


def test_absence_removes_and_extra_hours_add_time(first_meeting, host, day):
    AvailabilityException.objects.create(user=host, kind="absence", start=at(day, 9), end=at(day, 12))
    AvailabilityException.objects.create(user=host, kind="extra", start=at(day, 18), end=at(day, 19))
    start, end = day_range(day, BERLIN)
    found = starts(compute_slots(appointment_type=first_meeting, start=start, end=end))
    assert found[0] == "12:00"
    assert "18:00" in found and "18:30" in found


def test_min_notice_and_max_days_ahead(first_meeting, day):
    now = at(day, 10, 5)
    start, end = day_range(day, BERLIN)
    found = starts(compute_slots(appointment_type=first_meeting, start=start, end=end, now=now))
    assert found[0] == "11:30"  # 60 minutes notice from 10:05, on the 30-minute grid
    first_meeting.max_days_ahead = 1
    far = day + timedelta(days=7)
    assert compute_slots(appointment_type=first_meeting, start=day_range(far, BERLIN)[0], end=day_range(far, BERLIN)[1], now=now) == []


@pytest.mark.parametrize(
    ("subdivision", "holiday", "free"),
    [("", datetime(2027, 10, 4).date(), True), ("", datetime(2026, 12, 25).date(), False), ("BB", datetime(2027, 10, 29).date(), True)],
)
def test_public_holidays_are_days_off(host, subdivision, holiday, free):
    availability = host.availability
    availability.holiday_subdivision = subdivision
    availability.save()
    availability.hours.all().delete()
    for weekday in range(7):
        availability.hours.create(weekday=weekday, start=time(9), end=time(17))
    kind = AppointmentTypeFactory(host_user=host, min_notice=0, max_days_ahead=365)
    start, end = day_range(holiday, BERLIN)
    slots = compute_slots(appointment_type=kind, start=start, end=end, now=start - timedelta(days=300))
    assert bool(slots) == free


def test_reformation_day_is_off_in_brandenburg_only(host):
    availability = host.availability
    availability.hours.create(weekday=6, start=time(9), end=time(17))
    day = datetime(2027, 10, 31).date()  # a Sunday
    kind = AppointmentTypeFactory(host_user=host, min_notice=0, max_days_ahead=365)
    start, end = day_range(day, BERLIN)
    now = start - timedelta(days=300)
    assert compute_slots(appointment_type=kind, start=start, end=end, now=now)
    availability.holiday_subdivision = "BB"
    availability.save()
    assert compute_slots(appointment_type=kind, start=start, end=end, now=now) == []


def test_working_hours_keep_local_time_across_summer_time(host):
    kind = AppointmentTypeFactory(host_user=host, min_notice=0, max_days_ahead=365)
    # Friday before and Monday after the change to summer time (29 March 2026).
    for day, utc_hour in ((datetime(2026, 3, 27).date(), 8), (datetime(2026, 3, 30).date(), 7)):
        start, end = day_range(day, BERLIN)
        slots = compute_slots(appointment_type=kind, start=start, end=end, now=start - timedelta(days=30))
        assert slots[0].start.astimezone(BERLIN).hour == 9
        assert slots[0].start.hour == utc_hour


def test_team_slots_list_every_free_host_and_queries_stay_constant(django_assert_max_num_queries, db):
    group = Group.objects.get(name=Role.SALES_REP)
    members = []
    for index in range(20):
        user = UserFactory(username=f"rep{index}")
        user.groups.add(group)
        AvailabilityFactory(user=user)
        members.append(user)
    team = Team.objects.create(name="Vertrieb Süd")
    team.members.add(*members)
    kind = AppointmentTypeFactory(host_user=None, host_team=team, assignment=AppointmentType.Assignment.FIRST_FREE, min_notice=0)
    day = datetime(2026, 12, 1).date()
    AppointmentFactory(appointment_type=kind, host=members[0], start=at(day, 9))
    start, end = day_range(day, BERLIN)
    now = start - timedelta(days=1)
    with django_assert_max_num_queries(6):
        month = compute_slots(appointment_type=kind, start=start, end=start + timedelta(days=30), now=now)
    nine = next(s for s in month if s.start == at(day, 9))
    assert members[0].pk not in nine.host_ids and len(nine.host_ids) == 19
    with django_assert_max_num_queries(6):
        compute_slots(appointment_type=kind, start=start, end=end, now=now)


def test_busy_times_from_the_hosts_calendar_block_slots_with_their_buffers(first_meeting, host, day):
    from appointments.calendars.models import BusyTime

    BusyTime.objects.create(user=host, start=at(day, 11), end=at(day, 11, 45))
    start, end = day_range(day, BERLIN)
    free = {s.start for s in compute_slots(appointment_type=first_meeting, start=start, end=end)}
    # 30 minutes plus a 10-minute buffer after: 10:30 would run into 11:00; 11:30 is busy; 12:00 is free.
    assert at(day, 10) in free and at(day, 12) in free
    assert not free & {at(day, 10, 30), at(day, 11), at(day, 11, 30)}
