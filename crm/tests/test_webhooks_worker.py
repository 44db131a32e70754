"""Webhooks as production runs them: a real Celery worker on Redis and Postgres, a real HTTP
receiver on 127.0.0.1 that verifies every signature, the receiver away at first, and the
worker killed (SIGKILL) in the middle of delivering. The beat job's task (`webhooks_resume`)
is sent by the test once a second, as beat would. Every event arrives; a duplicate carries the
id of the first copy; per record, events first arrive in the order they happened."""

import os
import threading
import time

import pytest
from django.db import transaction

from crm import tasks, webhooks
from crm.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm.tests.processes import celery_workers, wait_for
from crm.tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"
RECORDS, EVENTS_PER_RECORD = 20, 10


@pytest.fixture
def workers(tmp_path, settings):
    settings.CRM_WEBHOOK_ALLOW_LOOPBACK = True
    env = {"CRM_WEBHOOK_ALLOW_LOOPBACK": "1", "CRM_WEBHOOK_LEASE_SECONDS": "3"}
    with celery_workers(tmp_path, BROKER_URL, prefix="webhooks", env=env) as workers:
        yield workers


class Beat:
    """Sends the beat job's task once a second, as celery beat would."""

    def __init__(self):
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopped.wait(1.0):
            tasks.webhooks_resume.delay()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=5)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_receiver_away_and_worker_killed_mid_delivery_every_event_arrives(workers):
    receiver = Receiver()
    receiver.start()
    port = receiver.port
    receiver.stop()  # away: connections are refused
    endpoint, secret = webhooks.endpoint_save(WebhookEndpoint(url=f"http://127.0.0.1:{port}/hook", event_types=["person.updated"]))
    receiver.secret = secret
    workers.start()
    with transaction.atomic():
        for n in range(EVENTS_PER_RECORD):
            for record in range(1, RECORDS + 1):
                webhooks.emit("person.updated", payload={"id": record, "n": n}, kind="person", object_id=record)
    expected = list(WebhookEvent.objects.order_by("pk").values_list("msg_id", flat=True))
    assert len(expected) == RECORDS * EVENTS_PER_RECORD

    with Beat():
        wait_for(lambda: WebhookEndpoint.objects.get(pk=endpoint.pk).consecutive_failures >= 1, 60,
                  lambda: f"a failed try while the receiver is away ({workers.logs()})")
        receiver.port = port
        slow = threading.Event()

        def answer(body):
            if not slow.is_set():
                time.sleep(0.03)  # slow enough to kill the worker in the middle
            return 200

        receiver.answer = answer
        receiver.start()
        wait_for(lambda: len(receiver.received) >= 40, 90, lambda: f"deliveries after the receiver came back ({workers.logs()})")
        workers.kill()
        killed_at = len(receiver.received)
        assert killed_at < len(expected), "the worker finished before it could be killed"
        slow.set()
        workers.start()
        wait_for(
            lambda: not WebhookDelivery.objects.filter(endpoint=endpoint).exclude(state="delivered").exists(), 120,
            lambda: f"every delivery done after the restart ({workers.logs()})",
        )

    assert receiver.rejected == []
    ids = [item["id"] for item in receiver.received]
    assert set(ids) == set(expected)  # none lost, none invented
    first_arrival = list(dict.fromkeys(ids))
    for record in range(1, RECORDS + 1):
        mine = [item["data"]["n"] for item in receiver.received if item["data"]["id"] == record]
        firsts = list(dict.fromkeys(mine))
        assert firsts == list(range(EVENTS_PER_RECORD)), f"record {record} out of order: {mine}"
    duplicates = len(ids) - len(first_arrival)
    print(f"\nkilled after {killed_at} arrivals; {len(ids)} requests for {len(expected)} events, {duplicates} duplicates")
