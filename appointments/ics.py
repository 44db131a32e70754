"""iCalendar (RFC 5545) for invitations and the per-user feed, built with the icalendar library.

Times are written in Europe/Berlin (or the host's zone) with a VTIMEZONE, so Outlook and Google
show the right local time on both sides of a change to or from summer time.
"""

import zoneinfo
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//CRM//Appointments//DE"


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _event(appointment, *, zone, description: str = "") -> Event:
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", appointment.start.astimezone(zone))
    event.add("dtend", appointment.end.astimezone(zone))
    event.add("summary", f"{appointment.appointment_type.name}: {appointment.customer_name}")
    kind = appointment.appointment_type
    location = kind.location_detail or kind.get_location_kind_display()
    event.add("location", vText(str(location)))
    if description:
        event.add("description", description)
    cancelled = appointment.status == appointment.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    host = appointment.host
    organizer = vCalAddress(f"mailto:{host.email or settings.DEFAULT_FROM_EMAIL}")
    organizer.params["cn"] = vText(host.get_full_name() or host.username)
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{appointment.customer_email}")
    attendee.params["cn"] = vText(appointment.customer_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    event.add("attendee", attendee, encode=0)
    event.add("last-modified", appointment.updated_at or timezone.now())
    return event


def invitation(appointment, *, description: str = "", zone_name: str | None = None) -> bytes:
    """METHOD:REQUEST for a booked or moved appointment, METHOD:CANCEL for a cancelled one."""
    zone = zoneinfo.ZoneInfo(zone_name or settings.TIME_ZONE)
    cancelled = appointment.status == appointment.Status.CANCELLED
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_event(appointment, zone=zone, description=description))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def calendar_object(appointment, *, zone_name: str | None = None) -> bytes:
    """The appointment as a resource in the host's own CalDAV calendar: the invitation's event
    (same UID and SEQUENCE) without METHOD, which RFC 4791 forbids in a calendar collection."""
    zone = zoneinfo.ZoneInfo(zone_name or settings.TIME_ZONE)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(_event(appointment, zone=zone))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def feed(appointments, *, name: str, zone_name: str | None = None) -> bytes:
    zone = zoneinfo.ZoneInfo(zone_name or settings.TIME_ZONE)
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    for appointment in appointments:
        calendar.add_component(_event(appointment, zone=zone))
    calendar.add_missing_timezones()
    return calendar.to_ical()
