"""Webhooks as production runs them: a real Celery worker on Redis and Postgres, a real HTTP
receiver on 127.0.0.1 that verifies every signature, the receiver away at first, and the
worker killed (SIGKILL) in the middle of delivering. The beat job's task (`webhooks_resume`)
is sent by the test once a second, as beat would. Every event arrives; a duplicate carries the
id of the first copy; per record, events first arrive in the order they happened."""

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction

from crm import tasks, webhooks
from crm.celery import app
from crm.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm.tests.processes import database_url, require_services, wait_for
from crm.tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"
RECORDS, EVENTS_PER_RECORD = 20, 10


class Workers:
    def __init__(self, queue: str, log_dir: Path):
        self.queue, self.log_dir, self.process, self.started = queue, log_dir, None, 0

    def start(self):
        self.started += 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "DB_CONN_MAX_AGE": "0",
            "CRM_WEBHOOK_ALLOW_LOOPBACK": "1",
            "CRM_WEBHOOK_LEASE_SECONDS": "3",
        }
        base_dir = Path(settings.BASE_DIR)
        log = (self.log_dir / f"worker{self.started}.log").open("w")
        self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [str(base_dir / ".venv" / "bin" / "celery"), "-A", "crm", "worker", "--pool=solo", "-Q", self.queue,
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"webhooks{self.started}-{self.queue}@%h"],
            cwd=base_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )

    def kill(self):
        self.process.kill()  # SIGKILL: no clean shutdown, the task in hand is lost
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-1500:] for p in sorted(self.log_dir.glob("worker*.log")))


@pytest.fixture
def workers(tmp_path, settings):
    require_services(BROKER_URL)
    settings.CRM_WEBHOOK_ALLOW_LOOPBACK = True
    queue = f"test-webhooks-{uuid.uuid4().hex}"
    saved = app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue
    app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = False, BROKER_URL, queue
    app._pool = None
    w = Workers(queue, tmp_path)
    try:
        yield w
    finally:
        w.stop()
        app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = saved
        app._pool = None
        redis.Redis.from_url(BROKER_URL).delete(queue)


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
                  f"a failed try while the receiver is away ({workers.logs()})")
        receiver.port = port
        slow = threading.Event()

        def answer(body):
            if not slow.is_set():
                time.sleep(0.03)  # slow enough to kill the worker in the middle
            return 200

        receiver.answer = answer
        receiver.start()
        wait_for(lambda: len(receiver.received) >= 40, 90, f"deliveries after the receiver came back ({workers.logs()})")
        workers.kill()
        killed_at = len(receiver.received)
        assert killed_at < len(expected), "the worker finished before it could be killed"
        slow.set()
        workers.start()
        wait_for(
            lambda: not WebhookDelivery.objects.filter(endpoint=endpoint).exclude(state="delivered").exists(), 120,
            f"every delivery done after the restart ({workers.logs()})",
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
