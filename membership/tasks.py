"""Celery tasks of the membership app: thin, idempotent wrappers around services."""

from celery import shared_task

from membership import services


@shared_task
def members_end_due() -> int:
    """Periodic: members whose resignation (or other end) has taken effect become ended."""
    return services.members_end_due()
