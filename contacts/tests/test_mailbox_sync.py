"""The mailbox sync against a real Dovecot (crm/tests/dovecot.py): what lands on which timeline,
exactly once through re-syncs, a UIDVALIDITY reset and moves between folders; what is not
stored; private emails; errors in words."""

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.mailboxes import sync
from contacts.mailboxes.imap import Account, MailboxError, check
from contacts.mailboxes.models import MailboxConnection, MailboxFolder, SyncedEmail
from contacts.models import Activity, Attachment
from contacts.tests.conftest import ALICE_MAIL, PASSWORD
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from contacts.tests.mail import broken_mime, message
from crm.tests import dovecot

GRETA, HANS, UNKNOWN = "greta.groess@kunde.example", "hans.huebner@kunde.example", "fremd@irgendwo.example"


@pytest.fixture
def people(db):
    organization = OrganizationFactory(name="Größl & Hübner GmbH")
    greta = PersonFactory(first_name="Greta", last_name="Größl", email=GRETA)
    hans = PersonFactory(first_name="Hans", last_name="Hübner", email="h@old.example", email_secondary=HANS)
    EmploymentFactory(person=greta, organization=organization)
    EmploymentFactory(person=hans, organization=organization)
    return {"greta": greta, "hans": hans, "organization": organization}


@pytest.fixture
def mailbox(imap_server, alice):
    alice.email = ALICE_MAIL
    alice.save()
    return sync.mailbox_connect(
        user=alice, host=imap_server.host, port=imap_server.port, security=MailboxConnection.Security.TLS,
        username=ALICE_MAIL, password=PASSWORD,
    )


def _run(mailbox):
    mailbox.refresh_from_db()
    report = sync.mailbox_sync(connection=mailbox)
    mailbox.refresh_from_db()
    return report


def test_it_connects_and_finds_the_german_sent_folder(imap_server):
    folders = check(Account(imap_server.host, imap_server.port, "tls", ALICE_MAIL, PASSWORD))
    assert folders == {"inbox": "INBOX", "sent": "Gesendet"}


def test_it_connects_with_starttls(imap_server):
    folders = check(Account(imap_server.host, imap_server.starttls_port, "starttls", ALICE_MAIL, PASSWORD))
    assert folders["sent"] == "Gesendet"


def test_a_wrong_password_is_refused_in_words(imap_server):
    with pytest.raises(MailboxError) as refused:
        check(Account(imap_server.host, imap_server.port, "tls", ALICE_MAIL, "falsch"))
    assert refused.value.code == MailboxConnection.Error.LOGIN
    assert "falsch" not in refused.value.detail


def test_an_untrusted_certificate_is_refused(imap_server, settings):
    settings.CRM_MAILBOX_SSL_CAFILE = ""  # the system's CAs do not know the test server's certificate
    with pytest.raises(MailboxError) as refused:
        check(Account(imap_server.host, imap_server.port, "tls", ALICE_MAIL, PASSWORD))
    assert refused.value.code == MailboxConnection.Error.CERTIFICATE


def test_a_closed_port_is_refused_in_words(imap_server):
    imap_server.stop()
    with pytest.raises(MailboxError) as refused:
        check(Account(imap_server.host, imap_server.port, "tls", ALICE_MAIL, PASSWORD))
    assert refused.value.code == MailboxConnection.Error.REFUSED


def test_it_puts_known_peoples_mail_on_their_timelines_once(imap_server, mailbox, people):
    imap_server.append(ALICE_MAIL, "INBOX",
        message(sender=f"Greta Größl <{GRETA}>", to=ALICE_MAIL, subject="Änderungswünsche zum Angebot",
                body="Sehr geehrte Frau Albrecht,\n\nbitte prüfen Sie die Maße für Köln.",
                attachments=[("Maßliste.pdf", "application/pdf", b"%PDF-1.4 Ma\xc3\x9fe")]),
        message(sender=HANS, to=ALICE_MAIL, subject="Nur HTML", body=None,
                html="<html><head><style>p{}</style></head><body><p>Grüße aus <b>München</b></p></body></html>"),
        broken_mime(sender=GRETA, to=ALICE_MAIL, subject="Kaputte Nachricht"),
        message(sender=UNKNOWN, to=ALICE_MAIL, subject="Werbung von Unbekannt"),
    )
    imap_server.append(ALICE_MAIL, "Gesendet",
        message(sender=ALICE_MAIL, to=f"{GRETA}, {HANS}", subject="Ihr Angebot über 12.000 €"),
        message(sender=ALICE_MAIL, to=UNKNOWN, subject="An Unbekannt"),
    )

    report = _run(mailbox)

    assert (report.seen, report.stored, report.present, report.skipped, report.error) == (6, 4, 0, 2, "")
    greta, hans, organization = people["greta"], people["hans"], people["organization"]
    on_greta = Activity.objects.filter(person=greta).order_by("subject")
    assert [a.subject for a in on_greta] == ["Ihr Angebot über 12.000 €", "Kaputte Nachricht", "Änderungswünsche zum Angebot"]
    assert all(a.kind == Activity.Kind.EMAIL and a.created_by == mailbox.user for a in on_greta)
    assert "Maße für Köln" in on_greta.get(subject__startswith="Änderung").body
    assert "Lesbarer Teil" in on_greta.get(subject="Kaputte Nachricht").body
    html_only = Activity.objects.get(person=hans, subject="Nur HTML")
    assert "Grüße aus München" in html_only.body and "<" not in html_only.body.split("\n", 1)[1]
    assert set(Activity.objects.filter(person=hans).values_list("subject", flat=True)) == {"Nur HTML", "Ihr Angebot über 12.000 €"}
    # The organization sees each email once, also the one to both of its people.
    assert sorted(Activity.objects.filter(organization=organization).values_list("subject", flat=True)) == sorted(
        ["Ihr Angebot über 12.000 €", "Kaputte Nachricht", "Nur HTML", "Änderungswünsche zum Angebot"])
    attachment = Attachment.objects.get(name="Maßliste.pdf")
    assert attachment.person == greta and attachment.organization == organization
    assert attachment.file.read() == b"%PDF-1.4 Ma\xc3\x9fe"
    assert Attachment.objects.filter(synced_email__subject="Kaputte Nachricht").count() == 1  # the cut-off PDF, kept
    assert not SyncedEmail.objects.filter(subject__contains="Unbekannt").exists()
    assert not Activity.objects.filter(subject__contains="Unbekannt").exists()
    sent = SyncedEmail.objects.get(subject="Ihr Angebot über 12.000 €")
    assert sent.direction == SyncedEmail.Direction.OUTGOING and sent.folder == "Gesendet"
    assert (mailbox.messages_seen, mailbox.messages_stored, mailbox.messages_skipped) == (6, 4, 2)
    assert mailbox.counts_reconcile and mailbox.last_success_at and not mailbox.last_error


def test_a_second_sync_stores_nothing_new(imap_server, mailbox, people):
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Erste"))
    _run(mailbox)
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Zweite"))

    report = _run(mailbox)

    assert (report.seen, report.stored) == (1, 1)  # only the new one is even looked at
    assert sorted(Activity.objects.filter(person=people["greta"]).values_list("subject", flat=True)) == ["Erste", "Zweite"]


def test_a_uidvalidity_reset_puts_nothing_on_the_timeline_twice(imap_server, mailbox, people):
    imap_server.append(ALICE_MAIL, "INBOX", *[message(sender=GRETA, to=ALICE_MAIL, subject=f"Nr. {n}") for n in range(5)])
    _run(mailbox)
    imap_server.set_uidvalidity(ALICE_MAIL, "INBOX", 4711)
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Nach dem Umzug"))

    report = _run(mailbox)

    assert (report.seen, report.stored, report.present) == (6, 1, 5)
    assert Activity.objects.filter(person=people["greta"]).count() == 6
    folder = MailboxFolder.objects.get(connection=mailbox, role=MailboxFolder.Role.INBOX)
    assert (folder.uidvalidity, folder.resets) == (4711, 1)
    assert mailbox.counts_reconcile


def test_a_message_moved_to_another_synced_folder_stays_once(imap_server, mailbox, people):
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Verschoben"))
    _run(mailbox)
    imap_server.move(ALICE_MAIL, "INBOX", imap_server.uids(ALICE_MAIL, "INBOX"), "Gesendet")

    report = _run(mailbox)

    assert (report.seen, report.stored, report.present) == (1, 0, 1)
    assert Activity.objects.filter(person=people["greta"], subject="Verschoben").count() == 1


def test_replies_are_threaded_by_their_references(imap_server, mailbox, people):
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Anfrage", message_id="<root@kunde.example>"))
    imap_server.append(ALICE_MAIL, "Gesendet", message(
        sender=ALICE_MAIL, to=GRETA, subject="AW: Anfrage", message_id="<reply@crm.test>", in_reply_to="<root@kunde.example>",
        references="<root@kunde.example>"))
    imap_server.append(ALICE_MAIL, "INBOX", message(
        sender=GRETA, to=ALICE_MAIL, subject="AW: AW: Anfrage", in_reply_to="<reply@crm.test>",
        references="<root@kunde.example> <reply@crm.test>"))

    _run(mailbox)

    assert set(SyncedEmail.objects.values_list("thread_key", flat=True)) == {"<root@kunde.example>"}
    assert SyncedEmail.objects.get(subject="AW: Anfrage").in_reply_to == "<root@kunde.example>"


def test_excluded_addresses_and_domains_are_not_stored(imap_server, mailbox, people):
    mailbox.excluded = "kunde.example\n"
    mailbox.save()
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Privat"))

    report = _run(mailbox)

    assert (report.seen, report.skipped, report.stored) == (1, 1, 0)
    assert not Activity.objects.exists()
    assert mailbox.is_excluded("x@sub.kunde.example") and not mailbox.is_excluded("x@kunde.example.org")


def test_a_paused_mailbox_is_not_synced(imap_server, mailbox, people):
    mailbox.is_paused = True
    mailbox.save()
    imap_server.append(ALICE_MAIL, "INBOX", message(sender=GRETA, to=ALICE_MAIL, subject="Wartet"))

    assert sync.mailbox_sync(connection=mailbox) is None
    assert not Activity.objects.exists()


def test_a_password_changed_on_the_server_shows_as_an_error(imap_server, mailbox, people):
    mailbox.set_password("veraltet")
    mailbox.save()

    report = _run(mailbox)

    assert report.error == MailboxConnection.Error.LOGIN
    assert mailbox.last_error == MailboxConnection.Error.LOGIN and mailbox.last_error_at is not None
    assert "veraltet" not in mailbox.last_error_detail


def test_a_private_email_is_hidden_from_everybody_else(imap_server, mailbox, people, bob, client_for):
    imap_server.append(ALICE_MAIL, "INBOX", message(
        sender=GRETA, to=ALICE_MAIL, subject="Vertraulich: Gehaltsfrage",
        attachments=[("Vertrag.pdf", "application/pdf", b"%PDF geheim")]))
    _run(mailbox)
    email = SyncedEmail.objects.get()

    sync.synced_email_set_private(email=email, private=True)

    greta = people["greta"]
    assert not Activity.objects.visible_to(bob).filter(synced_email=email).exists()
    assert not Attachment.objects.visible_to(bob).filter(synced_email=email).exists()
    assert Activity.objects.visible_to(mailbox.user).filter(synced_email=email).count() == 1
    page = client_for(bob).get(greta.get_absolute_url()).content.decode()
    assert "Gehaltsfrage" not in page and "Vertrag.pdf" not in page
    assert client_for(bob).get(Attachment.objects.get().get_absolute_url()).status_code == 404
    organization_page = client_for(bob).get(people["organization"].get_absolute_url()).content.decode()
    assert "Gehaltsfrage" not in organization_page
    activity = Activity.objects.get(synced_email=email)
    assert client_for(bob).get(reverse("api:activity-detail", args=[activity.pk])).status_code == 404
    own_page = client_for(mailbox.user).get(greta.get_absolute_url()).content.decode()
    assert "Gehaltsfrage" in own_page and "Vertrag.pdf" in own_page

    sync.synced_email_set_private(email=email, private=False)
    assert "Gehaltsfrage" in client_for(bob).get(greta.get_absolute_url()).content.decode()


def test_a_sent_folder_without_the_flag_is_found_by_its_name(settings):
    server = dovecot.start(users={ALICE_MAIL: PASSWORD}, sent_folder="Sent Items", special_use=False)
    try:
        settings.CRM_MAILBOX_SSL_CAFILE = str(server.certificate.cert)
        folders = check(Account(server.host, server.port, "tls", ALICE_MAIL, PASSWORD))
    finally:
        server.stop()
    assert folders == {"inbox": "INBOX", "sent": "Sent Items"}


def test_a_merge_of_two_people_on_the_same_email_keeps_it_once(alice, admin_user, people):
    from contacts.services.duplicates import person_merge

    greta, hans = people["greta"], people["hans"]
    email = SyncedEmail.objects.create(
        message_key="<beide@kunde.example>", message_id="<beide@kunde.example>", thread_key="<beide@kunde.example>",
        owner=alice, direction=SyncedEmail.Direction.OUTGOING, folder="Gesendet", subject="An beide",
        sent_at=timezone.now(),
    )
    for person in (greta, hans):
        Activity.objects.create(kind=Activity.Kind.EMAIL, subject="An beide", person=person, synced_email=email,
                                created_by=alice)

    person_merge(survivor=greta, other=hans, user=admin_user)

    assert list(Activity.objects.filter(synced_email=email).values_list("person", flat=True)) == [greta.pk]
