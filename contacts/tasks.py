"""Celery tasks of the contacts app: thin, idempotent wrappers around services."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from contacts.models import ImportJob
from contacts.services import importing

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def import_run(job_id: int) -> None:
    """Run a queued CSV import. A second delivery of the same job does nothing (the service claims the job)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        importing.import_run(job=job)


@shared_task
def imports_resume_stalled() -> int:
    """Periodic (every minute) and at every worker start: put imports whose worker died back on the queue."""
    ids = importing.imports_resume_stalled()
    for job_id in ids:
        import_run.delay(job_id)
    return len(ids)


@shared_task(acks_late=True)
def mailbox_sync(connection_id: int) -> None:
    """Sync one mailbox. Safe to run twice or after a killed worker: a second run at the same time
    does nothing, a later one continues where the committed batches end."""
    from contacts.mailboxes import sync
    from contacts.mailboxes.models import MailboxConnection

    connection = MailboxConnection.objects.select_related("user").filter(pk=connection_id).first()
    if connection is not None:
        sync.mailbox_sync(connection=connection)


@shared_task
def mailboxes_sync() -> int:
    """Periodic (CRM_MAILBOX_SYNC_SECONDS): queue the sync of every mailbox that is not paused."""
    from contacts.mailboxes import sync

    ids = sync.mailboxes_due()
    for connection_id in ids:
        mailbox_sync.delay(connection_id)
    return len(ids)


@worker_ready.connect
def _resume_imports_on_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts (typically the one replacing a killed worker) resumes dead imports at
    once, without waiting for beat, which may not even run. Queued as a task, so that the worker's
    start never waits for the database."""
    try:
        imports_resume_stalled.delay()
    except Exception:  # a worker must start even when the broker hiccups; beat tries again
        logger.exception("Could not queue the resumption of stalled imports at worker start")


# Retries of a failing address book server, with backoff; after them beat tries every few minutes.
ADDRESSBOOK_RETRIES = 6


@shared_task(bind=True, acks_late=True, max_retries=ADDRESSBOOK_RETRIES)
def addressbook_push(self, connection_id: int) -> int:
    """Push one address book. Safe to run twice: a second run at the same time does nothing, a
    later one writes only what still differs. More waiting than one batch: the next is queued."""
    from django.conf import settings

    from contacts.addressbooks import sync

    result = sync.addressbook_push(connection_id=connection_id)
    if result is None:
        return 0
    if result.failed:
        # Run eagerly (tests, no worker) there is no broker to hold a delayed retry: beat takes it up.
        if not self.request.is_eager and self.request.retries < ADDRESSBOOK_RETRIES:
            base = settings.CRM_ADDRESSBOOK_RETRY_SECONDS
            raise self.retry(countdown=min(3600, base * 2 ** self.request.retries))
        return 0
    if result.waiting:
        addressbook_push.delay(connection_id)
    return result.pushed + result.deleted


@shared_task
def addressbooks_push() -> int:
    """Periodic (CRM_ADDRESSBOOK_SYNC_SECONDS), and soon after a person changed: queue the push of
    every address book that is not paused."""
    from contacts.addressbooks import sync

    ids = sync.connections_due()
    for connection_id in ids:
        addressbook_push.delay(connection_id)
    return len(ids)
