"""The mailbox page (connect, state, pause, disconnect) and marking a synced email private, as
the mailbox's user, a teammate and a user without a CRM role; against a real Dovecot."""

import logging

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from contacts.mailboxes import sync
from contacts.mailboxes.models import MailboxConnection, SyncedEmail
from contacts.models import Activity
from contacts.tests.conftest import ALICE_MAIL, PASSWORD
from contacts.tests.factories import PersonFactory
from contacts.tests.mail import message
from contacts.tests.test_form_fuzz import FUZZ, odd_text

PAGE = reverse("contacts:mailbox")


def _form(server, **changes):
    data = {"host": server.host, "port": server.port, "security": "tls", "username": ALICE_MAIL, "password": PASSWORD,
            "excluded": ""}
    return {**data, **changes}


def _field_error(response, field: str) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def test_it_shows_the_empty_form(alice, client_for):
    response = client_for(alice).get(PAGE)
    assert response.status_code == 200
    assert b'data-testid="mailbox-form"' in response.content and b"mailbox-state" not in response.content


def test_a_user_without_a_crm_role_may_not_connect_a_mailbox(nobody, client_for):
    assert client_for(nobody).get(PAGE).status_code == 403


def test_it_connects_after_a_successful_test_and_never_shows_the_password(imap_server, alice, client_for, django_capture_on_commit_callbacks):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):  # the first sync runs (Celery is eager in tests)
        response = client.post(PAGE, _form(imap_server, excluded="Privat@Example.com\n\nnewsletter.example"))
    assert response.status_code == 302
    connection = MailboxConnection.objects.get(user=alice)
    assert PASSWORD not in connection.password_encrypted and connection.password() == PASSWORD
    assert connection.excluded == "privat@example.com\nnewsletter.example"
    assert connection.verified_at is not None and connection.last_success_at is not None
    page = client.get(PAGE).content.decode()
    assert PASSWORD not in page and connection.password_encrypted not in page
    assert "Gesendet" in page and 'data-testid="mailbox-state"' in page


def test_a_wrong_password_is_explained_at_the_password_field_and_nothing_is_saved(imap_server, alice, client_for):
    response = client_for(alice).post(PAGE, _form(imap_server, password="falsch"))
    assert response.status_code == 200
    assert "refused the user name or password" in _field_error(response, "password")
    assert "falsch" not in response.content.decode()
    assert not MailboxConnection.objects.exists()


def test_an_unknown_server_is_explained_at_the_server_field(alice, client_for):
    response = client_for(alice).post(PAGE, {"host": "imap.invalid", "port": 993, "security": "tls", "username": "a",
                                              "password": "b", "excluded": ""})
    assert response.status_code == 200
    assert "could not be found" in _field_error(response, "host")


@pytest.mark.parametrize("changes, field", [
    ({"port": "70000"}, "port"), ({"port": "x"}, "port"), ({"host": "imap://mail.example.com"}, "host"),
    ({"excluded": "kein eintrag"}, "excluded"), ({"security": "ssl3"}, "security"), ({"password": ""}, "password"),
])
def test_bad_input_is_answered_at_the_field(alice, client_for, changes, field):
    data = {"host": "127.0.0.1", "port": 993, "security": "tls", "username": "a", "password": "b", "excluded": "", **changes}
    response = client_for(alice).post(PAGE, data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)


def test_changing_the_connection_without_a_password_keeps_the_stored_one(imap_server, alice, client_for):
    client = client_for(alice)
    client.post(PAGE, _form(imap_server))
    response = client.post(PAGE, _form(imap_server, password="", excluded="spam.example"))
    assert response.status_code == 302
    connection = MailboxConnection.objects.get(user=alice)
    assert connection.password() == PASSWORD and connection.excluded == "spam.example"


def test_sync_now_runs_the_sync(imap_server, alice, client_for, django_capture_on_commit_callbacks):
    client = client_for(alice)
    client.post(PAGE, _form(imap_server))
    MailboxConnection.objects.update(last_run_at=None)
    with django_capture_on_commit_callbacks(execute=True):  # Celery is eager in tests
        response = client.post(reverse("contacts:mailbox_sync"))
    assert response.status_code == 302
    assert MailboxConnection.objects.get(user=alice).last_run_at is not None


def test_a_user_without_a_mailbox_gets_404_from_its_actions(alice, client_for):
    client = client_for(alice)
    for name in ("contacts:mailbox_sync", "contacts:mailbox_pause", "contacts:mailbox_disconnect"):
        assert client.post(reverse(name)).status_code == 404


def test_it_pauses_resumes_and_disconnects(imap_server, alice, client_for):
    client = client_for(alice)
    client.post(PAGE, _form(imap_server))
    client.post(reverse("contacts:mailbox_pause"), {"pause": "1"})
    assert MailboxConnection.objects.get(user=alice).is_paused
    assert "Paused" in client.get(PAGE).content.decode()
    client.post(reverse("contacts:mailbox_pause"), {"pause": "0"})
    assert not MailboxConnection.objects.get(user=alice).is_paused
    client.post(reverse("contacts:mailbox_disconnect"))
    assert not MailboxConnection.objects.exists()


def test_the_page_shows_the_counts_and_the_error_in_words(imap_server, alice, client_for):
    alice.email = ALICE_MAIL
    alice.save()
    PersonFactory(email="kundin@example.de")
    imap_server.append(ALICE_MAIL, "INBOX", message(sender="kundin@example.de", to=ALICE_MAIL, subject="Hallo"),
                       message(sender="x@unbekannt.example", to=ALICE_MAIL, subject="Werbung"))
    connection = sync.mailbox_connect(user=alice, host=imap_server.host, port=imap_server.port, security="tls",
                                      username=ALICE_MAIL, password=PASSWORD)
    sync.mailbox_sync(connection=connection)
    imap_server.stop()
    sync.mailbox_sync(connection=connection)

    response = client_for(alice).get(PAGE)

    html = response.content.decode()
    assert 'data-testid="count-seen">2<' in html and 'data-testid="count-stored">1<' in html
    assert 'data-testid="count-skipped">1<' in html
    assert "The server refused the connection on this port." in html


def test_the_password_never_reaches_the_log(imap_server, alice, caplog):
    connection = sync.mailbox_connect(user=alice, host=imap_server.host, port=imap_server.port, security="tls",
                                      username=ALICE_MAIL, password=PASSWORD)
    connection.host = "imap.invalid"
    connection.save()
    with caplog.at_level(logging.DEBUG):
        sync.mailbox_sync(connection=connection)
    assert PASSWORD not in caplog.text and PASSWORD not in repr(sync.account_of(connection))


@pytest.fixture
def synced(imap_server, alice):
    alice.email = ALICE_MAIL
    alice.save()
    person = PersonFactory(email="kundin@example.de")
    imap_server.append(ALICE_MAIL, "INBOX", message(sender="kundin@example.de", to=ALICE_MAIL, subject="Gehaltsfrage"))
    connection = sync.mailbox_connect(user=alice, host=imap_server.host, port=imap_server.port, security="tls",
                                      username=ALICE_MAIL, password=PASSWORD)
    sync.mailbox_sync(connection=connection)
    return person, SyncedEmail.objects.get()


def test_its_owner_marks_a_synced_email_private_on_the_timeline(synced, alice, bob, client_for):
    person, email = synced
    client = client_for(alice)
    page = client.get(person.get_absolute_url()).content.decode()
    assert reverse("contacts:synced_email_private", args=[email.pk]) in page

    response = client.post(reverse("contacts:synced_email_private", args=[email.pk]), {"private": "1"})

    assert response.status_code == 302
    assert Activity.objects.get(synced_email=email).private_to == alice
    assert "Gehaltsfrage" in client.get(person.get_absolute_url()).content.decode()
    assert "Gehaltsfrage" not in client_for(bob).get(person.get_absolute_url()).content.decode()


def test_a_teammate_cannot_mark_someone_elses_email_private(synced, bob, client_for):
    _person, email = synced
    response = client_for(bob).post(reverse("contacts:synced_email_private", args=[email.pk]), {"private": "1"})
    assert response.status_code == 404
    assert Activity.objects.get(synced_email=email).private_to is None
    page = client_for(bob).get(_person.get_absolute_url()).content.decode()
    assert reverse("contacts:synced_email_private", args=[email.pk]) not in page


def test_a_user_without_a_crm_role_cannot_mark_an_email_private(synced, nobody, client_for):
    _person, email = synced
    assert client_for(nobody).post(reverse("contacts:synced_email_private", args=[email.pk]), {"private": "1"}).status_code == 403


@pytest.mark.django_db
@FUZZ
@given(values=st.lists(odd_text, min_size=5, max_size=5))
def test_the_mailbox_form_never_fails(alice, client, settings, values):
    """Odd input everywhere but the server (always 127.0.0.1: test traffic stays on this machine)."""
    settings.CRM_MAILBOX_TIMEOUT = 1
    client.force_login(alice)
    data = dict(zip(["port", "security", "username", "password", "excluded"], values, strict=True))
    response = client.post(PAGE, {"host": "127.0.0.1", **data})
    assert response.status_code in (200, 302)
