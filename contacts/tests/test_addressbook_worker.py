"""As production runs it: a real Celery worker (Redis, Postgres) pushes alice's address book
while Radicale is down; the task records the error in words and comes back by itself with
backoff (no beat here), and once Radicale is back the retry writes every card."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from contacts.addressbooks import sync
from contacts.addressbooks.models import AddressBookConnection, AddressBookError
from contacts.tasks import addressbook_push
from contacts.tests import carddav_phone as phone
from contacts.tests.factories import PersonFactory
from crm.celery import app
from crm.tests.processes import database_url, require_services, wait_for

pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"


@pytest.fixture
def worker(tmp_path):
    require_services(BROKER_URL)
    queue = f"test-addressbook-{uuid.uuid4().hex}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL, "CELERY_TASK_ALWAYS_EAGER": "0", "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DB_CONN_MAX_AGE": "0", "SECRET_KEY": settings.SECRET_KEY, "CRM_SECRET_KEYS": ",".join(settings.CRM_SECRET_KEYS),
        "CRM_ADDRESSBOOK_RETRY_SECONDS": "1", "CRM_ADDRESSBOOK_TIMEOUT": "3",
    }
    saved = app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue
    app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = False, BROKER_URL, queue
    app._pool = None
    base_dir = Path(settings.BASE_DIR)
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [str(base_dir / ".venv" / "bin" / "celery"), "-A", "crm", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"addressbook-{uuid.uuid4().hex[:8]}@%h"],
        cwd=base_dir, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT,
    )
    process.log = log
    try:
        yield process
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = saved
        app._pool = None
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        redis.Redis.from_url(BROKER_URL).delete(queue)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_push_retries_with_backoff_and_writes_every_card_once_the_server_is_back(
    alice, carddav_server, worker, django_capture_on_commit_callbacks
):
    PersonFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=False):
        connection = sync.addressbook_connect(user=alice, url=carddav_server.url, username=phone.CARDDAV_USER,
                                              password=phone.CARDDAV_PASSWORD, addressbook_name="CRM")
    carddav_server.stop()
    addressbook_push.delay(connection.pk)

    def failed():
        row = AddressBookConnection.objects.get(pk=connection.pk)
        return row.last_error == AddressBookError.UNREACHABLE and row.last_run_at is not None

    wait_for(failed, 60, f"the failed first run (log: {worker.log.read_text()[-2000:]})")
    carddav_server.restart()
    # Nothing queues it again but the task's own retry (1 s, 2 s, 4 s ... in this test). Two
    # retries may run back to back (the push queued on connecting and the one after the change):
    # the second finds nothing left to write, so the cards on the server tell, not `last_pushed`.
    def written():
        row = AddressBookConnection.objects.get(pk=connection.pk)
        return row.last_error == "" and row.last_run_at is not None and len(phone.cards(carddav_server)) == 3

    wait_for(written, 90, lambda: f"the retry (log: {worker.log.read_text()[-3000:]})")
    assert len(phone.cards(carddav_server)) == 3
    assert "retry" in worker.log.read_text().lower()
