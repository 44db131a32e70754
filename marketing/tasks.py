"""Celery tasks of marketing: thin, idempotent wrappers around the sending services."""

from celery import shared_task
from django.conf import settings

from marketing.sending import TransientSendError


@shared_task
def prepare_send(campaign_id: int) -> int:
    """Make the recipient list of a started send and queue its batches (idempotent)."""
    from marketing.services import campaign_prepare_send

    return campaign_prepare_send(campaign_id=campaign_id)


@shared_task(bind=True, max_retries=8)
def send_batch(self, campaign_id: int, batch: int) -> int:
    """Send one batch; safe to run twice or concurrently (rows are claimed one owner at a time)."""
    from marketing.sending import send_batch as send

    try:
        return send(campaign_id=campaign_id, batch=batch)
    except TransientSendError as error:
        # Exponential backoff: 5 s, 10 s, 20 s ... capped at 10 minutes.
        raise self.retry(exc=error, countdown=min(600, 5 * 2**self.request.retries)) from error


@shared_task
def sends_resume_stalled() -> int:
    """Periodic: give back the rows of killed senders and queue every batch that still has work."""
    from marketing.services import campaign_resume_stalled

    return campaign_resume_stalled(stale_seconds=getattr(settings, "MARKETING_CLAIM_STALE_SECONDS", 120))
