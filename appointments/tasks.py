"""Celery tasks of the appointments app: thin, idempotent wrappers around services."""

from celery import shared_task

from appointments import services
from appointments.models import Appointment


@shared_task(acks_late=True)
def appointment_notify(appointment_id: int, event: str) -> None:
    appointment = Appointment.objects.select_related("appointment_type", "host").filter(pk=appointment_id).first()
    if appointment is not None:
        services.appointment_notify(appointment=appointment, event=event)


@shared_task
def reminders_send_due() -> int:
    """Periodic (every minute): each reminder is claimed in the database before it is sent."""
    return services.reminders_send_due()
