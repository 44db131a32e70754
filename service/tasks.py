"""Celery tasks of the service app: thin, idempotent wrappers around services."""

from celery import shared_task

from service import services


@shared_task(acks_late=True)
def sla_escalate() -> int:
    """Periodic: warn before SLA breaches and escalate after them, once per ticket and stage."""
    return services.sla_escalate()
