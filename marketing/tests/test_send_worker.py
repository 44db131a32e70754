"""A campaign send as production runs it: a real Celery worker on Redis, Postgres, and a real
SMTP server (aiosmtpd on 127.0.0.1) that records every message it accepts.

10,000 people have email consent, 600 do not (never asked, withdrawn, awaiting confirmation).
The worker is killed with SIGKILL in the middle of the send and a new one started; the
periodic resume job (run here by the test, as beat would) gives back what the dead worker had
claimed. Afterwards each consented person has exactly one message, nobody else has any.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client

from contacts.models import Person
from crm.tests.processes import celery_workers, require_services
from marketing import services
from marketing.models import Campaign, Consent, Delivery, EmailTemplate, Segment
from marketing.tests.factories import HTML

# The worker runs in another process, on the real clock; so does this test (conftest.FROZEN_AT).
pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"
CONSENTED = int(os.environ.get("MARKETING_TEST_RECIPIENTS", "10000"))
KILL_AFTER = CONSENTED // 4
WAIT_SECONDS = 1200
STALE_SECONDS = 20  # longer than a claimed chunk takes on a busy machine
RESUME_EVERY = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)


@pytest.fixture
def smtp_sink(tmp_path):
    require_services(BROKER_URL)
    port, out = _free_port(), tmp_path / "sink.jsonl"
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [sys.executable, "-m", "marketing.smtp_sink", "--port", str(port), "--out", str(out)],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the SMTP sink did not start")
    yield port, out
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def workers(tmp_path, smtp_sink):
    """`workers(name)` starts a Celery worker on a queue of its own and returns the process."""
    port, _out = smtp_sink
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "0", "MARKETING_SEND_RATE": "0",
           "CRM_BASE_URL": "http://testserver"}
    with celery_workers(tmp_path, BROKER_URL, prefix="send", env=env) as started:
        yield started.start


def _people(count: int, prefix: str) -> list[Person]:
    return Person.objects.bulk_create(
        [Person(first_name=f"Vor{i}", last_name=f"Nach{i}", email=f"{prefix}{i}@example.de", postal_code="10115") for i in range(count)],
        batch_size=2_000,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_worker_sends_nothing_twice_and_skips_nobody(workers, smtp_sink, settings):
    _port, sink_path = smtp_sink
    settings.CRM_BASE_URL = "http://testserver"
    consented = _people(CONSENTED, "kunde")
    never_asked = _people(300, "ohne")
    withdrawn = _people(200, "abgemeldet")
    pending = _people(100, "unbestaetigt")
    consents = [Consent(person=p, status=Consent.Status.GRANTED, source=Consent.Source.DOUBLE_OPT_IN) for p in consented]
    consents += [Consent(person=p, status=Consent.Status.WITHDRAWN, source=Consent.Source.UNSUBSCRIBE) for p in withdrawn]
    consents += [Consent(person=p, status=Consent.Status.PENDING, source=Consent.Source.WEB_FORM) for p in pending]
    Consent.objects.bulk_create(consents, batch_size=5_000)
    template = EmailTemplate.objects.create(name="Test", subject="Hallo {{ first_name }}", body_html=HTML)
    campaign = Campaign.objects.create(name="Großversand", code="grossversand", template=template)
    campaign.segments.add(Segment.objects.create(name="Berlin Mitte", definition={"postal_code_prefix": "10115"}))

    first = workers("first")
    services.campaign_start_send(campaign=campaign)  # the worker lists the recipients, then sends

    deadline = time.monotonic() + WAIT_SECONDS
    while _count_lines(sink_path) < KILL_AFTER:
        assert first.poll() is None, "the first worker stopped by itself"
        assert time.monotonic() < deadline, "the send did not start"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = _count_lines(sink_path)
    assert KILL_AFTER <= at_kill < CONSENTED, "the worker was not killed in the middle of the send"

    workers("second")
    while Campaign.objects.get(pk=campaign.pk).status != Campaign.Status.SENT:
        if time.monotonic() > deadline:
            logs = "\n".join(p.read_text()[-3000:] for p in sorted(Path(sink_path).parent.glob("*.log")))
            pytest.fail(f"the send did not finish: {services.progress_summary(campaign)}\n{logs}")
        time.sleep(RESUME_EVERY)
        # What celery beat runs every minute: give back the dead worker's claims, queue what is left.
        services.campaign_resume_stalled(stale_seconds=STALE_SECONDS)
    # The sink writes a line once it accepted a message; on a busy machine the last ones lag.
    settle = time.monotonic() + 60
    while _count_lines(sink_path) < CONSENTED and time.monotonic() < settle:
        time.sleep(0.5)

    lines = _lines(sink_path)
    per_recipient = Counter(line["rcpt"] for line in lines)
    wanted = {p.email for p in consented}
    missing, unexpected = sorted(wanted - set(per_recipient)), sorted(set(per_recipient) - wanted)
    assert not missing and not unexpected, (
        f"skipped {len(missing)} (first: {missing[:5]}), mailed without consent {len(unexpected)} "
        f"(first: {unexpected[:5]}); deliveries: {services.progress_summary(campaign)}; "
        f"errors: {list(Delivery.objects.filter(campaign=campaign).exclude(error='').values_list('email', 'status', 'error')[:5])}"
    )
    assert max(per_recipient.values()) == 1, [r for r, n in per_recipient.items() if n > 1][:10]
    assert len(lines) == CONSENTED
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count() == CONSENTED
    assert not Delivery.objects.filter(person__in=[*never_asked, *withdrawn, *pending]).exists()

    for line in lines[:: CONSENTED // 20]:
        assert line["content_type"] == "multipart/alternative"
        assert {"text/plain", "text/html"} <= set(line["parts"])
        assert line["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
        assert line["list_unsubscribe"].strip().startswith("<http://testserver/marketing/u/")

    # One recipient uses the one-click unsubscribe of the message they got.
    sample = lines[0]
    path = urlparse(sample["list_unsubscribe"].strip().strip("<>")).path
    response = Client(enforce_csrf_checks=True).post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert Consent.objects.get(person__email=sample["rcpt"]).status == Consent.Status.WITHDRAWN
