"""The user's own CalDAV calendar: connect it (tested before it is saved), see how fresh the busy
times are, read now, disconnect; and the host's decisions on an appointment whose entry there
conflicts or was deleted."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments import services
from appointments.calendars import sync
from appointments.calendars.caldav import CalendarFailure
from appointments.calendars.models import CalendarConnection, CalendarError, CalendarPush
from appointments.forms import CalendarConnectionForm
from appointments.models import Appointment
from crm.access import get_editable_or_403, role_required
from crm.breadcrumbs import crumb

# Which field a connection error belongs next to.
ERROR_FIELDS = {
    CalendarError.NOT_FOUND: "url",
    CalendarError.UNREACHABLE: "url",
    CalendarError.NOT_CALDAV: "url",
    CalendarError.SERVER: "url",
    CalendarError.LOGIN: "password",
    CalendarError.NO_CALENDAR: "calendar_name",
}


def _connection(user) -> CalendarConnection | None:
    return CalendarConnection.objects.filter(user=user).first()


@role_required()
def calendar_connection(request):
    connection = _connection(request.user)
    initial = {"url": connection.url, "username": connection.username, "calendar_name": connection.calendar_name} if connection else {}
    form = CalendarConnectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sync.calendar_connect(
                user=request.user, url=data["url"], username=data["username"].strip(),
                password=data["password"], calendar_name=data["calendar_name"],
            )
        except CalendarFailure as failure:
            label = CalendarError(failure.code).label
            form.add_error(ERROR_FIELDS.get(failure.code, "url"), f"{label} ({failure.detail})" if failure.detail else label)
        else:
            messages.success(request, _("The calendar is connected. Your appointments are written to it, and its busy times block your booking slots."))
            return redirect("appointments:calendar_connection")
    pushes = {}
    if connection:
        for state, count in _push_counts(connection):
            pushes[CalendarPush.State(state).label] = count
    context = {
        "form": form,
        "connection": connection,
        "push_counts": pushes,
        "testid": "calendar",
        "breadcrumbs": [crumb(_("Calendar sync"))],
    }
    return render(request, "appointments/calendar_connection.html", context)


def _push_counts(connection):
    from django.db.models import Count

    return connection.pushes.values_list("state").annotate(n=Count("pk")).order_by("state")


@require_POST
@role_required()
def calendar_connection_sync(request):
    connection = _connection(request.user)
    if connection is None:
        raise Http404
    if connection.is_paused:
        messages.error(request, _("The sync is paused; resume it to read the calendar."))
        return redirect("appointments:calendar_connection")
    connection_id = connection.pk
    transaction.on_commit(lambda: sync._queue_sync(connection_id))
    messages.success(request, _("The calendar is being read; reload this page in a moment to see the result."))
    return redirect("appointments:calendar_connection")


@require_POST
@role_required()
def calendar_connection_pause(request):
    connection = _connection(request.user)
    if connection is None:
        raise Http404
    paused = request.POST.get("pause") == "1"
    sync.calendar_pause(connection=connection, paused=paused)
    messages.success(request, _("The calendar sync is paused.") if paused else _("The calendar sync runs again."))
    return redirect("appointments:calendar_connection")


@require_POST
@role_required()
def calendar_connection_disconnect(request):
    connection = _connection(request.user)
    if connection is None:
        raise Http404
    sync.calendar_disconnect(connection=connection)
    messages.success(request, _("The calendar is disconnected and its password deleted. Events already written to it stay there."))
    return redirect("appointments:calendar_connection")


@require_POST
@role_required()
def calendar_entry_resolve(request, pk: int):
    """The host (or whoever may edit the appointment) settles a conflict or a deletion there."""
    appointment = get_editable_or_403(Appointment, request.user, pk=pk)
    push = CalendarPush.objects.filter(appointment=appointment).first()
    if push is None:
        raise Http404
    action = request.POST.get("action")
    if action == "keep_crm" and push.state in (CalendarPush.State.CONFLICT, CalendarPush.State.DELETED_THERE):
        sync.push_keep_crm(push=push)
        messages.success(request, _("The CRM's time is written to the calendar again."))
    elif action == "take_calendar" and push.state == CalendarPush.State.CONFLICT:
        try:
            sync.push_take_calendar(push=push)
        except services.SlotTaken:
            messages.error(request, _("The calendar's time is not free in the CRM; keep the CRM's time or move the appointment."))
        else:
            messages.success(request, _("The appointment moved to the calendar's time; the customer gets an updated invitation."))
    elif action == "confirm_deleted" and push.state == CalendarPush.State.DELETED_THERE:
        sync.push_confirm_deleted(push=push)
        messages.success(request, _("The appointment was cancelled; the customer was told."))
    else:
        messages.error(request, _("This calendar entry needs no decision any more."))
    return redirect(appointment)
