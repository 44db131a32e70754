"""An import whose worker died: found by its stale heartbeat within minutes, resumed after the
committed lines, every line stored once, and the page says so meanwhile.

The real thing (a worker process killed with SIGKILL) is in test_import_worker.py."""

import dataclasses
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import Employment, ImportJob, Person
from contacts.services import importing
from contacts.tasks import import_run as import_run_task
from contacts.tasks import imports_resume_stalled as imports_resume_stalled_task
from crm.roles import Role

ROWS = 230


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so the run cannot record a failure."""


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def importer(role_users):
    return role_users[Role.MARKETING]


@pytest.fixture
def job(importer, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_SIZE", 50)
    lines = ["Vorname;Nachname;E-Mail;Firma"] + [f"V{i};N{i};p{i}@example.de;Firma {i % 7}" for i in range(ROWS)]
    upload = SimpleUploadedFile("resume.csv", "\n".join(lines).encode())
    info = importing.inspect_csv(upload, name=upload.name, size=upload.size)
    job = importing.import_create(target="person", upload=upload, info=info, user=importer)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, heartbeat_at=timezone.now())
    return job


def _kill_after_chunks(monkeypatch, chunks: int) -> None:
    target = importing.target_for("person")
    written = target.write
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > chunks:
            raise WorkerKilled
        return written(*args, **kwargs)

    monkeypatch.setitem(importing.TARGETS, "person", dataclasses.replace(target, write=dying))


def _later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_killed_run_resumes_after_the_committed_lines_and_stores_each_line_once(job, monkeypatch, settings):
    _kill_after_chunks(monkeypatch, 2)
    with pytest.raises(WorkerKilled):
        importing.import_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.written_rows, job.created_count) == (ImportJob.Status.RUNNING, 100, 100)
    assert Person.objects.count() == 100
    monkeypatch.undo()
    monkeypatch.setattr(importing, "CHUNK_SIZE", 50)

    assert importing.imports_resume_stalled(now=_later(settings.CRM_IMPORT_STALLED_SECONDS + 1)) == [job.pk]
    import_run_task(job.pk)
    import_run_task(job.pk)  # a second delivery of the message does nothing

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created_count, job.skipped_count, job.written_rows, job.interruptions) == (ROWS, 0, ROWS, 1)
    assert Person.objects.count() == ROWS
    assert Person.objects.values("email").distinct().count() == ROWS
    assert Employment.objects.count() == ROWS


def test_a_run_that_was_resumed_elsewhere_writes_nothing_more(job, monkeypatch, settings):
    """A worker that was only slow, not dead: once its job was resumed, its next chunk is rolled back."""
    chunks = importing._chunks

    def slow(*args, **kwargs):
        for number, chunk in enumerate(chunks(*args, **kwargs), start=1):
            if number == 3:  # meanwhile, between two chunks, beat took the silent run for dead
                assert importing.imports_resume_stalled(now=_later(settings.CRM_IMPORT_STALLED_SECONDS + 1)) == [job.pk]
            yield chunk

    monkeypatch.setattr(importing, "_chunks", slow)
    assert importing.import_run(job=job) is True
    job.refresh_from_db()
    assert (job.status, job.written_rows, job.interruptions) == (ImportJob.Status.QUEUED, 100, 1)
    assert Person.objects.count() == 100  # the third chunk was not written

    monkeypatch.setattr(importing, "_chunks", chunks)
    importing.import_run(job=job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, Person.objects.count()) == (ROWS, ROWS)


def test_only_a_heartbeat_older_than_the_limit_counts_as_dead(importer, settings):
    now = timezone.now()
    limit = timedelta(seconds=settings.CRM_IMPORT_STALLED_SECONDS)
    assert limit <= timedelta(minutes=2)

    def make(status, age):
        return ImportJob.objects.create(target="person", original_name="x.csv", created_by=importer, status=status,
                                        heartbeat_at=now - age)

    dead = make(ImportJob.Status.RUNNING, limit + timedelta(seconds=5))
    alive = make(ImportJob.Status.RUNNING, limit - timedelta(seconds=30))
    lost = make(ImportJob.Status.QUEUED, importing.QUEUED_LOST_AFTER + timedelta(seconds=5))
    waiting = make(ImportJob.Status.QUEUED, limit + timedelta(seconds=5))  # a long queue is no crash
    make(ImportJob.Status.DONE, timedelta(days=1))

    assert sorted(importing.imports_resume_stalled(now=now)) == sorted([dead.pk, lost.pk])
    dead.refresh_from_db()
    lost.refresh_from_db()
    alive.refresh_from_db()
    waiting.refresh_from_db()
    assert (dead.status, dead.interruptions) == (ImportJob.Status.QUEUED, 1)
    assert (lost.status, lost.interruptions) == (ImportJob.Status.QUEUED, 0)
    assert alive.status == ImportJob.Status.RUNNING and waiting.interruptions == 0
    assert importing.imports_resume_stalled(now=now) == []  # resumed jobs got a fresh heartbeat


def test_the_periodic_task_runs_every_minute_and_finishes_the_job(job, monkeypatch, settings):
    assert settings.CELERY_BEAT_SCHEDULE["contacts-imports-resume-stalled"]["schedule"] <= 60
    _kill_after_chunks(monkeypatch, 1)
    with pytest.raises(WorkerKilled):
        importing.import_run(job=job)
    monkeypatch.undo()
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.CRM_IMPORT_STALLED_SECONDS + 1)
    )
    assert imports_resume_stalled_task() == 1  # eager in the tests: the import runs right away
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Person.objects.count() == ROWS


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_page_says_interrupted_resuming_instead_of_a_frozen_bar(client_for, importer, job, language):
    client = client_for(importer)
    url = reverse("contacts:import_progress", args=[job.pk])
    expected = {"en": "Interrupted, resuming", "de": "Unterbrochen, wird fortgesetzt"}[language]
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now())
    assert expected not in client.get(url).content.decode()

    silent = timezone.now() - timedelta(seconds=ImportJob.SILENT_SECONDS + 1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=silent, written_rows=100)
    page = client.get(url).content.decode()
    assert expected in page and 'data-testid="import-interrupted"' in page

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, interruptions=1, heartbeat_at=timezone.now())
    page = client.get(url).content.decode()
    assert expected in page and "hx-trigger" in page  # still polled until it has finished
    with translation.override(language):
        assert expected in client.get(reverse("contacts:import_list")).content.decode()
