"""Celery tasks of the contacts app: thin, idempotent wrappers around services."""

from celery import shared_task

from contacts.models import ImportJob
from contacts.services import importing


@shared_task(acks_late=True)
def import_run(job_id: int) -> None:
    """Run a queued CSV import. A second delivery of the same job does nothing (the service claims the job)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        importing.import_run(job=job)
