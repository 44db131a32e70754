"""Celery tasks of the sales app: thin, idempotent wrappers (each claims its work first)."""

from celery import shared_task

from sales import automation


@shared_task(acks_late=True)
def run_deal_stage_rules(deal_id: int, stage_id: int, event_key: str) -> int:
    return automation.deal_stage_event_process(deal_id=deal_id, stage_id=stage_id, event_key=event_key)


@shared_task(acks_late=True)
def run_lead_status_rules(lead_id: int, status: str, event_key: str) -> int:
    return automation.lead_status_event_process(lead_id=lead_id, status=status, event_key=event_key)


@shared_task(acks_late=True)
def send_task_reminders() -> int:
    """Periodic (every minute): reminders for tasks that fell due."""
    return automation.reminders_send()


@shared_task(acks_late=True)
def deals_convert(currency: str | None = None) -> int:
    """After an exchange rate of `currency` changed, and every six hours for all (idempotent)."""
    from sales.services import deals_convert as convert

    return convert(currencies=[currency] if currency else None)
