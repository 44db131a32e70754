"""Reading and editing a test user's Radicale calendar from the outside, as their phone would."""

from datetime import UTC, datetime

import caldav
from icalendar import Calendar

from appointments.tests.conftest import CALDAV_PASSWORD, CALDAV_USER


def calendar(server):
    dav = caldav.DAVClient(url=server.url, username=CALDAV_USER, password=CALDAV_PASSWORD)
    return dav, dav.calendar(url=server.calendar_url(CALDAV_USER))


def events(server) -> dict[str, dict]:
    """UID -> {start, status, sequence, summary} of every event in alice's calendar."""
    dav, cal = calendar(server)
    with dav:
        found = {}
        for item in cal.events():
            for component in Calendar.from_ical(item.data).walk("VEVENT"):
                found[str(component["uid"])] = {
                    "start": component.decoded("dtstart").astimezone(UTC),
                    "status": str(component.get("status", "")),
                    "sequence": int(component.get("sequence", 0)),
                    "summary": str(component.get("summary", "")),
                    "url": str(item.url),
                }
        return found


def add_event(server, *, uid: str, start: datetime, end: datetime, summary: str = "Zahnarzt", extra: str = "") -> None:
    dav, cal = calendar(server)
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Phone//DE\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\nDTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with dav:
        cal.save_event(body)


def move_event(server, uid: str, start: datetime, end: datetime) -> None:
    """Edit the event there (a new ETag), as a phone does when the event is dragged."""
    dav, cal = calendar(server)
    with dav:
        event = cal.event_by_uid(uid)
        component = event.icalendar_component
        for name, value in (("dtstart", start), ("dtend", end)):
            del component[name]
            component.add(name, value.astimezone(UTC))
        event.save()


def delete_event(server, uid: str) -> None:
    dav, cal = calendar(server)
    with dav:
        cal.event_by_uid(uid).delete()
