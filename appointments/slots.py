"""Bookable slots: working hours minus absences, holidays and busy time, within notice and horizon.

Everything a range needs is loaded in a fixed number of queries (hosts, their availability with
hours, exceptions, appointments and calendar busy times in the range); the rest is arithmetic in Python,
so a month of a 20-person team costs the same handful of queries as one day of one person.
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from appointments.models import (
    DEFAULT_TIME_ZONE,
    Appointment,
    AppointmentType,
    Availability,
    AvailabilityException,
    BusyTime,
)


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime
    host_ids: tuple[int, ...]  # free hosts, in the type's order

    def local_start(self, zone):
        return self.start.astimezone(zone)


@dataclass
class HostDay:
    """What one host has in a range: free intervals and busy intervals (both UTC, sorted, merged)."""

    free: list[tuple[datetime, datetime]] = field(default_factory=list)
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)


@lru_cache(maxsize=64)
def holiday_dates(subdivision: str, year: int) -> frozenset[date]:
    import holidays

    country = getattr(settings, "APPOINTMENTS_HOLIDAY_COUNTRY", "DE")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


def _merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals, cuts):
    result = []
    for start, end in intervals:
        pieces = [(start, end)]
        for cut_start, cut_end in cuts:
            next_pieces = []
            for s, e in pieces:
                if cut_end <= s or cut_start >= e:
                    next_pieces.append((s, e))
                    continue
                if s < cut_start:
                    next_pieces.append((s, cut_start))
                if cut_end < e:
                    next_pieces.append((cut_end, e))
            pieces = next_pieces
        result.extend(pieces)
    return result


def _working_intervals(availability, range_start, range_end):
    """The host's weekly hours as UTC intervals in [range_start, range_end), holidays left out."""
    zone = zoneinfo.ZoneInfo(availability.time_zone) if availability else zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)
    hours_by_day = defaultdict(list)
    for hours in availability.hours.all() if availability else []:
        hours_by_day[hours.weekday].append((hours.start, hours.end))
    subdivision = availability.holiday_subdivision if availability else ""
    day = range_start.astimezone(zone).date() - timedelta(days=1)
    last = range_end.astimezone(zone).date()
    intervals = []
    while day <= last:
        if day not in holiday_dates(subdivision, day.year):
            for start, end in hours_by_day.get(day.weekday(), ()):
                local_start = datetime.combine(day, start, tzinfo=zone)
                local_end = datetime.combine(day, end, tzinfo=zone)
                # Through UTC, so that a day that changes to or from summer time gets its real hours.
                s, e = local_start.astimezone(UTC), local_end.astimezone(UTC)
                s, e = max(s, range_start), min(e, range_end)
                if s < e:
                    intervals.append((s, e))
        day += timedelta(days=1)
    return intervals


def host_calendars(host_ids, range_start, range_end, *, exclude_appointment=None) -> dict[int, HostDay]:
    """Free and busy time of each host in the range, in four queries."""
    range_start, range_end = range_start.astimezone(UTC), range_end.astimezone(UTC)
    availabilities = {
        a.user_id: a for a in Availability.objects.filter(user_id__in=host_ids).prefetch_related("hours")
    }
    exceptions = defaultdict(list)
    for exception in AvailabilityException.objects.filter(
        user_id__in=host_ids, start__lt=range_end, end__gt=range_start
    ).only("user_id", "kind", "start", "end"):
        exceptions[exception.user_id].append(exception)
    busy = defaultdict(list)
    appointments = (
        Appointment.objects.active()
        .filter(host_id__in=host_ids)
        .overlapping(range_start - timedelta(days=1), range_end + timedelta(days=1))
    )
    if exclude_appointment is not None:
        appointments = appointments.exclude(pk=exclude_appointment.pk)
    for host_id, blocked_start, blocked_end in appointments.values_list("host_id", "blocked_start", "blocked_end"):
        busy[host_id].append((blocked_start.astimezone(UTC), blocked_end.astimezone(UTC)))
    # The hosts' other events, read from their own calendars (appointments.calendars).
    busy_times = BusyTime.objects.filter(
        user_id__in=host_ids, start__lt=range_end + timedelta(days=1), end__gt=range_start - timedelta(days=1)
    )
    for host_id, start, end in busy_times.values_list("user_id", "start", "end"):
        busy[host_id].append((start.astimezone(UTC), end.astimezone(UTC)))
    calendars = {}
    for host_id in host_ids:
        free = _working_intervals(availabilities.get(host_id), range_start, range_end)
        own = exceptions.get(host_id, [])
        extra = [
            (max(x.start.astimezone(UTC), range_start), min(x.end.astimezone(UTC), range_end))
            for x in own
            if x.kind == AvailabilityException.Kind.EXTRA
        ]
        absences = [(x.start.astimezone(UTC), x.end.astimezone(UTC)) for x in own if x.kind == AvailabilityException.Kind.ABSENCE]
        free = _subtract(_merge(free + [i for i in extra if i[0] < i[1]]), _merge(absences))
        merged_busy = _merge(busy.get(host_id, []))
        calendars[host_id] = HostDay(free=free, busy=merged_busy)
    return calendars


def bookable_window(appointment_type: AppointmentType, now=None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    return now + timedelta(minutes=appointment_type.min_notice), now + timedelta(days=appointment_type.max_days_ahead)


def compute_slots(
    *, appointment_type: AppointmentType, start: datetime, end: datetime, host_ids=None, now=None, exclude_appointment=None
) -> list[Slot]:
    """Free slots of the type between start and end (UTC), each with the hosts free then."""
    # All in UTC: arithmetic and comparisons on datetimes in a ZoneInfo zone are many times slower.
    earliest, latest = (moment.astimezone(UTC) for moment in bookable_window(appointment_type, now))
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    range_start, range_end = max(start, earliest), min(end, latest + timedelta(minutes=appointment_type.duration))
    if range_start >= range_end:
        return []
    host_ids = list(host_ids) if host_ids is not None else appointment_type.host_ids()
    if not host_ids:
        return []
    calendars = host_calendars(host_ids, range_start, range_end, exclude_appointment=exclude_appointment)
    # The inner loop runs on whole seconds since the epoch: tens of thousands of candidates a month.
    duration = appointment_type.duration * 60
    before = appointment_type.buffer_before * 60
    after = appointment_type.buffer_after * 60
    step = appointment_type.slot_interval * 60
    first_ok, last_ok = _ts(range_start), _ts(latest)
    free_hosts: dict[int, list[int]] = defaultdict(list)
    for host_id in host_ids:
        calendar = calendars[host_id]
        # A start time c is taken when a busy interval (start, end) has start - duration - after < c
        # < end + before. Those zones, merged, are skipped whole; the start times between them are
        # taken by the range, so a month with synced busy times costs a walk over two sorted lists.
        zones = _merge_ts([(_ts(b[0]) - duration - after, _ts(b[1]) + before) for b in calendar.busy])
        index, count = 0, len(zones)
        for free_start, free_end in calendar.free:
            # Start times on the grid of `step` seconds since the epoch (whole quarter hours, say).
            candidate = _ceil(max(_ts(free_start), first_ok), step)
            stop = min(_ts(free_end) - duration, last_ok)
            while candidate <= stop:
                while index < count and zones[index][1] <= candidate:
                    index += 1
                if index < count and zones[index][0] < candidate:
                    candidate = _ceil(zones[index][1], step)
                    continue
                limit = min(stop, zones[index][0]) if index < count else stop
                for moment in range(candidate, limit + 1, step):
                    free_hosts[moment].append(host_id)
                candidate = _ceil(limit + 1, step)
    length = timedelta(seconds=duration)
    slots = []
    for ts, hosts in sorted(free_hosts.items()):
        moment = datetime.fromtimestamp(ts, UTC)
        slots.append(Slot(moment, moment + length, tuple(hosts)))
    return slots


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _ceil(seconds: int, step: int) -> int:
    return -(-seconds // step) * step


def _merge_ts(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def slots_by_day(slots: list[Slot], zone) -> list[tuple[date, list[Slot]]]:
    days: dict[date, list[Slot]] = defaultdict(list)
    for slot in slots:
        days[slot.start.astimezone(zone).date()].append(slot)
    return sorted(days.items())


def day_range(day: date, zone) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)

