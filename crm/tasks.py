"""Celery tasks of the shared machinery: delivery of the outbox (crm.outbox)."""

from celery import shared_task

from crm import outbox


@shared_task(bind=True, acks_late=True, max_retries=None)
def email_deliver(self, email_id: int) -> str | None:
    """One delivery attempt; after a temporary failure the task comes back with exponential
    backoff (the row counts the tries and decides when to give up). Run eagerly there is no
    broker to hold a delayed retry: the row stays queued for `emails_resume`."""
    attempt = outbox.email_deliver(email_id=email_id)
    if attempt.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=attempt.retry_in)
    return attempt.state


@shared_task(acks_late=True)
def emails_resume() -> int:
    """Periodic: queue again what a lost task or a killed worker left behind."""
    return outbox.emails_resume()


@shared_task(acks_late=True)
def idempotency_keys_purge() -> int:
    """Periodic: forget the API's Idempotency-Keys older than CRM_API_IDEMPOTENCY_HOURS."""
    from crm.api.idempotency import idempotency_keys_purge as purge

    return purge()


@shared_task(acks_late=True)
def webhooks_deliver(endpoint_id: int) -> int:
    """Send what is due to one endpoint; a batch cut short at its limit queues the next."""
    from crm.webhooks import delivery

    run = delivery.deliver_endpoint(endpoint_id)
    if run.more:
        webhooks_deliver.delay(endpoint_id)
    return run.delivered


@shared_task(acks_late=True)
def webhooks_purge() -> int:
    """Periodic: delete old webhook events and their delivery log (crm.webhooks.delivery)."""
    from crm.webhooks import delivery

    return delivery.webhooks_purge()


@shared_task
def webhooks_resume() -> int:
    """Periodic: deliver what a lost task, a dead worker or a broker that was down left behind,
    and what waited for its backoff."""
    from crm.webhooks import delivery

    ids = delivery.webhooks_resume()
    for pk in ids:
        webhooks_deliver.delay(pk)
    return len(ids)
