"""Email in and out: threaded replies, inbound replies on their ticket, nothing dropped."""

from email.message import EmailMessage as MimeMessage
from io import StringIO

import pytest
from django.core.management import call_command

from contacts.tests.factories import EmploymentFactory, PersonFactory
from service import services
from service.models import InboundEmail, Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def mime(*, subject="Drucker defekt", sender="kunde@example.de", body="Der Drucker druckt nicht.", **headers) -> bytes:
    message = MimeMessage()
    message["From"] = f"Kunde <{sender}>"
    message["To"] = "service@crm.local"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def test_an_unknown_message_becomes_a_new_ticket_for_the_known_person(support):
    person = PersonFactory(email="kunde@example.de")
    inbound = services.email_ingest(raw=mime(Message_ID="<a1@kunde.example>"))
    assert inbound.status == InboundEmail.Status.NEW_TICKET
    ticket = inbound.ticket
    assert ticket.person == person and ticket.subject == "Drucker defekt" and ticket.channel == "email"
    assert ticket.messages.get().body == "Der Drucker druckt nicht."


def test_a_reply_is_threaded_and_the_answer_with_in_reply_to_lands_on_its_ticket(
    support, mailoutbox, django_capture_on_commit_callbacks
):
    inbound = services.email_ingest(raw=mime(Message_ID="<a1@kunde.example>"))
    ticket = inbound.ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, author=support["anna"], body="Bitte neu starten.", public=True)
    sent = mailoutbox[-1]
    assert sent.to == ["kunde@example.de"]
    assert sent.extra_headers["In-Reply-To"] == "<a1@kunde.example>"
    assert sent.extra_headers["Message-ID"] == reply.message_id
    assert ticket.number in sent.subject
    answer = services.email_ingest(
        raw=mime(subject="Re: etwas ganz anderes", body="Hat geklappt.", Message_ID="<a2@kunde.example>", In_Reply_To=reply.message_id)
    )
    assert answer.status == InboundEmail.Status.REPLY and answer.ticket == ticket
    assert Ticket.objects.count() == 1
    assert ticket.messages.filter(kind=TicketMessage.Kind.CUSTOMER).count() == 2


def test_the_ticket_number_in_the_subject_also_matches(support):
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(email="kunde@example.de"))
    inbound = services.email_ingest(raw=mime(subject=f"AW: [{ticket.number}] Rechnung"))
    assert inbound.ticket == ticket


# --- a ticket number in the subject is not a key: only the ticket's customer may use it ---


def numbered(ticket, sender, **headers) -> bytes:
    return mime(subject=f"AW: [{ticket.number}] Rechnung", sender=sender, body="Bitte an mich überweisen.", **headers)


def test_a_stranger_naming_a_ticket_number_gets_a_ticket_of_their_own_linked_as_possibly_related(support):
    customer = PersonFactory(email="kunde@example.de")
    ticket = services.ticket_create(subject="Rechnung", description="Rechnung doppelt.", person=customer,
                                    from_email="kunde@example.de")
    inbound = services.email_ingest(raw=numbered(ticket, "angreifer@evil.example", Message_ID="<x1@evil.example>"))
    assert inbound.status == InboundEmail.Status.NEW_TICKET
    new = inbound.ticket
    assert new != ticket and new.person is None
    assert list(new.possibly_related.all()) == [ticket]
    assert list(ticket.possibly_related.all()) == [new]  # both ways
    assert ticket.messages.count() == 1  # nothing landed in the customer's conversation
    note = new.messages.get(kind=TicketMessage.Kind.NOTE)
    assert ticket.number in note.body and "angreifer@evil.example" in note.body


def test_the_number_with_a_thread_id_of_ours_from_anyone_stays_on_the_ticket(support):
    ticket = services.email_ingest(raw=mime(Message_ID="<t1@kunde.example>")).ticket
    inbound = services.email_ingest(raw=numbered(ticket, "kollege@anderswo.example", In_Reply_To="<t1@kunde.example>"))
    assert inbound.ticket == ticket and inbound.status == InboundEmail.Status.REPLY


def test_the_tickets_person_may_write_with_the_number_from_their_second_address(support):
    customer = PersonFactory(email="kunde@example.de", email_secondary="privat@example.de")
    ticket = services.ticket_create(subject="Rechnung", person=customer)
    assert services.email_ingest(raw=numbered(ticket, "Privat@Example.de")).ticket == ticket


def test_a_colleague_at_the_tickets_organization_may_write_with_the_number(support):
    customer = PersonFactory(email="kunde@example.de")
    employment = EmploymentFactory(person=customer)
    EmploymentFactory(person=PersonFactory(email="buchhaltung@example.de"), organization=employment.organization)
    ticket = services.ticket_create(subject="Rechnung", person=customer)
    assert ticket.organization == employment.organization
    inbound = services.email_ingest(raw=numbered(ticket, "buchhaltung@example.de"))
    assert inbound.ticket == ticket and inbound.status == InboundEmail.Status.REPLY


def test_someone_already_on_the_thread_may_write_with_the_number(support):
    # An unknown sender opened the ticket; their next mail carries only the number.
    ticket = services.email_ingest(raw=mime(sender="neu@example.org", Message_ID="<n1@example.org>")).ticket
    assert ticket.person is None
    assert services.email_ingest(raw=numbered(ticket, "neu@example.org")).ticket == ticket
    assert services.email_ingest(raw=numbered(ticket, "jemand@example.org")).ticket != ticket


def test_a_person_of_another_organization_is_a_stranger_to_the_ticket(support):
    customer = PersonFactory(email="kunde@example.de")
    EmploymentFactory(person=customer)
    EmploymentFactory(person=PersonFactory(email="andere@example.de"))  # another organization
    ticket = services.ticket_create(subject="Rechnung", person=customer)
    inbound = services.email_ingest(raw=numbered(ticket, "andere@example.de"))
    assert inbound.ticket != ticket and inbound.ticket.possibly_related.get() == ticket


def test_possibly_related_tickets_show_on_both_pages_to_those_who_may_see_them(support, client):
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(email="kunde@example.de"), team=support["team"])
    new = services.email_ingest(raw=numbered(ticket, "angreifer@evil.example")).ticket
    new.team = support["team"]
    new.save()
    client.force_login(support["anna"])
    for shown, other in ((ticket, new), (new, ticket)):
        body = client.get(shown.get_absolute_url()).content.decode()
        assert "Possibly related tickets" in body and other.get_absolute_url() in body
    client.force_login(support["outsider"])  # sees neither
    assert client.get(ticket.get_absolute_url()).status_code == 404
    new.team = support["other_team"]
    new.save()
    body = client.get(new.get_absolute_url()).content.decode()
    assert ticket.get_absolute_url() not in body and "Possibly related tickets" not in body


def test_a_reply_reopens_a_resolved_ticket(support):
    ticket = services.email_ingest(raw=mime(Message_ID="<b1@kunde.example>")).ticket
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED)
    services.email_ingest(raw=mime(References="<b1@kunde.example>", Message_ID="<b2@kunde.example>"))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN and ticket.reopened_count == 1


def test_the_same_message_twice_adds_nothing_but_is_kept(support):
    raw = mime(Message_ID="<c1@kunde.example>")
    services.email_ingest(raw=raw)
    services.email_ingest(raw=raw)
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 2


def test_a_malformed_message_is_kept_and_becomes_a_ticket(support):
    raw = b"\xff\xfe\x00garbage without headers\x00\r\n\r\n\x80\x81"
    inbound = services.email_ingest(raw=raw)
    assert bytes(InboundEmail.objects.get(pk=inbound.pk).raw) == raw
    assert inbound.ticket is not None
    assert inbound.status == InboundEmail.Status.NEW_TICKET
    assert "garbage" in inbound.ticket.description


def test_a_message_whose_processing_fails_is_kept_with_the_error(support, monkeypatch):
    def explode(inbound, message):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "_process", explode)
    inbound = services.email_ingest(raw=mime())
    inbound.refresh_from_db()
    assert "database hiccup" in inbound.error
    assert inbound.ticket is not None  # the fallback ticket holds the raw text


def test_the_ingest_command_reads_a_file(support, tmp_path):
    path = tmp_path / "mail.eml"
    path.write_bytes(mime(Message_ID="<d1@kunde.example>"))
    out = StringIO()
    call_command("service_ingest_email", str(path), stdout=out)
    assert Ticket.objects.count() == 1
    assert "new_ticket" in out.getvalue()


class FakeIMAP:
    """Just enough of imaplib.IMAP4 for the fetch command: two unseen messages."""

    def __init__(self, messages):
        self.messages = messages
        self.seen = []

    def login(self, user, password):
        return "OK", [b""]

    def select(self, folder):
        return "OK", [str(len(self.messages)).encode()]

    def search(self, charset, criterion):
        return "OK", [b" ".join(str(i + 1).encode() for i in range(len(self.messages)))]

    def fetch(self, number, parts):
        return "OK", [(b"1 (RFC822 {n})", self.messages[int(number) - 1]), b")"]

    def store(self, number, flags, value):
        self.seen.append(int(number))
        return "OK", [b""]

    def logout(self):
        return "BYE", [b""]


def test_the_imap_command_ingests_unseen_messages_and_marks_them_seen(support, settings, monkeypatch):
    from service.management.commands import service_fetch_imap

    settings.SERVICE_IMAP_HOST = "127.0.0.1"
    fake = FakeIMAP([mime(Message_ID="<e1@x>"), mime(subject="Zweites", Message_ID="<e2@x>")])
    monkeypatch.setattr(service_fetch_imap, "connect", lambda: fake)
    call_command("service_fetch_imap", stdout=StringIO())
    assert Ticket.objects.count() == 2
    assert fake.seen == [1, 2]


def test_attachments_of_an_email_are_kept_on_the_message(support, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    message = MimeMessage()
    message["From"] = "kunde@example.de"
    message["Subject"] = "Mit Anhang"
    message["Message-ID"] = "<f1@kunde.example>"
    message.set_content("Siehe Anhang.")
    message.add_attachment(b"%PDF-1.4 Rechnung", maintype="application", subtype="pdf", filename="rechnung.pdf")
    inbound = services.email_ingest(raw=bytes(message))
    stored = inbound.ticket.messages.get().attachments.get()
    assert stored.name == "rechnung.pdf" and stored.size == len(b"%PDF-1.4 Rechnung")
    assert inbound.ticket.description == "Siehe Anhang."


def test_a_reply_with_an_attachment_mails_it(support, settings, tmp_path, mailoutbox, client, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.MEDIA_ROOT = tmp_path
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(email="k@example.de"), category=support["billing"])
    client.force_login(support["anna"])
    upload = SimpleUploadedFile("anleitung.txt", b"Schritt 1", content_type="text/plain")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("service:ticket_reply", args=[ticket.pk]), {"body": "Anbei", "public": "1", "attachment": upload})
    assert mailoutbox[-1].attachments[0][0] == "anleitung.txt"
    stored = ticket.messages.get(kind="reply").attachments.get()
    response = client.get(reverse("service:attachment_download", args=[stored.pk]))
    assert b"".join(response.streaming_content) == b"Schritt 1"
    client.force_login(support["outsider"])
    assert client.get(reverse("service:attachment_download", args=[stored.pk])).status_code == 404
