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


@shared_task
def imports_resume_stalled() -> int:
    """Periodic: put imports whose worker died back on the queue."""
    ids = importing.imports_resume_stalled()
    for job_id in ids:
        import_run.delay(job_id)
    return len(ids)


@shared_task
def import_files_purge() -> int:
    """Periodic: delete uploaded CSV files 30 days after their import finished."""
    return importing.import_files_purge()
