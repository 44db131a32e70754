"""The issue's proof, as production runs it: a real Celery worker (Redis, Postgres) syncs a real
Dovecot mailbox of 1,000 messages in INBOX and "Gesendet" (umlauts, attachments, HTML only,
broken MIME, unknown senders); the worker is killed (SIGKILL) in the middle, a new one finishes,
then the server renumbers both folders (new UIDVALIDITY) and the sync runs once more. Every
message with a known person is on the right timelines exactly once, the others nowhere, and the
counts on the profile page add up."""

import os
import random
from collections import Counter

import pytest
from django.conf import settings
from django.urls import reverse

from contacts.mailboxes import sync
from contacts.mailboxes.models import MailboxConnection, MailboxFolder, SyncedEmail
from contacts.models import Activity, Attachment
from contacts.tests.conftest import ALICE_MAIL, PASSWORD
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from contacts.tests.mail import broken_mime, message
from crm.tests.processes import celery_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.real_clock]

BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"
TOTAL, SENT_SHARE, UNKNOWN_EVERY = 1000, 0.3, 5


@pytest.fixture
def workers(tmp_path, imap_server):
    env = {"CRM_MAILBOX_SSL_CAFILE": str(imap_server.certificate.cert), "CRM_MAILBOX_BATCH": "10",
           "MEDIA_ROOT": str(tmp_path / "media"), "SECRET_KEY": settings.SECRET_KEY,
           "CRM_SECRET_KEYS": ",".join(settings.CRM_SECRET_KEYS)}
    with celery_workers(tmp_path, BROKER_URL, prefix="mailbox", env=env) as workers:
        yield workers


def _mailbox_contents(people):
    """(folder, raw message, subject, the pks of the known people on it) for 1,000 messages."""
    rng = random.Random(12)
    items = []
    for n in range(TOTAL):
        folder = "Gesendet" if n < TOTAL * SENT_SHARE else "INBOX"
        unknown = n % UNKNOWN_EVERY == 0
        persons = [] if unknown else rng.sample(people, 2 if n % 7 == 0 else 1)
        other = f"unbekannt{n}@fremd.example"
        addresses = [p.email for p in persons] or [other]
        subject = f"Nr. {n}: Größe, Maße und Grüße"
        if folder == "Gesendet":
            sender, to = ALICE_MAIL, ", ".join(addresses)
        else:
            sender, to = addresses[0], ", ".join([ALICE_MAIL, *addresses[1:]])
        kind = n % 10
        message_id = f"<n{n}@mail.example.de>"
        if kind == 3:
            raw = broken_mime(sender=sender, to=to, subject=subject).replace(b"<kaputt-1@", f"<kaputt-{n}@".encode())
            message_id = f"<kaputt-{n}@mail.example.de>"
        elif kind == 5:
            raw = message(sender=sender, to=to, subject=subject, body=None, message_id=message_id,
                          html=f"<p>Nur HTML Nr. {n}: <b>Übergröße</b></p>")
        elif kind == 7:
            raw = message(sender=sender, to=to, subject=subject, message_id=message_id,
                          attachments=[(f"Aufmaß-{n}.pdf", "application/pdf", b"%PDF-1.4 " + str(n).encode())])
        else:
            raw = message(sender=sender, to=to, subject=subject, message_id=message_id, body=f"Nachricht {n} aus Köln")
        items.append((folder, raw, subject, message_id, [p.pk for p in persons]))
    return items


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_killed_worker_and_uidvalidity_reset_leave_every_message_exactly_once(imap_server, workers, alice, client_for):
    organization = OrganizationFactory(name="Größl & Söhne KG")
    people = [PersonFactory(email=f"kunde{i}@kunde.example") for i in range(40)]
    for person in people[:10]:
        EmploymentFactory(person=person, organization=organization)
    items = _mailbox_contents(people)
    for folder in ("INBOX", "Gesendet"):
        imap_server.append(ALICE_MAIL, folder, *[raw for f, raw, *_rest in items if f == folder])
    alice.email = ALICE_MAIL
    alice.save()
    connection = sync.mailbox_connect(user=alice, host=imap_server.host, port=imap_server.port, security="tls",
                                      username=ALICE_MAIL, password=PASSWORD)
    from contacts.tasks import mailbox_sync

    def counts():
        return MailboxConnection.objects.values_list("messages_seen", flat=True).get(pk=connection.pk)

    workers.start()
    mailbox_sync.delay(connection.pk)
    wait_for(lambda: counts() >= 150, 120, lambda: f"the first batches (log: {workers.logs()})")
    workers.kill()
    seen_at_kill = counts()
    assert 150 <= seen_at_kill < TOTAL, "the worker was killed in the middle of the sync"

    workers.start()  # what beat (every CRM_MAILBOX_SYNC_SECONDS) does after a restart
    mailbox_sync.delay(connection.pk)
    wait_for(lambda: counts() == TOTAL, 300, lambda: f"the rest (log: {workers.logs()})")

    for folder in ("INBOX", "Gesendet"):
        imap_server.set_uidvalidity(ALICE_MAIL, folder, 90_000 + len(folder))
    mailbox_sync.delay(connection.pk)
    wait_for(lambda: counts() == 2 * TOTAL, 300, lambda: f"the sync after the UIDVALIDITY reset (log: {workers.logs()})")

    known = [item for item in items if item[4]]
    assert SyncedEmail.objects.count() == len(known)
    assert set(SyncedEmail.objects.values_list("message_id", flat=True)) == {item[3] for item in known}
    on_timelines = Counter(Activity.objects.filter(synced_email__isnull=False).values_list("synced_email__message_id", "person_id"))
    assert on_timelines == Counter({(item[3], pk): 1 for item in known for pk in item[4]})
    on_organization = Counter(Activity.objects.filter(organization=organization).values_list("synced_email__message_id", flat=True))
    expected_organization = {item[3] for item in known if set(item[4]) & {p.pk for p in people[:10]}}
    assert on_organization == Counter({message_id: 1 for message_id in expected_organization})
    assert not Activity.objects.filter(body__contains="unbekannt").exists()
    assert Attachment.objects.filter(synced_email__isnull=False).count() == sum(
        1 for n, item in enumerate(items) if item[4] and n % 10 in (3, 7))
    connection.refresh_from_db()
    assert connection.messages_seen == 2 * TOTAL and connection.counts_reconcile
    assert connection.messages_stored == len(known)
    assert connection.messages_skipped == 2 * (TOTAL - len(known))
    assert connection.messages_present == len(known)
    assert all(f.resets == 1 for f in MailboxFolder.objects.filter(connection=connection))
    page = client_for(alice).get(reverse("contacts:mailbox")).content.decode()
    assert f'data-testid="count-stored">{len(known)}<' in page and PASSWORD not in page
