"""The CalDAV side, with the `caldav` library: discovery (the server's /.well-known/caldav, then
the principal's calendars), conditional writes and deletes (If-Match / If-None-Match on the
resource's ETag), and reading events in a range. Every failure becomes a CalendarFailure with
a code from CalendarError and the server's answer, never a traceback for the user."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from urllib.parse import quote, urljoin, urlsplit

import caldav
from caldav.lib import error as caldav_error
from django.conf import settings
from icalendar import Calendar

from appointments.calendars.models import CalendarError

ICAL = {"Content-Type": "text/calendar; charset=utf-8"}


class CalendarFailure(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail[:500]


@dataclass(frozen=True)
class Resource:
    """One event resource as the server holds it."""

    href: str
    etag: str
    uid: str
    start: datetime | None  # UTC; None when the event has no DTSTART we can read
    end: datetime | None
    busy: bool  # not transparent, not cancelled


@dataclass(frozen=True)
class WriteResult:
    status: int  # 201/204: written, 412: changed there (etag), 404: gone there
    etag: str


def client(*, url: str, username: str, password: str) -> caldav.DAVClient:
    return caldav.DAVClient(
        url=url, username=username, password=password,
        timeout=getattr(settings, "CRM_CALENDAR_TIMEOUT", 20), enable_rfc6764=False,
    )


def _fail(exc: Exception) -> CalendarFailure:
    if isinstance(exc, CalendarFailure):
        return exc
    if isinstance(exc, caldav_error.AuthorizationError):
        return CalendarFailure(CalendarError.LOGIN, str(exc))
    if isinstance(exc, caldav_error.NotFoundError):
        return CalendarFailure(CalendarError.NOT_FOUND, str(exc))
    if isinstance(exc, caldav_error.DAVError):
        return CalendarFailure(CalendarError.SERVER, str(exc))
    if isinstance(exc, OSError) or "connection" in type(exc).__name__.lower() or "timeout" in type(exc).__name__.lower():
        return CalendarFailure(CalendarError.UNREACHABLE, str(exc))
    return CalendarFailure(CalendarError.SERVER, f"{type(exc).__name__}: {exc}")


def _candidates(url: str) -> list[str]:
    """Where to look for the principal: the address as given, and for a bare server address
    first its well-known CalDAV address (RFC 6764), which the server redirects to its root."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CalendarFailure(CalendarError.NOT_FOUND, url)
    if parts.path in ("", "/"):
        return [urljoin(url, "/.well-known/caldav"), url]
    return [url]


def discover(*, url: str, username: str, password: str, calendar_name: str = "") -> tuple[str, str]:
    """(server address that answered, calendar URL); the calendar with `calendar_name` (display
    name or last path segment), else the first one. Logs in, so it is also the connection test."""
    last: CalendarFailure | None = None
    for candidate in _candidates(url):
        try:
            with client(url=candidate, username=username, password=password) as dav:
                calendars = dav.principal().calendars()
                break
        except Exception as exc:  # noqa: BLE001 (the library raises many kinds; all become words)
            last = _fail(exc)
            if last.code == CalendarError.LOGIN:
                raise last from exc
    else:
        raise last or CalendarFailure(CalendarError.NOT_CALDAV)
    if not calendars:
        raise CalendarFailure(CalendarError.NO_CALENDAR)
    wanted = calendar_name.strip().casefold()
    for calendar in calendars:
        names = {str(calendar.get_display_name() or "").casefold(), str(calendar.url).rstrip("/").rsplit("/", 1)[-1].casefold()}
        if not wanted or wanted in names:
            return candidate, str(calendar.url)
    raise CalendarFailure(CalendarError.NO_CALENDAR, calendar_name)


def resource_href(calendar_url: str, uid: str) -> str:
    return urljoin(calendar_url if calendar_url.endswith("/") else calendar_url + "/", quote(uid, safe="") + ".ics")


def put(dav: caldav.DAVClient, *, href: str, body: bytes, etag: str = "") -> WriteResult:
    """Write the resource: If-Match on the etag we know, or If-None-Match: * when we know none
    (create, never overwrite something we have not seen)."""
    headers = dict(ICAL)
    headers["If-Match" if etag else "If-None-Match"] = etag or "*"
    try:
        response = dav.put(href, body.decode(), headers)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from exc
    if response.status in (200, 201, 204):
        return WriteResult(response.status, response.headers.get("Etag", ""))
    if response.status in (404, 412):
        return WriteResult(response.status, "")
    raise CalendarFailure(CalendarError.SERVER, f"PUT {response.status} {response.reason}")


def delete(dav: caldav.DAVClient, *, href: str, etag: str) -> int:
    headers = {"If-Match": etag} if etag else {}
    try:
        response = dav.delete(href, headers)
    except caldav_error.NotFoundError:
        return 404
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from exc
    if response.status in (200, 204, 404, 412):
        return response.status
    raise CalendarFailure(CalendarError.SERVER, f"DELETE {response.status} {response.reason}")


def get(dav: caldav.DAVClient, *, href: str) -> Resource | None:
    """The resource as it is there now, or None when it is gone."""
    try:
        response = dav.request(href, "GET")
    except caldav_error.NotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from exc
    if response.status == 404:
        return None
    if response.status != 200:
        raise CalendarFailure(CalendarError.SERVER, f"GET {response.status} {response.reason}")
    body = response.raw if isinstance(response.raw, str) else response.raw.decode()
    resources = _parse(href, response.headers.get("Etag", ""), body)
    return resources[0] if resources else None


def _utc(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):  # an all-day event: the whole day, taken as UTC days
        return datetime.combine(value, time.min, tzinfo=UTC)
    raise ValueError(value)


def _parse(href: str, etag: str, body: str) -> list[Resource]:
    resources = []
    for component in Calendar.from_ical(body).walk("VEVENT"):
        resources.append(_resource(href, etag, component))
    return resources


def _resource(href: str, etag: str, component) -> Resource:
    start = end = None
    if component.get("dtstart") is not None:
        start = _utc(component.decoded("dtstart"))
        if component.get("dtend") is not None:
            end = _utc(component.decoded("dtend"))
        elif component.get("duration") is not None:
            end = start + component.decoded("duration")
        else:
            end = start
    busy = str(component.get("transp", "OPAQUE")).upper() != "TRANSPARENT" and str(component.get("status", "")).upper() != "CANCELLED"
    return Resource(href=href, etag=etag, uid=str(component.get("uid", "")), start=start, end=end, busy=busy)


def events(dav: caldav.DAVClient, *, calendar_url: str, start: datetime, end: datetime) -> tuple[list[Resource], list[Resource]]:
    """(resources with their etags, one per event; occurrences in the range, recurrences expanded).
    Two REPORTs: the expanded one has no etags, the plain one does not split recurring events."""
    try:
        calendar = dav.calendar(url=calendar_url)
        plain = calendar.search(start=start, end=end, event=True)
        expanded = calendar.search(start=start, end=end, event=True, expand=True)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from exc
    resources = [_resource(str(item.url), item.etag or "", item.icalendar_component) for item in plain]
    occurrences = [_resource(str(item.url), "", item.icalendar_component) for item in expanded]
    return resources, occurrences
