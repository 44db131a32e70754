"""Appointments on a person's or organization's timeline (one query)."""

from django.utils.translation import gettext as _

from appointments.models import Appointment
from crm.timeline import TimelineEntry


def appointment_entries(*, user, person=None, organization=None, before=None, limit: int):
    qs = Appointment.objects.visible_to(user).about(person=person, organization=organization)
    if before is not None:
        qs = qs.filter(start__lt=before)
    qs = qs.select_related("appointment_type", "host").order_by("-start", "-pk")[:limit]
    return [
        TimelineEntry(
            when=appointment.start,
            kind="appointment",
            kind_label=_("Appointment"),
            icon="calendar-event",
            title=f"{appointment.appointment_type.name} ({appointment.get_status_display()})",
            body=appointment.note,
            url=appointment.get_absolute_url(),
            actor=appointment.host.get_full_name() or appointment.host.username,
        )
        for appointment in qs
    ]
