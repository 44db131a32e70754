"""As production runs it: a real Celery worker (Redis, Postgres) pushes alice's address book
while Radicale is down; the task records the error in words and comes back by itself with
backoff (no beat here), and once Radicale is back the retry writes every card."""

import os

import pytest
from django.conf import settings

from contacts.addressbooks import sync
from contacts.addressbooks.models import AddressBookConnection, AddressBookError
from contacts.tasks import addressbook_push
from contacts.tests import carddav_phone as phone
from contacts.tests.factories import PersonFactory
from crm.tests.processes import celery_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"


@pytest.fixture
def worker(tmp_path):
    env = {"SECRET_KEY": settings.SECRET_KEY, "CRM_SECRET_KEYS": ",".join(settings.CRM_SECRET_KEYS),
           "CRM_ADDRESSBOOK_RETRY_SECONDS": "1", "CRM_ADDRESSBOOK_TIMEOUT": "3"}
    with celery_workers(tmp_path, BROKER_URL, prefix="addressbook", env=env) as workers:
        workers.start()
        yield workers


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

    wait_for(failed, 60, lambda: f"the failed first run ({worker.logs()})")
    carddav_server.restart()
    # Nothing queues it again but the task's own retry (1 s, 2 s, 4 s ... in this test). Two
    # retries may run back to back (the push queued on connecting and the one after the change):
    # the second finds nothing left to write, so the cards on the server tell, not `last_pushed`.
    def written():
        row = AddressBookConnection.objects.get(pk=connection.pk)
        return row.last_error == "" and row.last_run_at is not None and len(phone.cards(carddav_server)) == 3

    wait_for(written, 90, lambda: f"the retry ({worker.logs(3000)})")
    assert len(phone.cards(carddav_server)) == 3
    assert "retry" in worker.log_path().read_text().lower()
