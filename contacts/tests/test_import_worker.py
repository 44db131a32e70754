"""The import as production runs it: a real Celery worker process, Redis as broker, Postgres.

The worker is a separate process with the production settings, pointed at this test database;
the data must be committed for it to see anything, hence a transactional test.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.models import Employment, ImportJob, Organization, Person
from contacts.services import importing
from contacts.tasks import import_run
from crm.celery import app
from crm.tests.processes import celery_workers

# The worker runs in another process, on the real clock; so does this test (conftest.FROZEN_AT).
pytestmark = [pytest.mark.services, pytest.mark.real_clock]

# The run's own Redis broker when it has one (each engineer has a database of their own), else database 15.
_RUN_BROKER = os.environ.get("CELERY_BROKER_URL", "")
BROKER_URL = _RUN_BROKER if _RUN_BROKER.startswith("redis://") else "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 60
ROWS = 300


@pytest.fixture
def start_worker(tmp_path, settings):
    """`start_worker(name, **env)` starts a Celery worker process on the test's own queue and
    returns it with its log; all are stopped after the test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    with celery_workers(tmp_path, BROKER_URL, prefix="import", env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)}) as workers:

        def start(name: str = "worker", **extra_env) -> tuple[subprocess.Popen, Path]:
            return workers.start(name, **extra_env), workers.log_path(name)

        yield start, workers.queue


@pytest.fixture
def worker(start_worker):
    """One Celery worker on its own queue."""
    start, queue = start_worker
    process, log_path = start()
    return process, queue, log_path


def _people_csv(rows: int) -> SimpleUploadedFile:
    lines = ["Vorname;Nachname;E-Mail;Firma;Position"] + [
        f"Vor{i};Nach{i};person{i}@example.de;Firma {i % 10} GmbH;Einkauf" for i in range(rows)
    ]
    lines.append(";;kaputt@;;")  # rejected: no last name, bad email
    return SimpleUploadedFile("worker.csv", "\n".join(lines).encode())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_queued_import(worker):
    process, queue, log_path = worker
    user = get_user_model().objects.create_user("worker-importer", password="x-for-tests-123")
    upload = _people_csv(ROWS)
    info = importing.inspect_csv(upload, name=upload.name, size=upload.size)
    job = importing.import_create(target="person", upload=upload, info=info, user=user)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)

    with app.connection_for_write(BROKER_URL) as broker:
        import_run.apply_async(args=[job.pk], queue=queue, connection=broker)

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        if process.poll() is not None:
            pytest.fail(f"the worker stopped (exit {process.returncode}):\n{log_path.read_text()[-4000:]}")
        time.sleep(0.25)
    else:
        pytest.fail(f"the import did not finish within {WAIT_SECONDS} s (status {job.status}):\n{log_path.read_text()[-4000:]}")

    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created_count, job.skipped_count, job.rejected_count) == (ROWS, 0, 1)
    assert job.errors[0]["line"] == ROWS + 2
    assert Person.objects.count() == ROWS
    assert Organization.objects.count() == 10
    assert Employment.objects.count() == ROWS
    assert Person.objects.get(email="person7@example.de").employments.get().organization.name == "Firma 7 GmbH"
    assert "import_run" in log_path.read_text()


KILL_ROWS = 30_000  # 30 chunks: long enough to kill the worker between two of them
STALLED_SECONDS = 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_whose_worker_is_killed_resumes_when_a_worker_starts_and_stores_each_line_once(start_worker):
    start, queue = start_worker
    user = get_user_model().objects.create_user("killed-importer", password="x-for-tests-123")
    upload = _people_csv(KILL_ROWS)
    info = importing.inspect_csv(upload, name=upload.name, size=upload.size)
    job = importing.import_create(target="person", upload=upload, info=info, user=user)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, heartbeat_at=timezone.now())
    first, first_log = start("first", CRM_IMPORT_STALLED_SECONDS=str(STALLED_SECONDS))
    with app.connection_for_write(BROKER_URL) as broker:
        import_run.apply_async(args=[job.pk], queue=queue, connection=broker)

    # Kill the worker (no shutdown, no acknowledgement) once some chunks are committed.
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.written_rows >= 2 * importing.CHUNK_SIZE or job.is_finished or first.poll() is not None:
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING, f"not killed mid-import ({job.status}):\n{first_log.read_text()[-3000:]}"
    assert 0 < job.written_rows < KILL_ROWS
    written_before = job.written_rows
    assert Person.objects.count() == written_before  # the chunk being written was rolled back

    time.sleep(STALLED_SECONDS + 1)  # the heartbeat goes stale
    second, second_log = start("second", CRM_IMPORT_STALLED_SECONDS=str(STALLED_SECONDS))  # no beat: the start resumes it

    started = time.monotonic()
    while time.monotonic() < started + WAIT_SECONDS:
        job.refresh_from_db()
        if job.is_finished:
            break
        if second.poll() is not None:
            pytest.fail(f"the worker stopped (exit {second.returncode}):\n{second_log.read_text()[-4000:]}")
        time.sleep(0.25)
    else:
        pytest.fail(f"the import was not resumed within {WAIT_SECONDS} s (status {job.status}):\n{second_log.read_text()[-4000:]}")

    assert job.status == ImportJob.Status.DONE, job.message
    assert job.interruptions == 1
    assert (job.created_count, job.skipped_count, job.rejected_count, job.written_rows) == (KILL_ROWS, 0, 1, KILL_ROWS)
    assert Person.objects.count() == KILL_ROWS
    assert Person.objects.values("email").distinct().count() == KILL_ROWS
    assert Employment.objects.count() == KILL_ROWS
    assert Organization.objects.count() == 10
