"""Business-hours arithmetic: a due time is the start plus N working hours of a calendar.

Days are walked in the calendar's own time zone (Europe/Berlin by default): each working day
that is no public holiday of the calendar's state and no extra closed day contributes its
opening hours. Windows are built as local wall-clock times and converted to UTC, so a day after
the switch to or from summer time opens at 08:00 local time, whatever its UTC offset.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

MAX_DAYS = 3 * 366  # a target longer than that is a configuration error, not a due time


@lru_cache(maxsize=64)
def public_holidays(subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv=subdivision or None, years=year).keys())


class Calendar:
    """A plain snapshot of a BusinessCalendar (and its closed days) used for the arithmetic."""

    def __init__(self, *, time_zone="Europe/Berlin", subdivision="", opens_at, closes_at, weekdays=(0, 1, 2, 3, 4), closed_days=()):
        self.zone = ZoneInfo(time_zone)
        self.subdivision = subdivision
        self.opens_at, self.closes_at = opens_at, closes_at
        self.weekdays = frozenset(weekdays)
        self.closed_days = frozenset(closed_days)

    @classmethod
    def from_model(cls, calendar) -> "Calendar":
        return cls(
            time_zone=calendar.time_zone,
            subdivision=calendar.subdivision,
            opens_at=calendar.opens_at,
            closes_at=calendar.closes_at,
            weekdays=calendar.weekdays,
            closed_days=calendar.closed_days.values_list("date", flat=True),
        )

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() in self.weekdays
            and day not in self.closed_days
            and day not in public_holidays(self.subdivision, day.year)
        )

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening hours as UTC datetimes."""
        start = datetime.combine(day, self.opens_at, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closes_at, tzinfo=self.zone).astimezone(UTC)
        return start, end

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        remaining = timedelta(hours=hours)
        moment = start.astimezone(UTC)
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self.window(day)
                begin = max(moment, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("The target lies more than three years of working days ahead.")

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from start to end (0 when end is not after start)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self.window(day)
                begin, finish = max(start, opens), min(end, closes)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total.total_seconds() / 3600
