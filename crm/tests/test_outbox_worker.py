"""The outbox as production runs it: a real Celery worker on Redis and Postgres, and a real SMTP
server (aiosmtpd on 127.0.0.1) that is away when the email is stored. The worker's task retries
with backoff on its own (no beat job here) and delivers the email exactly once when the server
comes back."""

import os
import time

import pytest
from django.db import transaction

from crm import outbox
from crm.models import OutgoingEmail
from crm.tests.processes import celery_workers, wait_for
from crm.tests.smtp import SmtpSink

# The worker runs in another process, on the real clock; so does this test (conftest.FROZEN_AT).
pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"


@pytest.fixture
def worker(tmp_path):
    sink = SmtpSink()  # not listening yet: the mail server is away
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port), "EMAIL_USE_TLS": "0", "EMAIL_TIMEOUT": "5",
           "CRM_EMAIL_RETRY_SECONDS": "1"}
    try:
        with celery_workers(tmp_path, BROKER_URL, prefix="outbox", env=env) as workers:
            workers.start()
            yield sink, workers.log_path()
    finally:
        sink.stop()


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
