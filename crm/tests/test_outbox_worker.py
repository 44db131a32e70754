"""The outbox as production runs it: a real Celery worker on Redis and Postgres, and a real SMTP
server (aiosmtpd on 127.0.0.1) that is away when the email is stored. The worker's task retries
with backoff on its own (no beat job here) and delivers the email exactly once when the server
comes back."""

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction

from crm import outbox
from crm.celery import app
from crm.models import OutgoingEmail
from crm.tests.processes import database_url, require_services, wait_for
from crm.tests.smtp import SmtpSink

# The worker runs in another process, on the real clock; so does this test (conftest.FROZEN_AT).
pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"


@pytest.fixture
def worker(tmp_path):
    require_services(BROKER_URL)
    sink = SmtpSink()  # not listening yet: the mail server is away
    queue = f"test-outbox-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DB_CONN_MAX_AGE": "0",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "5",
        "CRM_EMAIL_RETRY_SECONDS": "1",
    }
    base_dir = Path(settings.BASE_DIR)
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [str(base_dir / ".venv" / "bin" / "celery"), "-A", "crm", "worker", "--pool=solo", "-Q", queue, "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"outbox-{queue}@%h"],
        cwd=base_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    saved = app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue
    app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = False, BROKER_URL, queue
    app._pool = None  # a pool made earlier in this process points at the old broker
    try:
        yield sink, tmp_path / "worker.log"
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = saved
        app._pool = None
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        sink.stop()
        redis.Redis.from_url(BROKER_URL).delete(queue)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_retries_with_backoff_and_delivers_once_when_the_server_is_back(worker):
    sink, log = worker
    with transaction.atomic():
        email = outbox.email_queue(to="kunde@kunde-gmbh.de", subject="Ihre Anfrage", body="Guten Tag")

    def tries():
        row = OutgoingEmail.objects.get(pk=email.pk)
        return row if row.attempts >= 2 and row.state == OutgoingEmail.State.QUEUED else None

    waiting = wait_for(tries, 90, "two failed tries while the SMTP server is away")
    assert "refused" in waiting.last_reply.lower()
    assert sink.messages == []

    sink.start()
    sent = wait_for(lambda: OutgoingEmail.objects.filter(pk=email.pk, state=OutgoingEmail.State.SENT).first(), 90,
                     f"delivery after the server came back (worker log: {log.read_text()[-2000:]})")
    assert sent.last_reply.startswith("250 ") and sent.attempts >= 3
    time.sleep(3)  # a second delivery would have arrived by now
    assert [m["rcpt"] for m in sink.messages] == ["kunde@kunde-gmbh.de"]
