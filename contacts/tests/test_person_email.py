"""Emails written on a person's page (contacts.views.emails, contacts.mailboxes.sending), against
real servers: the user's own SMTP account (aiosmtpd with STARTTLS and a login, crm/tests/smtp.py),
their mailbox (Dovecot, crm/tests/dovecot.py), and the CRM's own SMTP server (another sink)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from contacts.mailboxes import sync
from contacts.mailboxes.models import MailboxConnection, SyncedEmail
from contacts.models import Activity
from contacts.tests.conftest import ALICE_MAIL, PASSWORD
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from contacts.tests.test_form_fuzz import FUZZ, odd_text
from crm import outbox
from crm.models import OutgoingEmail
from crm.tests.processes import free_port
from crm.tests.smtp import SmtpSink

SMTP_PASSWORD = "smtp-Pässwort-7"
GRETA = "greta.groessl@kundenfirma.de"  # not a reserved domain: the outbox delivers it
State, Copy = OutgoingEmail.State, OutgoingEmail.SentCopy


@pytest.fixture
def crm_smtp(settings):
    """The CRM's own server: nothing written as a user's own with an SMTP account may arrive here."""
    sink = SmtpSink().use(settings).start()
    yield sink
    sink.stop()


@pytest.fixture
def user_smtp(imap_server):
    """Alice's provider's SMTP server: STARTTLS with the certificate the CRM trusts for her
    mailbox (CRM_MAILBOX_SSL_CAFILE), and a login."""
    sink = SmtpSink(tls=imap_server.certificate.server_context(), users={ALICE_MAIL: SMTP_PASSWORD}).start()
    yield sink
    sink.stop()


@pytest.fixture
def greta(db):
    person = PersonFactory(first_name="Greta", last_name="Größl", email=GRETA)
    EmploymentFactory(person=person, organization=OrganizationFactory(name="Größl GmbH"))
    return person


def _connect_on_the_page(client, imap_server, user_smtp, *, smtp_password=SMTP_PASSWORD):
    return client.post(reverse("contacts:mailbox"), {
        "host": imap_server.host, "port": imap_server.port, "security": "tls", "username": ALICE_MAIL,
        "password": PASSWORD, "excluded": "",
        "smtp_host": "127.0.0.1", "smtp_port": user_smtp.port, "smtp_security": "starttls",
        "smtp_username": ALICE_MAIL, "smtp_password": smtp_password,
    })


@pytest.fixture
def connected(alice, client_for, imap_server, user_smtp, django_capture_on_commit_callbacks):
    alice.email = ALICE_MAIL
    alice.save()
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=False):  # no sync yet
        response = _connect_on_the_page(client, imap_server, user_smtp)
    assert response.status_code == 302, response.context["form"].errors
    return client


def _write(client, person, capture, subject="Ihr Angebot", body="Guten Tag Frau Größl,\n\nanbei ..."):
    with capture(execute=True):  # the outbox task runs eagerly on commit
        response = client.post(reverse("contacts:person_email", args=[person.pk]), {"subject": subject, "body": body})
    assert response.status_code == 302, response.content.decode()[:3000]
    return OutgoingEmail.objects.get(to=person.email)


def test_it_sends_through_the_users_account_files_the_copy_and_a_sync_adds_no_second_activity(
    connected, alice, greta, imap_server, user_smtp, crm_smtp, django_capture_on_commit_callbacks
):
    connection = MailboxConnection.objects.get(user=alice)
    assert connection.has_smtp and SMTP_PASSWORD not in connection.smtp_password_encrypted
    assert connection.smtp_password() == SMTP_PASSWORD

    email = _write(connected, greta, django_capture_on_commit_callbacks)

    assert email.state == State.SENT and email.sender == alice
    assert email.sent_via == f"{ALICE_MAIL} @ 127.0.0.1:{user_smtp.port}"
    assert email.sent_copy == Copy.FILED, email.sent_copy_detail
    [received] = user_smtp.received(GRETA)
    assert received["login"] == ALICE_MAIL and received["mail_from"] == ALICE_MAIL and received["tls"]
    assert received["message_id"] == email.message_id
    assert crm_smtp.messages == []
    assert len(imap_server.uids(ALICE_MAIL, "Gesendet")) == 1
    assert Activity.objects.filter(person=greta, kind=Activity.Kind.EMAIL).count() == 1

    report = sync.mailbox_sync(connection=connection)

    assert (report.seen, report.stored, report.present) == (1, 0, 1)
    assert Activity.objects.filter(person=greta, kind=Activity.Kind.EMAIL).count() == 1
    assert SyncedEmail.objects.get().message_id == email.message_id
    page = connected.get(greta.get_absolute_url()).content.decode()
    assert "Ihr Angebot" in page and 'data-mail-state="sent"' in page and f"through {ALICE_MAIL}" in page


def test_the_smtp_password_is_never_shown(connected):
    page = connected.get(reverse("contacts:mailbox")).content.decode()
    assert SMTP_PASSWORD not in page and PASSWORD not in page
    assert ALICE_MAIL in page  # the account is named


def test_a_wrong_smtp_password_is_refused_at_its_field_and_nothing_is_saved(
    alice, client_for, imap_server, user_smtp
):
    response = _connect_on_the_page(client_for(alice), imap_server, user_smtp, smtp_password="falsch")
    assert response.status_code == 200
    assert "smtp_password" in response.context["form"].errors
    assert "falsch" not in response.content.decode()
    assert not MailboxConnection.objects.exists()


def test_smtp_down_keeps_it_queued_without_an_error_page_and_delivers_it_once_later(
    connected, greta, user_smtp, django_capture_on_commit_callbacks
):
    user_smtp.stop()
    email = _write(connected, greta, django_capture_on_commit_callbacks)
    assert email.state == State.QUEUED and email.last_reply

    user_smtp.start()
    assert outbox.email_deliver(email_id=email.pk, now=email.next_attempt_at) == outbox.Attempt(State.SENT)
    assert outbox.email_deliver(email_id=email.pk, now=email.next_attempt_at) == outbox.Attempt(None)

    assert len(user_smtp.received(GRETA)) == 1
    email.refresh_from_db()
    assert email.sent_copy == Copy.FILED
    assert Activity.objects.filter(person=greta, kind=Activity.Kind.EMAIL).count() == 1


def test_a_failed_copy_to_the_sent_folder_says_so_and_does_not_send_again(
    connected, greta, user_smtp, django_capture_on_commit_callbacks
):
    MailboxConnection.objects.update(port=free_port())  # the IMAP server is not reachable there
    email = _write(connected, greta, django_capture_on_commit_callbacks)

    assert email.state == State.SENT and email.sent_copy == Copy.FAILED and email.sent_copy_detail
    page = connected.get(greta.get_absolute_url()).content.decode()
    assert "sent, but not filed in the Sent folder" in page
    assert outbox.email_deliver(email_id=email.pk) == outbox.Attempt(None)
    outbox.emails_resume(now=email.created_at)
    assert len(user_smtp.received(GRETA)) == 1


def test_without_an_smtp_account_the_crms_server_sends_it(
    alice, bob, client_for, greta, crm_smtp, settings, django_capture_on_commit_callbacks
):
    bob.email = "bob@vertrieb-firma.de"
    bob.save()
    email = _write(client_for(bob), greta, django_capture_on_commit_callbacks)

    assert email.state == State.SENT and email.sent_via == "" and email.sent_copy == Copy.NONE
    [received] = crm_smtp.received(GRETA)
    assert received["mail_from"] == settings.DEFAULT_FROM_EMAIL.split("<")[-1].rstrip(">")
    assert "bob@vertrieb-firma.de" in received["message"]["Reply-To"]
    assert Activity.objects.filter(person=greta, kind=Activity.Kind.EMAIL, created_by=bob).count() == 1


def test_a_user_without_a_crm_role_does_not_even_see_the_person(nobody, client_for, greta):
    response = client_for(nobody).post(reverse("contacts:person_email", args=[greta.pk]), {"subject": "x", "body": "y"})
    assert response.status_code == 404
    assert not OutgoingEmail.objects.exists()


def test_an_unknown_person_is_not_found(alice, client_for, db):
    assert client_for(alice).get(reverse("contacts:person_email", args=[987654])).status_code == 404


def test_bad_input_is_answered_at_the_field(alice, client_for, greta):
    response = client_for(alice).post(reverse("contacts:person_email", args=[greta.pk]), {"subject": "   ", "body": ""})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"subject", "body"}
    assert not OutgoingEmail.objects.exists() and not Activity.objects.exists()


def test_a_person_without_an_address_gets_a_message_not_an_email(alice, client_for, db):
    person = PersonFactory(email="", email_secondary="")
    response = client_for(alice).post(reverse("contacts:person_email", args=[person.pk]), {"subject": "Hallo", "body": "Text"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert not OutgoingEmail.objects.exists()


def test_an_smtp_server_with_an_untrusted_certificate_is_refused_at_the_server_field(
    alice, client_for, imap_server, tmp_path
):
    from crm.tests.certificates import self_signed

    stranger = SmtpSink(tls=self_signed(tmp_path, "other").server_context(), users={ALICE_MAIL: SMTP_PASSWORD}).start()
    try:
        response = _connect_on_the_page(client_for(alice), imap_server, stranger)
    finally:
        stranger.stop()
    assert response.status_code == 200
    assert "certificate" in " ".join(response.context["form"].errors["smtp_host"])
    assert not MailboxConnection.objects.exists()


def test_it_sends_over_implicit_tls_too(
    alice, client_for, imap_server, greta, crm_smtp, django_capture_on_commit_callbacks
):
    alice.email = ALICE_MAIL
    alice.save()
    implicit = SmtpSink(tls=imap_server.certificate.server_context(), implicit_tls=True,
                        users={ALICE_MAIL: SMTP_PASSWORD}).start()
    try:
        sync.mailbox_connect(
            user=alice, host=imap_server.host, port=imap_server.port, security="tls", username=ALICE_MAIL,
            password=PASSWORD, smtp_host="127.0.0.1", smtp_port=implicit.port, smtp_security="ssl",
            smtp_username=ALICE_MAIL, smtp_password=SMTP_PASSWORD,
        )
        email = _write(client_for(alice), greta, django_capture_on_commit_callbacks)
    finally:
        implicit.stop()
    assert email.state == State.SENT and email.sent_copy == Copy.FILED
    [received] = implicit.received(GRETA)
    assert received["tls"] and received["login"] == ALICE_MAIL
    assert crm_smtp.messages == []


def test_leaving_the_smtp_server_empty_forgets_the_account(connected, alice, imap_server):
    response = connected.post(reverse("contacts:mailbox"), {
        "host": imap_server.host, "port": imap_server.port, "security": "tls", "username": ALICE_MAIL,
        "password": "", "excluded": "", "smtp_host": "", "smtp_username": ALICE_MAIL, "smtp_password": "",
    })
    assert response.status_code == 302
    connection = MailboxConnection.objects.get(user=alice)
    assert not connection.has_smtp and connection.smtp_password_encrypted == "" and connection.smtp_username == ""


def test_a_copy_left_pending_by_a_stopped_worker_is_reported_not_filed(connected, greta, user_smtp, settings):
    email = outbox.email_queue(to=GRETA, subject="Hallo", body="Text", sender=MailboxConnection.objects.get().user)
    OutgoingEmail.objects.filter(pk=email.pk).update(  # as a worker leaves it when killed after the send
        state=State.SENT, sent_at=email.created_at, sent_copy=Copy.PENDING,
    )
    later = email.created_at + timedelta(seconds=settings.CRM_EMAIL_LOST_AFTER_SECONDS + 1)
    outbox.emails_resume(now=later)
    email.refresh_from_db()
    assert email.state == State.SENT and email.sent_copy == Copy.FAILED and "interrupted" in email.sent_copy_detail
    assert user_smtp.messages == []  # and nothing was sent again


@FUZZ
@given(values=st.lists(odd_text, min_size=6, max_size=6))
def test_odd_input_never_causes_a_500(alice, client, greta, settings, values):
    """The SMTP fields of the mailbox form (the servers always 127.0.0.1, closed ports or none:
    test traffic stays on this machine) and the email form."""
    settings.CRM_MAILBOX_TIMEOUT = 1
    client.force_login(alice)
    smtp = dict(zip(["smtp_port", "smtp_security", "smtp_username", "smtp_password"], values, strict=False))
    response = client.post(reverse("contacts:mailbox"), {
        "host": "127.0.0.1", "port": "9", "security": "tls", "username": "a", "password": "b", "smtp_host": "127.0.0.1", **smtp,
    })
    assert response.status_code in (200, 302)
    response = client.post(reverse("contacts:person_email", args=[greta.pk]), {"subject": values[4], "body": values[5]})
    assert response.status_code in (200, 302)
