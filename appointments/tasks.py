"""Celery tasks of the appointments app: thin, idempotent wrappers around services."""

from celery import shared_task

from appointments import services


@shared_task
def reminders_send_due() -> int:
    """Periodic (every minute): each reminder is claimed in the database before it is sent."""
    return services.reminders_send_due()
