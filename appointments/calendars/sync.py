"""Calendar sync workflows: connect, push an appointment to its host's calendar, read busy times
and the changes made there, and the host's decisions on conflicts and deletions.

Both directions go through ETags. The CRM writes with If-Match on the version it last wrote or
read, so an edit made in the calendar is never overwritten unseen: on 412 it fetches the event,
and if the calendar moved it while the CRM changed it too, the entry turns CONFLICT and the
appointment page shows both times until the host picks one. Reading, an etag that differs from
the stored one is a change made there: a new start moves the appointment (history, updated
invitation to the customer); a missing event is flagged, never cancelled without the host.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.calendars import caldav as dav
from appointments.calendars.models import BusyTime, CalendarConnection, CalendarError, CalendarPush
from appointments.models import Appointment

logger = logging.getLogger(__name__)

MOVED_THERE = "Moved in the host's calendar"


def _client(connection: CalendarConnection):
    return dav.client(url=connection.url, username=connection.username, password=connection.password())


# Connecting -------------------------------------------------------------------------------------


def calendar_connect(*, user, url: str, username: str, password: str, calendar_name: str = "") -> CalendarConnection:
    """Log in and find the calendar first (CalendarFailure when that fails; nothing is saved),
    then store the connection with the password encrypted. Existing appointments the user hosts
    are pushed, and the busy times read, by the tasks queued after the commit."""
    server_url, calendar_url = dav.discover(url=url, username=username, password=password, calendar_name=calendar_name)
    with transaction.atomic():
        connection = CalendarConnection.objects.select_for_update().filter(user=user).first()
        changed = connection is None or connection.calendar_url != calendar_url
        connection = connection or CalendarConnection(user=user)
        connection.url, connection.calendar_url = server_url, calendar_url
        connection.calendar_name, connection.username = calendar_name.strip(), username
        connection.set_password(password)
        connection.last_error, connection.last_error_detail, connection.last_error_at = "", "", None
        connection.save()
        if changed:
            # Another calendar: what was written to the old one is written again to this one.
            CalendarPush.objects.filter(appointment__host=user).delete()
            BusyTime.objects.filter(user=user).delete()
            connection.busy_synced_at, connection.busy_count = None, 0
            connection.save(update_fields=["busy_synced_at", "busy_count"])
        upcoming = Appointment.objects.active().filter(host=user, end__gt=timezone.now())
        for appointment in upcoming.select_related("host"):
            push_queue(appointment=appointment)
        connection_id = connection.pk
        transaction.on_commit(lambda: _queue_sync(connection_id))
    return connection


def _queue_sync(connection_id: int) -> None:
    from appointments.tasks import calendar_sync

    calendar_sync.delay(connection_id)


def calendar_pause(*, connection: CalendarConnection, paused: bool) -> None:
    """Pause the sync (nothing is read from or written to the calendar; appointments booked
    meanwhile wait as pending pushes), or resume it: then it is read at once and what waited is
    written."""
    with transaction.atomic():
        CalendarConnection.objects.filter(pk=connection.pk).update(is_paused=paused)
        connection.is_paused = paused
        if paused:
            return
        connection_id = connection.pk
        waiting = list(connection.pushes.filter(
            state__in=[CalendarPush.State.PENDING, CalendarPush.State.FAILED]
        ).values_list("appointment_id", flat=True))

        def resume():
            for appointment_id in waiting:
                _queue_push(appointment_id)
            _queue_sync(connection_id)

        transaction.on_commit(resume)


def calendar_disconnect(*, connection: CalendarConnection) -> None:
    """Forget the connection, its password and busy times; events already in the calendar stay there."""
    connection.delete()


# Pushing ----------------------------------------------------------------------------------------


def push_queue(*, appointment: Appointment) -> CalendarPush | None:
    """In the caller's transaction: mark the appointment as waiting for its host's calendar and
    queue the push for after the commit (so the booking never waits for, or fails with, the
    calendar server). None when the host has no calendar connected."""
    connection = CalendarConnection.objects.filter(user_id=appointment.host_id).first()
    if connection is None:
        return None
    href = dav.resource_href(connection.calendar_url, appointment.uid)
    push, created = CalendarPush.objects.get_or_create(
        appointment=appointment, defaults={"connection": connection, "href": href}
    )
    if not created:
        if push.connection_id != connection.pk:
            push.connection, push.href, push.etag, push.pushed_start = connection, href, "", None
        if push.state == CalendarPush.State.DELETED_THERE:
            push.etag = ""  # changed in the CRM after the deletion there: it is written again
        push.state = CalendarPush.State.PENDING
        push.remote_start = None
        push.save()
    appointment_id = appointment.pk
    transaction.on_commit(lambda: _queue_push(appointment_id))
    return push


def _queue_push(appointment_id: int) -> None:
    from appointments.tasks import calendar_push

    calendar_push.delay(appointment_id)


def appointment_push(*, appointment_id: int) -> CalendarPush | None:
    """Write (or delete) one appointment in its host's calendar. Idempotent; the row lock makes
    two pushes of one appointment take turns, and the second writes the latest state."""
    with transaction.atomic():
        push = (
            CalendarPush.objects.select_for_update(of=("self",))
            .select_related("connection", "appointment__appointment_type", "appointment__host__availability")
            .filter(appointment_id=appointment_id)
            .first()
        )
        if push is None or push.state not in (CalendarPush.State.PENDING, CalendarPush.State.FAILED):
            return push
        if push.connection.is_paused:
            return push  # stays pending; resuming the sync writes it
        try:
            with _client(push.connection) as client:
                _push(client, push)
        except dav.CalendarFailure as failure:
            push.state = CalendarPush.State.FAILED
            push.attempts += 1
            push.last_error = f"{CalendarError(failure.code).label} {failure.detail}".strip()[:500]
            logger.info("calendar push of appointment %s failed: %s", appointment_id, failure.code)
        else:
            push.attempts, push.last_error = 0, ""
        push.save()
        return push


def _zone_name(appointment: Appointment) -> str:
    availability = getattr(appointment.host, "availability", None)
    return availability.time_zone if availability else settings.TIME_ZONE


def _push(client, push: CalendarPush) -> None:
    appointment = push.appointment
    if not appointment.is_active:
        _remove(client, push)
        return
    body = _body(appointment)
    result = dav.put(client, href=push.href, body=body, etag=push.etag)
    if result.status == 412:
        remote = dav.get(client, href=push.href)
        if remote is None:
            # Known to us but gone there: deleted in the calendar meanwhile.
            push.state, push.etag = CalendarPush.State.DELETED_THERE, ""
            return
        if remote.start not in (push.pushed_start, appointment.start):
            # Moved there while the CRM changed it: both times stay visible until the host decides.
            push.state, push.etag, push.remote_start = CalendarPush.State.CONFLICT, remote.etag, remote.start
            return
        # Edited there without a new time (or already at ours): the CRM's version on top of the one we read.
        result = dav.put(client, href=push.href, body=body, etag=remote.etag)
        if result.status != 201 and result.status // 100 != 2:
            raise dav.CalendarFailure(CalendarError.SERVER, f"PUT {result.status} after a second read")
    elif result.status == 404:
        push.state, push.etag = CalendarPush.State.DELETED_THERE, ""
        return
    etag = result.etag or (dav.get(client, href=push.href) or dav.Resource("", "", "", None, None, True)).etag
    push.state, push.etag, push.pushed_start, push.remote_start = CalendarPush.State.SYNCED, etag, appointment.start, None


def _body(appointment: Appointment) -> bytes:
    from appointments import ics

    return ics.calendar_object(appointment, zone_name=_zone_name(appointment))


def _remove(client, push: CalendarPush) -> None:
    """A cancelled appointment leaves the calendar; deleted only in the version we know."""
    if not push.etag and push.pushed_start is None:
        push.state = CalendarPush.State.REMOVED  # never reached the calendar
        return
    status = dav.delete(client, href=push.href, etag=push.etag)
    if status == 412:
        remote = dav.get(client, href=push.href)
        if remote is not None and remote.start != push.pushed_start:
            push.state, push.etag, push.remote_start = CalendarPush.State.CONFLICT, remote.etag, remote.start
            return
        if remote is not None:
            status = dav.delete(client, href=push.href, etag=remote.etag)
            if status == 412:
                raise dav.CalendarFailure(CalendarError.SERVER, "DELETE 412 after a second read")
    push.state, push.etag, push.remote_start = CalendarPush.State.REMOVED, "", None


def pushes_due() -> list[int]:
    """Appointments whose push waits or failed (the server was down): the beat tries them again."""
    stale = timezone.now() - timedelta(seconds=30)
    return list(
        CalendarPush.objects.filter(
            state__in=[CalendarPush.State.PENDING, CalendarPush.State.FAILED], updated_at__lt=stale,
            connection__is_paused=False,
        ).values_list("appointment_id", flat=True)[:500]
    )


# Reading ----------------------------------------------------------------------------------------


def busy_window(now=None):
    now = now or timezone.now()
    return now - timedelta(days=1), now + timedelta(days=getattr(settings, "CRM_CALENDAR_BUSY_DAYS", 120))


def calendar_sync(*, connection: CalendarConnection) -> None:
    """Read the calendar: busy times (every event that is not a CRM appointment, recurrences
    expanded) replace the stored ones; CRM appointments changed or deleted there are reconciled.
    A failure is kept on the connection in words and the old busy times stay (with their age).
    Nothing while the sync is paused."""
    if CalendarConnection.objects.filter(pk=connection.pk, is_paused=True).exists():
        return
    now = timezone.now()
    start, end = busy_window(now)
    connection.last_run_at = now
    try:
        with _client(connection) as client:
            resources, occurrences = dav.events(client, calendar_url=connection.calendar_url, start=start, end=end)
            uids = {r.uid for r in resources} | {o.uid for o in occurrences}
            crm_uids = set(Appointment.objects.filter(uid__in=uids).values_list("uid", flat=True))
            busy = _busy(connection, occurrences, crm_uids, start, end)
            with transaction.atomic():
                BusyTime.objects.filter(user_id=connection.user_id).delete()
                BusyTime.objects.bulk_create(busy)
                connection.busy_synced_at, connection.busy_count = now, len(busy)
                connection.last_error, connection.last_error_detail, connection.last_error_at = "", "", None
                connection.save()
            _reconcile(client, connection, {r.uid: r for r in resources if r.uid in crm_uids}, start, end)
    except dav.CalendarFailure as failure:
        connection.last_error, connection.last_error_detail, connection.last_error_at = failure.code, failure.detail, now
        connection.save(update_fields=["last_run_at", "last_error", "last_error_detail", "last_error_at"])


def _busy(connection, occurrences, crm_uids, start, end) -> list[BusyTime]:
    intervals = sorted(
        (max(o.start, start), min(o.end, end))
        for o in occurrences
        if o.busy and o.uid not in crm_uids and o.start is not None and o.end is not None and o.end > o.start
    )
    merged: list[tuple] = []
    for s, e in intervals:
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return [BusyTime(user_id=connection.user_id, start=s, end=e) for s, e in merged]


def _reconcile(client, connection, remote_by_uid, start, end) -> None:
    pushes = CalendarPush.objects.filter(
        connection=connection, state=CalendarPush.State.SYNCED,
        appointment__status=Appointment.Status.BOOKED, appointment__start__gte=start, appointment__start__lt=end,
    ).select_related("appointment")
    for push in pushes:
        remote = remote_by_uid.get(push.appointment.uid)
        if remote is not None and remote.etag == push.etag:
            continue
        _reconcile_one(client, push.pk)


def _reconcile_one(client, push_id: int) -> None:
    from appointments import services

    with transaction.atomic():
        push = CalendarPush.objects.select_for_update(of=("self",)).select_related("appointment__appointment_type").get(pk=push_id)
        if push.state != CalendarPush.State.SYNCED:
            return
        # A fresh read: the REPORT may predate a push that has just written a newer version.
        remote = dav.get(client, href=push.href)
        if remote is not None and remote.etag == push.etag:
            return
        if remote is None:
            push.state = CalendarPush.State.DELETED_THERE
            push.save(update_fields=["state", "updated_at"])
            return
        appointment = push.appointment
        if remote.start is None or remote.start == push.pushed_start:
            push.etag = remote.etag  # edited there without moving it: nothing for the CRM to do
            push.save(update_fields=["etag", "updated_at"])
            return
        # Moved there: the CRM follows (history, updated invitation to the customer). The push that
        # the move queues writes the CRM's version on top of the one just read.
        push.etag, push.pushed_start = remote.etag, remote.start
        push.save(update_fields=["etag", "pushed_start", "updated_at"])
        appointment._change_reason = MOVED_THERE
        try:
            services.appointment_reschedule(appointment=appointment, start=remote.start)
        except services.SlotTaken:
            # The new time is not free in the CRM: the host sees both and decides.
            CalendarPush.objects.filter(pk=push.pk).update(
                state=CalendarPush.State.CONFLICT, remote_start=remote.start, pushed_start=appointment.start,
            )


def connections_due() -> list[int]:
    return list(CalendarConnection.objects.filter(is_paused=False).values_list("pk", flat=True))


# The host's decisions -----------------------------------------------------------------------------


def push_keep_crm(*, push: CalendarPush) -> None:
    """Conflict or deletion there, the host keeps the CRM's version: it is written over the
    version of the calendar the host was shown (If-Match on that etag)."""
    with transaction.atomic():
        push = CalendarPush.objects.select_for_update(of=("self",)).get(pk=push.pk)
        if push.state == CalendarPush.State.DELETED_THERE:
            push.etag = ""
        push.state, push.remote_start = CalendarPush.State.PENDING, None
        push.save()
        appointment_id = push.appointment_id
        transaction.on_commit(lambda: _queue_push(appointment_id))


def push_take_calendar(*, push: CalendarPush) -> Appointment:
    """Conflict, the host takes the calendar's time: the appointment moves there (updated
    invitation); SlotTaken when that time is not free in the CRM."""
    from appointments import services

    with transaction.atomic():
        push = CalendarPush.objects.select_for_update(of=("self",)).select_related("appointment__appointment_type").get(pk=push.pk)
        if push.state != CalendarPush.State.CONFLICT or push.remote_start is None:
            return push.appointment
        appointment = push.appointment
        remote_start = push.remote_start
        push.state, push.pushed_start, push.remote_start = CalendarPush.State.PENDING, remote_start, None
        push.save()
        appointment._change_reason = MOVED_THERE
        if appointment.is_active:
            return services.appointment_reschedule(appointment=appointment, start=remote_start)
        return appointment


def push_confirm_deleted(*, push: CalendarPush) -> Appointment:
    """Deleted in the calendar, and the host confirms: cancelled in the CRM (the customer is told)."""
    from appointments import services

    # The cancellation queues the push, which finds the event gone and marks the entry removed.
    return services.appointment_cancel(appointment=push.appointment)


def state_text(push: CalendarPush | None) -> str:
    if push is None:
        return _("The host has no calendar connected.")
    return str(push.get_state_display())
