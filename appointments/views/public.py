"""The customer's pages: no login, reached by signed links, German or English, own plain layout."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from appointments import services
from appointments.forms import BookingForm, zone_or_default
from appointments.models import Appointment, AppointmentType, SlotOffer, time_zone_choices
from appointments.slots import compute_slots, slots_by_day
from crm.ratelimit import rate_limit

DAYS_SHOWN = 7


def _activate_language(request) -> str:
    requested = request.GET.get("lang") or request.POST.get("lang") or ""
    codes = {code for code, _name in settings.LANGUAGES}
    language = requested if requested in codes else (translation.get_language() or "de")[:2]
    if language not in codes:
        language = "de"
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def _first_day(request, zone, earliest: datetime) -> date:
    try:
        day = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        day = None
    try:
        # After a failed attempt: the days from the one the customer had chosen.
        day = day or datetime.fromisoformat(request.POST.get("slot", "")).astimezone(zone).date()
    except ValueError:
        pass  # no readable earlier choice: start from the first possible day
    first_possible = earliest.astimezone(zone).date()
    return max(day, first_possible) if day else first_possible


def _week_of_slots(request, appointment_type, zone, *, host_ids=None, exclude_appointment=None):
    now = timezone.now()
    earliest = now + timedelta(minutes=appointment_type.min_notice)
    latest = now + timedelta(days=appointment_type.max_days_ahead)
    first = _first_day(request, zone, earliest)
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(first + timedelta(days=DAYS_SHOWN), time.min, tzinfo=zone)
    slots = compute_slots(
        appointment_type=appointment_type, start=start, end=end, host_ids=host_ids, exclude_appointment=exclude_appointment
    )
    # Strings made here, not in the template: a team's week has hundreds of buttons.
    chosen = request.POST.get("slot", "")
    days = []
    for day, day_slots in slots_by_day(slots, zone):
        buttons = []
        for slot in day_slots:
            value = slot.start.isoformat()
            buttons.append({
                "value": value,
                "id": f"slot-{int(slot.start.timestamp())}",
                "label": slot.start.astimezone(zone).strftime("%H:%M"),
                "checked": value == chosen,
            })
        days.append((day, buttons))
    first_possible = earliest.astimezone(zone).date()
    return {
        "days": days,
        "first_day": first,
        "last_day": first + timedelta(days=DAYS_SHOWN - 1),
        "previous_day": max(first - timedelta(days=DAYS_SHOWN), first_possible) if first > first_possible else None,
        "next_day": first + timedelta(days=DAYS_SHOWN) if end < latest else None,
    }


def _rate_limited_context(request) -> dict:
    return {"language": _activate_language(request), "page_title": _("Too many requests")}


# Booking, picking an offered time, moving and cancelling: posts per client (crm.ratelimit).
booking_rate_limit = rate_limit(
    "appointments-booking", limit="APPOINTMENTS_BOOKING_RATE_LIMIT", frame="appointments/public/base.html",
    context=_rate_limited_context,
)


@lru_cache(maxsize=64)
def _zone_options(selected: str) -> str:
    """The ~430 <option>s of the time zone select, built once per selected zone (a template loop costs ~15 ms)."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        # A constant attribute, not user input.
        ((v, mark_safe(" selected") if v == selected else "", label) for v, label in time_zone_choices()),  # nosec B308
    )


def _common(request, language, zone) -> dict:
    # Template date filters show times in the active zone: the customer's.
    timezone.activate(zone)
    return {
        "language": language,
        "zone_name": zone.key,
        "zone_options": _zone_options(zone.key),
        "other_language": "en" if language == "de" else "de",
        "tz_from_browser": "tz" not in request.GET,
    }


def _load_booking(token: str):
    try:
        payload = signing.loads(token, salt=services.BOOKING_SALT)
    except signing.BadSignature as error:
        raise Http404 from error
    appointment_type = get_object_or_404(AppointmentType.objects.select_related("host_user", "host_team"), pk=payload.get("t"), is_active=True)
    offer = None
    if payload.get("o"):
        offer = SlotOffer.objects.filter(pk=payload["o"], expires_at__gt=timezone.now()).first()
        if offer is None:
            raise Http404
    return appointment_type, offer


@never_cache
@booking_rate_limit
def public_book(request, token: str):
    """The booking page: free times of one appointment type, in the customer's time zone."""
    language = _activate_language(request)
    appointment_type, offer = _load_booking(token)
    zone = zone_or_default(request.POST.get("tz") or request.GET.get("tz"), offer.customer_time_zone if offer else "Europe/Berlin")
    initial = {"name": offer.customer_name, "email": offer.customer_email} if offer else {}
    form = BookingForm(request.POST or None, initial=initial)
    taken = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_book(
                appointment_type=appointment_type,
                start=data["slot"],
                customer_name=data["name"],
                customer_email=data["email"],
                customer_time_zone=zone.key,
                note=data["note"],
                language=language,
                person=offer.person if offer else None,
                regarding=offer.regarding if offer and offer.regarding_type_id else None,
                offer=offer,
            )
        except services.SlotTaken:
            taken = True
        else:
            return redirect(reverse("appointments:public_done", args=[services.manage_token(appointment)]) + f"?lang={language}")
    context = {
        **_common(request, language, zone),
        **_week_of_slots(request, appointment_type, zone),
        "appointment_type": appointment_type,
        "form": form,
        "taken": taken,
        "token": token,
        "offer": offer,
        "page_title": appointment_type.name,
    }
    return render(request, "appointments/public/book.html", context, status=409 if taken else 200)


@never_cache
@booking_rate_limit
def public_offer_slot(request, token: str):
    """One proposed time from an email: one button confirms it."""
    language = _activate_language(request)
    try:
        payload = signing.loads(token, salt=services.SLOT_SALT)
        start = datetime.fromisoformat(payload["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise Http404 from error
    offer = get_object_or_404(SlotOffer.objects.select_related("appointment_type"), pk=payload.get("o"), expires_at__gt=timezone.now())
    appointment_type = offer.appointment_type
    zone = zone_or_default(offer.customer_time_zone)
    data = None
    if request.method == "POST":
        data = request.POST.copy()
        data["slot"] = start.isoformat()  # the time is the link's, not the form's
    form = BookingForm(data, initial={"name": offer.customer_name, "email": offer.customer_email, "slot": start.isoformat()})
    taken = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_book(
                appointment_type=appointment_type,
                start=start,
                customer_name=data["name"],
                customer_email=data["email"],
                customer_time_zone=zone.key,
                note=data["note"],
                language=language,
                person=offer.person,
                host_ids=[payload["h"]],
                regarding=offer.regarding if offer.regarding_type_id else None,
                offer=offer,
            )
        except services.SlotTaken:
            taken = True
        else:
            return redirect(reverse("appointments:public_done", args=[services.manage_token(appointment)]) + f"?lang={language}")
    context = {
        **_common(request, language, zone),
        "appointment_type": appointment_type,
        "offer": offer,
        "form": form,
        "taken": taken,
        "local_start": start.astimezone(zone),
        "local_end": (start + timedelta(minutes=appointment_type.duration)).astimezone(zone),
        "booking_url": reverse("appointments:public_book", args=[services.booking_token(appointment_type=appointment_type, offer=offer)]),
        "page_title": appointment_type.name,
    }
    return render(request, "appointments/public/offer_slot.html", context, status=409 if taken else 200)


def _load_appointment(token: str) -> Appointment:
    try:
        payload = signing.loads(token, salt=services.MANAGE_SALT)
    except signing.BadSignature as error:
        raise Http404 from error
    return get_object_or_404(Appointment.objects.select_related("appointment_type", "host"), pk=payload.get("a"), uid=payload.get("u"))


@never_cache
def public_done(request, token: str):
    language = _activate_language(request)
    appointment = _load_appointment(token)
    zone = appointment.customer_zone
    context = {
        **_common(request, language, zone),
        "appointment": appointment,
        "local_start": appointment.start.astimezone(zone),
        "local_end": appointment.end.astimezone(zone),
        "manage_url": reverse("appointments:public_manage", args=[token]),
        "page_title": _("Your appointment is booked"),
    }
    return render(request, "appointments/public/done.html", context)


@never_cache
@booking_rate_limit
def public_manage(request, token: str):
    """The customer's link from the confirmation: see, move or cancel the appointment."""
    language = _activate_language(request)
    appointment = _load_appointment(token)
    zone = zone_or_default(request.POST.get("tz") or request.GET.get("tz"), appointment.customer_time_zone)
    taken = False
    message = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "cancel" and appointment.status == Appointment.Status.BOOKED:
            appointment = services.appointment_cancel(appointment=appointment)
            message = _("Your appointment was cancelled. You will receive a confirmation by email.")
        elif action == "reschedule" and appointment.status == Appointment.Status.BOOKED:
            form = BookingForm({"slot": request.POST.get("slot", ""), "name": appointment.customer_name, "email": appointment.customer_email})
            if form.is_valid():
                try:
                    appointment = services.appointment_reschedule(appointment=appointment, start=form.cleaned_data["slot"])
                except services.SlotTaken:
                    taken = True
                else:
                    message = _("Your appointment was moved. You will receive an updated invitation by email.")
            else:
                taken = True
    can_change = appointment.status == Appointment.Status.BOOKED and appointment.start > timezone.now()
    context = {
        **_common(request, language, zone),
        "appointment": appointment,
        "local_start": appointment.start.astimezone(zone),
        "local_end": appointment.end.astimezone(zone),
        "can_change": can_change,
        "taken": taken,
        "message": message,
        "token": token,
        "page_title": _("Your appointment"),
    }
    if can_change:
        context.update(_week_of_slots(request, appointment.appointment_type, zone, host_ids=[appointment.host_id], exclude_appointment=appointment))
    return render(request, "appointments/public/manage.html", context, status=409 if taken else 200)
