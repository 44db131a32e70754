"""Celery tasks of marketing: thin, idempotent wrappers around the sending services."""

from celery import shared_task
from django.conf import settings

from marketing.sending import TransientSendError


@shared_task
def prepare_send(campaign_id: int) -> int:
    """Make the recipient list of a started send and queue its batches (idempotent)."""
    from marketing.services import campaign_prepare_send

    return campaign_prepare_send(campaign_id=campaign_id)


# The rows' attempts end the retries (each failed run counts one on the rows it could not send,
# and a row fails after CRM_EMAIL_MAX_ATTEMPTS); this bound is only a safety net, and beat
# (sends_resume_stalled) queues any batch with rows due again.
@shared_task(bind=True, max_retries=50)
def send_batch(self, campaign_id: int, batch: int) -> int:
    """Send one batch; safe to run twice or concurrently (rows are claimed one owner at a time)."""
    from crm.outbox import backoff_seconds
    from marketing.sending import send_batch as send

    try:
        return send(campaign_id=campaign_id, batch=batch)
    except TransientSendError as error:
        if self.request.is_eager:
            # Run in place (tests, no worker): no waiting for a retry here; the rows keep their
            # due time and beat takes them up.
            return 0
        countdown = error.retry_in or backoff_seconds(self.request.retries + 1)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def sends_resume_stalled() -> int:
    """Periodic: give back the rows of killed senders and queue every batch that has rows due."""
    from marketing.services import campaign_resume_stalled

    return campaign_resume_stalled(stale_seconds=getattr(settings, "MARKETING_CLAIM_STALE_SECONDS", 120))
