"""Start page widget of appointments: the user's appointments today."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from appointments.models import Appointment

WIDGET_ROWS = 10


def today_bounds() -> tuple[datetime, datetime]:
    """The start of today and of tomorrow in the current time zone."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    return start, timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def my_appointments_today(user) -> dict:
    """The user's appointments of today that are not cancelled, in time order; held ones stay
    (the day at a glance), those already over are marked by the template."""
    start, end = today_bounds()
    qs = (
        Appointment.objects.visible_to(user).active().filter(host=user, start__gte=start, start__lt=end)
        .select_related("appointment_type", "person")
        .only("id", "start", "end", "status", "customer_name", "appointment_type__name", "appointment_type__location_kind",
              "person__id", "person__first_name", "person__last_name", "person__academic_title")
        .order_by("start", "pk")
    )
    rows = list(qs[: WIDGET_ROWS + 1])
    return {"appointments": rows[:WIDGET_ROWS], "more": len(rows) > WIDGET_ROWS, "now": timezone.now(), "day": start.date()}
