"""Celery tasks of the appointments app: thin, idempotent wrappers around services."""

from celery import shared_task

from appointments import services


@shared_task
def reminders_send_due() -> int:
    """Periodic (every minute): each reminder is claimed in the database before it is sent."""
    return services.reminders_send_due()


@shared_task(acks_late=True)
def calendar_push(appointment_id: int) -> None:
    """Write one appointment to its host's calendar; a failure is kept and retried by the beat."""
    from appointments.calendars import sync

    sync.appointment_push(appointment_id=appointment_id)


@shared_task(acks_late=True)
def calendar_sync(connection_id: int) -> None:
    """Read one user's calendar: busy times, and appointments moved or deleted there."""
    from appointments.calendars import sync
    from appointments.calendars.models import CalendarConnection

    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is not None:
        sync.calendar_sync(connection=connection)


@shared_task
def calendars_sync() -> int:
    """Periodic (CRM_CALENDAR_SYNC_SECONDS): retry the pushes that wait or failed, then read every
    calendar that is not paused."""
    from appointments.calendars import sync

    for appointment_id in sync.pushes_due():
        calendar_push.delay(appointment_id)
    ids = sync.connections_due()
    for connection_id in ids:
        calendar_sync.delay(connection_id)
    return len(ids)
