"""Due times in business hours: evenings, weekends, German holidays, both DST changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.sla import Calendar

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def calendar(**kwargs) -> Calendar:
    return Calendar(**{"subdivision": "BY", "opens_at": time(8), "closes_at": time(17), **kwargs})


def test_it_counts_within_a_day():
    assert calendar().add_business_hours(berlin(2026, 11, 24, 9, 0), 4) == berlin(2026, 11, 24, 13, 0)


def test_it_skips_the_evening_and_night():
    assert calendar().add_business_hours(berlin(2026, 11, 23, 16, 0), 4) == berlin(2026, 11, 24, 11, 0)


def test_a_ticket_at_night_starts_counting_at_opening():
    assert calendar().add_business_hours(berlin(2026, 11, 24, 6, 30), 1) == berlin(2026, 11, 24, 9, 0)
    assert calendar().add_business_hours(berlin(2026, 11, 23, 22, 0), 1) == berlin(2026, 11, 24, 9, 0)


def test_it_skips_the_weekend():
    # Friday 15:00 + 4 h: 2 h on Friday, 2 h on Monday.
    assert calendar().add_business_hours(berlin(2026, 11, 27, 15, 0), 4) == berlin(2026, 11, 30, 10, 0)
    # Saturday is not counted at all.
    assert calendar().add_business_hours(berlin(2026, 11, 28, 10, 0), 1) == berlin(2026, 11, 30, 9, 0)


def test_it_skips_easter_holidays():
    # Maundy Thursday 16:00 + 2 h: Good Friday, the weekend and Easter Monday are closed.
    assert calendar().add_business_hours(berlin(2026, 4, 2, 16, 0), 2) == berlin(2026, 4, 7, 9, 0)


def test_it_skips_christmas():
    # 23 Dec 2026 (Wed) 16:00 + 19 h: 1 h, 24 Dec 9 h, 25/26 holidays + weekend, 28 Dec 9 h -> 17:00.
    assert calendar().add_business_hours(berlin(2026, 12, 23, 16, 0), 19) == berlin(2026, 12, 28, 17, 0)


def test_holidays_follow_the_configured_state():
    # Epiphany (6 Jan) is a holiday in Bavaria, not in Berlin.
    start = berlin(2026, 1, 5, 16, 0)
    assert calendar(subdivision="BY").add_business_hours(start, 2) == berlin(2026, 1, 7, 9, 0)
    assert calendar(subdivision="BE").add_business_hours(start, 2) == berlin(2026, 1, 6, 9, 0)


def test_extra_closed_days_are_skipped():
    cal = calendar(closed_days=[date(2026, 11, 24)])
    assert cal.add_business_hours(berlin(2026, 11, 23, 16, 0), 2) == berlin(2026, 11, 25, 9, 0)


def test_it_crosses_the_change_to_summer_time_in_march():
    # Friday 27 March 16:00 CET (15:00 UTC); clocks go forward on Sunday 29 March.
    due = calendar().add_business_hours(berlin(2026, 3, 27, 16, 0), 2)
    assert due == berlin(2026, 3, 30, 9, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    assert due.astimezone(BERLIN).hour == 9


def test_it_crosses_the_change_to_winter_time_in_october():
    # Friday 23 October 16:00 CEST (14:00 UTC); clocks go back on Sunday 25 October.
    due = calendar().add_business_hours(berlin(2026, 10, 23, 16, 0), 2)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # CET, UTC+1
    assert due.astimezone(BERLIN).hour == 9


def test_a_full_day_on_a_weekend_of_the_change_is_still_nine_hours():
    cal = calendar(weekdays=[0, 1, 2, 3, 4, 5, 6])  # open on Sundays too
    assert cal.add_business_hours(berlin(2026, 3, 29, 8, 0), 9) == berlin(2026, 3, 29, 17, 0)
    assert cal.add_business_hours(berlin(2026, 10, 25, 8, 0), 9) == berlin(2026, 10, 25, 17, 0)


def test_hours_between_is_the_inverse():
    cal = calendar()
    start = berlin(2026, 3, 27, 16, 0)
    assert cal.business_hours_between(start, cal.add_business_hours(start, 13)) == pytest.approx(13)
    assert cal.business_hours_between(start, start - timedelta(hours=1)) == 0
