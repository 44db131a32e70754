"""Celery tasks of the service app: thin, idempotent wrappers around services."""

from celery import shared_task

from service import services


@shared_task(acks_late=True)
def sla_escalate() -> int:
    """Periodic: warn before SLA breaches and escalate after them, once per ticket and stage."""
    return services.sla_escalate()


@shared_task(acks_late=True)
def portal_link_send(email: str) -> bool:
    """The sign-in form's request: mail a link if the address is a portal customer's. Takes the
    address, not an id: the request must not look it up (that would tell who is a customer)."""
    return services.portal_link_send(email=email)
