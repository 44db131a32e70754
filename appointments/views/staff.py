"""Staff pages: appointments, calendars, appointment types, availability, offering times."""

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, DetailView, UpdateView

from appointments import ics, services
from appointments.calendars.models import CalendarPush
from appointments.filters import AppointmentFilter, AppointmentTypeFilter
from appointments.forms import (
    AppointmentTypeForm,
    AvailabilityExceptionForm,
    AvailabilityForm,
    OfferForm,
    StaffBookingForm,
    WorkingHoursFormSet,
)
from appointments.models import Appointment, AppointmentType, Availability, AvailabilityException, SlotOffer
from appointments.slots import compute_slots
from contacts.models import Person
from crm import outbox
from crm.access import RoleRequiredMixin, get_editable_or_403, get_visible_or_404, role_required
from crm.breadcrumbs import BreadcrumbMixin, crumb
from crm.history import history_rows
from crm.lists import FilteredListView, int_param
from crm.models import Team, managed_user_ids
from crm.roles import BOOKING_ROLES, Role, has_role

CALENDAR_FIRST_HOUR = 7
CALENDAR_LAST_HOUR = 20
OFFER_SLOT_DAYS = 14
OFFER_SLOT_LIMIT = 60


def _trail():
    return [crumb(gettext_lazy("Appointments"), "appointments:appointment_list")]


class AppointmentListView(FilteredListView):
    model = Appointment
    filterset_class = AppointmentFilter
    template_name = "appointments/appointment_list.html"
    table_template = "appointments/partials/appointment_table.html"
    sort_fields = {"start": ("start",), "customer": ("customer_name",), "host": ("host__last_name",), "status": ("status", "start")}
    default_sort = "-start"

    def base_queryset(self):
        return super().base_queryset().select_related("appointment_type", "host")

    def get_breadcrumbs(self):
        return [crumb(_("Appointments"))]


class AppointmentDetailView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    template_name = "appointments/appointment_detail.html"

    def get_object(self, queryset=None):
        return get_object_or_404(
            Appointment.objects.visible_to(self.request.user).select_related("appointment_type", "host", "person", "regarding_type"),
            pk=self.kwargs["pk"],
        )

    def get_breadcrumbs(self):
        return [*_trail(), crumb(str(self.object))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.object
        can_edit = Appointment.objects.editable_by(self.request.user).filter(pk=obj.pk).exists()
        regarding = None
        if obj.regarding_type_id and obj.regarding_id:
            model = obj.regarding_type.model_class()
            if model is not None:
                manager = model._default_manager
                qs = manager.visible_to(self.request.user) if hasattr(manager, "visible_to") else manager.none()
                regarding = qs.filter(pk=obj.regarding_id).first()
        context.update(
            can_edit=can_edit,
            regarding=regarding,
            manage_url=services.manage_url(obj) if can_edit and obj.status == Appointment.Status.BOOKED else "",
            reminders=list(obj.reminders.order_by("-offset")),
            emails=outbox.emails_about(obj),
            calendar_push=CalendarPush.objects.filter(appointment=obj).first(),
        )
        return context


@role_required()
def appointment_history(request, pk: int):
    appointment = get_visible_or_404(Appointment, request.user, pk=pk)
    offset = int_param(request, "offset")
    rows, has_more = history_rows(appointment, offset=offset)
    return render(
        request,
        "appointments/history.html",
        {
            "object": appointment,
            "rows": rows,
            "has_more": has_more,
            "next_offset": offset + len(rows),
            "breadcrumbs": [*_trail(), crumb(str(appointment), url=appointment.get_absolute_url()), crumb(_("History"))],
        },
    )


@require_POST
@role_required()
def appointment_outcome(request, pk: int):
    appointment = get_editable_or_403(Appointment, request.user, pk=pk)
    try:
        services.appointment_set_outcome(appointment=appointment, status=request.POST.get("status", ""))
    except ValueError:
        messages.error(request, _("The outcome can be recorded once the appointment has begun, and not for cancelled ones."))
    else:
        messages.success(request, _("Outcome saved: %(status)s.") % {"status": appointment.get_status_display()})
    return redirect(appointment)


@require_POST
@role_required()
def appointment_cancel(request, pk: int):
    appointment = get_editable_or_403(Appointment, request.user, pk=pk)
    services.appointment_cancel(appointment=appointment)
    messages.success(request, _("The appointment was cancelled; the customer was told."))
    return redirect("appointments:appointment_detail", pk=appointment.pk)


# Calendars -------------------------------------------------------------------------------------


def _calendar_day(request) -> date:
    raw = request.GET.get("date", "")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return timezone.localdate()


def _calendar_range(request):
    view = "day" if request.GET.get("view") == "day" else "week"
    day = _calendar_day(request)
    first = day if view == "day" else day - timedelta(days=day.weekday())
    days = [first + timedelta(days=i) for i in range(1 if view == "day" else 7)]
    zone = timezone.get_current_timezone()
    start = datetime.combine(days[0], time.min, tzinfo=zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=zone)
    step = timedelta(days=1 if view == "day" else 7)
    return view, days, start, end, first - step, first + step


def _appointments_between(host_ids, start, end):
    return list(
        Appointment.objects.filter(host_id__in=host_ids, start__lt=end, end__gt=start)
        .select_related("appointment_type")
        .order_by("start")
    )


@role_required()
def calendar(request):
    """Day or week of one user: a grid of hours by days."""
    users = get_user_model().objects.filter(is_active=True)
    host = get_object_or_404(users, pk=int_param(request, "user", request.user.pk))
    view, days, start, end, previous, following = _calendar_range(request)
    appointments = _appointments_between([host.pk], start, end)
    hours = list(range(CALENDAR_FIRST_HOUR, CALENDAR_LAST_HOUR))
    grid = {(d, h): [] for d in days for h in hours}
    early_or_late = []
    for appointment in appointments:
        local = timezone.localtime(appointment.start)
        key = (local.date(), local.hour)
        (grid[key] if key in grid else early_or_late).append(appointment)
    rows = [(h, [grid[(d, h)] for d in days]) for h in hours]
    context = {
        "host": host,
        "base_query": f"user={host.pk}",
        "view": view,
        "days": days,
        "rows": rows,
        "early_or_late": early_or_late,
        "previous": previous,
        "following": following,
        "today": timezone.localdate(),
        "colleagues": users.order_by("first_name", "last_name", "username").only("pk", "first_name", "last_name", "username"),
        "teams": Team.objects.all(),
        "breadcrumbs": [*_trail(), crumb(_("Calendar"))],
    }
    return render(request, "appointments/calendar.html", context)


@role_required()
def team_calendar(request):
    """Day or week of a team: members by days (week) or by hours (day)."""
    teams = Team.objects.all()
    team_id = int_param(request, "team")
    team = teams.filter(pk=team_id).first() if team_id else teams.filter(members=request.user).first() or teams.first()
    view, days, start, end, previous, following = _calendar_range(request)
    members = list(team.members.filter(is_active=True).order_by("first_name", "last_name", "username")) if team else []
    appointments = _appointments_between([m.pk for m in members], start, end)
    columns = days if view == "week" else list(range(CALENDAR_FIRST_HOUR, CALENDAR_LAST_HOUR))
    by_member = {m.pk: {c: [] for c in columns} for m in members}
    for appointment in appointments:
        local = timezone.localtime(appointment.start)
        column = local.date() if view == "week" else min(max(local.hour, CALENDAR_FIRST_HOUR), CALENDAR_LAST_HOUR - 1)
        if column in by_member[appointment.host_id]:
            by_member[appointment.host_id][column].append(appointment)
    rows = [(m, [by_member[m.pk][c] for c in columns]) for m in members]
    context = {
        "team": team,
        "base_query": f"team={team.pk}" if team else "",
        "teams": teams,
        "view": view,
        "days": days,
        "columns": columns,
        "rows": rows,
        "previous": previous,
        "following": following,
        "today": timezone.localdate(),
        "breadcrumbs": [*_trail(), crumb(_("Team calendar"))],
    }
    return render(request, "appointments/team_calendar.html", context)


# Appointment types -----------------------------------------------------------------------------


class AppointmentTypeListView(FilteredListView):
    model = AppointmentType
    filterset_class = AppointmentTypeFilter
    template_name = "appointments/type_list.html"
    table_template = "appointments/partials/type_table.html"
    sort_fields = {"name": ("name",), "duration": ("duration",)}
    default_sort = "name"

    def base_queryset(self):
        return super().base_queryset().select_related("host_user", "host_team")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        editable = set(AppointmentType.objects.editable_by(self.request.user).values_list("pk", flat=True))
        context["editable_ids"] = editable
        for kind in context["object_list"]:
            kind.booking_url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=kind)])
        return context

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("Appointment types"))]


class AppointmentTypeFormMixin(RoleRequiredMixin, BreadcrumbMixin):
    model = AppointmentType
    form_class = AppointmentTypeForm
    template_name = "appointments/type_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_success_url(self):
        return reverse("appointments:type_list")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Appointment type “%(name)s” saved.") % {"name": self.object.name})
        return response


class AppointmentTypeCreateView(AppointmentTypeFormMixin, CreateView):
    def get_initial(self):
        return {"host_user": self.request.user}

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("Appointment types"), "appointments:type_list"), crumb(_("New appointment type"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("New appointment type"), "cancel_url": reverse("appointments:type_list")}


class AppointmentTypeUpdateView(AppointmentTypeFormMixin, UpdateView):
    def get_object(self, queryset=None):
        return get_editable_or_403(AppointmentType, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("Appointment types"), "appointments:type_list"), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": self.object.name, "cancel_url": reverse("appointments:type_list")}


# Availability ----------------------------------------------------------------------------------


def _availability_owner(request):
    """The user whose availability is edited: oneself, or (admins, managers) someone they manage."""
    user_id = int_param(request, "user", request.user.pk)
    if user_id == request.user.pk:
        return request.user
    if not (has_role(request.user, Role.ADMIN) or user_id in managed_user_ids(request.user)):
        raise PermissionDenied
    return get_object_or_404(get_user_model(), pk=user_id, is_active=True)


@role_required()
def availability_edit(request):
    owner = _availability_owner(request)
    availability = services.availability_for(owner)
    form = AvailabilityForm(request.POST or None, instance=availability, prefix="a")
    formset = WorkingHoursFormSet(request.POST or None, instance=availability, prefix="hours")
    exception_form = AvailabilityExceptionForm(prefix="x")
    if request.method == "POST" and request.POST.get("action") == "exception":
        exception_form = AvailabilityExceptionForm(request.POST, prefix="x")
        form = AvailabilityForm(instance=availability, prefix="a")
        formset = WorkingHoursFormSet(instance=availability, prefix="hours")
        if exception_form.is_valid():
            exception = exception_form.save(commit=False)
            exception.user = owner
            exception.save()
            messages.success(request, _("Exception saved."))
            return redirect(request.get_full_path())
    elif request.method == "POST":
        if form.is_valid() and formset.is_valid():
            with transaction.atomic():
                form.save()
                formset.save()
            messages.success(request, _("Availability saved."))
            return redirect(request.get_full_path())
    feed_url = request.build_absolute_uri(reverse("appointments:calendar_feed", args=[availability.feed_token]))
    context = {
        "owner": owner,
        "form": form,
        "formset": formset,
        "exception_form": exception_form,
        "exceptions": AvailabilityException.objects.filter(user=owner, end__gte=timezone.now()).order_by("start")[:50],
        "feed_url": feed_url if owner == request.user or has_role(request.user, Role.ADMIN) else "",
        "breadcrumbs": [*_trail(), crumb(_("Availability"))],
    }
    return render(request, "appointments/availability_form.html", context)


@require_POST
@role_required()
def exception_delete(request, pk: int):
    exception = get_editable_or_403(AvailabilityException, request.user, pk=pk)
    owner_id = exception.user_id
    exception.delete()
    messages.success(request, _("Exception deleted."))
    url = reverse("appointments:availability_edit")
    return redirect(url if owner_id == request.user.pk else f"{url}?user={owner_id}")


# Offering times ----------------------------------------------------------------------------------


def _regarding(request):
    """The record an offer is about, from ?regarding=app_label.model:pk, if the user may see it."""
    raw = request.GET.get("regarding", "")
    if not raw or ":" not in raw or "." not in raw:
        return None
    label, _sep, pk = raw.partition(":")
    app_label, _dot, model_name = label.partition(".")
    if not pk.isdigit():
        raise Http404
    try:
        content_type = ContentType.objects.get_by_natural_key(app_label, model_name)
    except ContentType.DoesNotExist as error:
        raise Http404 from error
    model = content_type.model_class()
    if model is None or not hasattr(model._default_manager, "visible_to"):
        raise Http404
    return get_object_or_404(model._default_manager.visible_to(request.user), pk=int(pk))


def _offer_slot_choices(appointment_type, zone):
    now = timezone.now()
    slots = compute_slots(appointment_type=appointment_type, start=now, end=now + timedelta(days=OFFER_SLOT_DAYS))
    choices = []
    for slot in slots[:OFFER_SLOT_LIMIT]:
        local = slot.start.astimezone(zone)
        choices.append((f"{slot.start.isoformat()}|{slot.host_ids[0]}", date_format(local, "D d.m. H:i")))
    return choices


@role_required()
def offer_create(request):
    person_id = int_param(request, "person")
    person = get_visible_or_404(Person, request.user, pk=person_id) if person_id else None
    regarding = _regarding(request)
    types = AppointmentType.objects.active()
    type_id = request.POST.get("appointment_type") or request.GET.get("type")
    chosen_type = types.filter(pk=type_id).first() if str(type_id or "").isdigit() else None
    if chosen_type is None:
        chosen_type = types.filter(host_user=request.user).first() or types.first()
    initial = {"appointment_type": chosen_type, "language": "de"}
    if person is not None:
        initial.update(customer_name=person.full_name, customer_email=person.email, language=getattr(person, "preferred_language", "de") or "de")
    zone = timezone.get_current_timezone()
    slot_choices = _offer_slot_choices(chosen_type, zone) if chosen_type else []
    form = OfferForm(request.POST or None, initial=initial, slot_choices=slot_choices)
    if request.method == "POST" and request.POST.get("action") == "send" and form.is_valid():
        data = form.cleaned_data
        services.offer_create(
            appointment_type=data["appointment_type"],
            mode=data["mode"],
            customer_name=data["customer_name"],
            customer_email=data["customer_email"],
            customer_time_zone=data["customer_time_zone"],
            language=data["language"],
            slots=form.chosen_slots() if data["mode"] == SlotOffer.Mode.SLOTS else [],
            message=data["message"],
            person=person,
            regarding=regarding,
            created_by=request.user,
        )
        messages.success(request, _("The times were sent to %(email)s.") % {"email": data["customer_email"]})
        target = regarding or person
        return redirect(target.get_absolute_url() if target is not None else reverse("appointments:appointment_list"))
    if request.method == "POST" and request.POST.get("action") != "send":
        # Another appointment type was chosen: show its times, keep what was typed, no errors yet.
        form = OfferForm(initial={**initial, **request.POST.dict(), "appointment_type": chosen_type}, slot_choices=slot_choices)
    trail = _trail()
    if person is not None:
        trail = [crumb(_("People"), "contacts:person_list"), crumb(person.full_name, url=person.get_absolute_url())]
    elif regarding is not None:
        trail = [crumb(str(regarding), url=regarding.get_absolute_url())]
    context = {
        "form": form,
        "person": person,
        "regarding": regarding,
        "chosen_type": chosen_type,
        "breadcrumbs": [*trail, crumb(_("Offer times"))],
    }
    return render(request, "appointments/offer_form.html", context)


# Entering a fixed appointment ----------------------------------------------------------------------

def _bookable_hosts(user):
    """Whose time the user may fill: their own, their team members' when they lead a team, and
    everybody's for admins (the rule for changing an appointment, Appointment.editable_by)."""
    users = get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name", "username")
    return users if has_role(user, Role.ADMIN) else users.filter(pk__in=managed_user_ids(user))


@role_required(*BOOKING_ROLES)
def appointment_enter(request):
    person_id = int_param(request, "person")
    person = get_visible_or_404(Person, request.user, pk=person_id) if person_id else None
    hosts = _bookable_hosts(request.user)
    types = AppointmentType.objects.active()
    initial = {"host": request.user.pk, "person": person.pk if person else None,
               "appointment_type": types.filter(host_user=request.user).first()}
    form = StaffBookingForm(request.POST or None, initial=initial, people=Person.objects.visible_to(request.user), hosts=hosts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_enter(
                appointment_type=data["appointment_type"], host=data["host"], start=data["start"], person=data["person"],
                created_by=request.user, note=data["note"], override=data["override"],
            )
        except services.HostNotFree:
            form.add_error("start", _(
                "%(host)s is not free then (outside their working hours, an absence, a busy time in their calendar, "
                "too short notice or another appointment). Choose another time, or book outside the free times."
            ) % {"host": data["host"].get_full_name() or data["host"]})
        except services.SlotTaken:
            form.add_error("start", _("%(host)s has another appointment at this time.") % {
                "host": data["host"].get_full_name() or data["host"]})
        else:
            messages.success(request, _("The appointment is booked; %(email)s gets the invitation.") % {
                "email": appointment.customer_email})
            return redirect(appointment)
    trail = _trail()
    if person is not None:
        trail = [crumb(_("People"), "contacts:person_list"), crumb(person.full_name, url=person.get_absolute_url())]
    context = {
        "form": form,
        "title": _("Book an appointment"),
        "cancel_url": person.get_absolute_url() if person else reverse("appointments:appointment_list"),
        "breadcrumbs": [*trail, crumb(_("Book an appointment"))],
    }
    return render(request, "appointments/appointment_enter.html", context)


# Calendar feed ---------------------------------------------------------------------------------


def calendar_feed(request, token: str):
    """The host's appointments as iCalendar, for Outlook or Google (secret URL, no login)."""
    availability = Availability.objects.select_related("user").filter(feed_token=token).first()
    if availability is None or not availability.user.is_active:
        raise Http404
    now = timezone.now()
    appointments = (
        Appointment.objects.filter(host=availability.user, start__gte=now - timedelta(days=90), start__lte=now + timedelta(days=366))
        .select_related("appointment_type", "host")
        .order_by("start")[:2000]
    )
    name = _("Appointments of %(name)s") % {"name": availability.user.get_full_name() or availability.user.username}
    body = ics.feed(appointments, name=name, zone_name=availability.time_zone)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="termine.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
