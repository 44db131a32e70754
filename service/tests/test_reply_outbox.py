"""Ticket email through the outbox, against a real SMTP server (aiosmtpd on 127.0.0.1) that is
taken away and brought back: the agent never sees a 500, nothing is lost, each message arrives
once, and the ticket page shows every reply's mail state with a way to send it again."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contacts.tests.factories import PersonFactory
from crm import outbox
from crm.models import OutgoingEmail
from service import services
from service.models import Ticket, TicketMessage
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
State = OutgoingEmail.State
CUSTOMER = "kundin@kunde-gmbh.de"


@pytest.fixture
def ticket(support):
    return TicketFactory(team=support["team"], assignee=support["anna"], person=PersonFactory(email=CUSTOMER),
                         message_id="<erste@kunde-gmbh.de>")


def reply(client, ticket, body, capture, **extra):
    with capture(execute=True):
        return client.post(reverse("service:ticket_reply", args=[ticket.pk]), {"body": body, "public": "1", **extra})


def test_an_smtp_outage_loses_nothing_and_sends_each_reply_once(
    client, support, ticket, smtp_sink, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(support["anna"])
    smtp_sink.stop()  # the mail server goes away

    upload = SimpleUploadedFile("anleitung.txt", b"Schritt 1", content_type="text/plain")
    first = reply(client, ticket, "Wir kümmern uns.", django_capture_on_commit_callbacks, attachment=upload)
    second = reply(client, ticket, "Der Techniker kommt morgen.", django_capture_on_commit_callbacks, status="resolved")
    assert (first.status_code, second.status_code) == (302, 302)  # no 500
    replies = list(ticket.messages.filter(kind=TicketMessage.Kind.REPLY).order_by("pk"))
    assert [m.body for m in replies] == ["Wir kümmern uns.", "Der Techniker kommt morgen."]
    emails = list(OutgoingEmail.objects.order_by("pk"))
    assert len(emails) == 3  # two replies and the satisfaction survey of the resolved ticket
    assert all(e.state == State.QUEUED and e.attempts == 1 and "refused" in e.last_reply.lower() for e in emails)

    page = client.get(ticket.get_absolute_url()).content.decode()
    assert page.count('data-mail-state="queued"') == 3 and "1 try failed" in page

    smtp_sink.start()  # back again; the beat job (or the task's own retry) sends what waited
    outbox.emails_resume(now=timezone.now() + timedelta(hours=1))
    outbox.emails_resume(now=timezone.now() + timedelta(hours=2))

    assert [e.state for e in OutgoingEmail.objects.order_by("pk")] == [State.SENT] * 3
    received = smtp_sink.received(CUSTOMER)
    assert sorted(m["message_id"] for m in received) == sorted(e.message_id for e in emails)  # each exactly once
    by_id = {m["message_id"]: m["message"] for m in received}
    first_mail, second_mail = by_id[replies[0].message_id], by_id[replies[1].message_id]
    assert first_mail["In-Reply-To"] == "<erste@kunde-gmbh.de>" and second_mail["In-Reply-To"] == replies[0].message_id
    assert [p.get_filename() for p in first_mail.iter_attachments()] == ["anleitung.txt"]
    assert f"[{ticket.number}]" in first_mail["Subject"]

    page = client.get(ticket.get_absolute_url()).content.decode()
    assert page.count('data-mail-state="sent"') == 3


def test_a_refused_address_shows_the_reply_and_can_be_sent_again(client, support, ticket, smtp_sink, django_capture_on_commit_callbacks):
    smtp_sink.refuse[CUSTOMER] = "550 5.1.1 Mailbox unavailable"
    client.force_login(support["anna"])
    assert reply(client, ticket, "Hallo", django_capture_on_commit_callbacks).status_code == 302
    email = OutgoingEmail.objects.get()
    assert (email.state, email.regarding) == (State.FAILED, ticket)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Email failed after 1 try" in page and "550 5.1.1 Mailbox unavailable" in page
    resend = reverse("outgoing_email_resend", args=[email.pk])
    assert resend in page

    # Another team's agent does not see the ticket (404); sales sees it but may not change it (403).
    client.force_login(support["outsider"])
    assert client.post(resend).status_code == 404
    from conftest import make_user
    from crm.roles import Role

    viewer = make_user("viola", Role.ADMIN)
    client.force_login(viewer)
    assert resend in client.get(ticket.get_absolute_url()).content.decode()

    del smtp_sink.refuse[CUSTOMER]  # the customer fixed their mailbox
    client.force_login(support["anna"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resend, {"next": ticket.get_absolute_url()})
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    email.refresh_from_db()
    assert (email.state, email.attempts) == (State.SENT, 1) and len(smtp_sink.received(CUSTOMER)) == 1
    assert client.post(resend).status_code == 302 and len(smtp_sink.messages) == 1  # sent mail is not sent again


def test_a_reader_who_may_not_change_the_ticket_gets_403_on_resend(client, support, alice, ticket, django_capture_on_commit_callbacks):
    from contacts.tests.factories import OrganizationFactory

    organization = OrganizationFactory(owner=alice)
    Ticket.objects.filter(pk=ticket.pk).update(organization=organization)
    email = outbox.email_queue(to="kein-at-zeichen", subject="S", body="B", regarding=ticket)
    client.force_login(alice)  # a sales rep who reads the tickets of her customers
    assert client.get(ticket.get_absolute_url()).status_code == 200
    assert client.post(reverse("outgoing_email_resend", args=[email.pk])).status_code == 403


def test_the_ticket_page_queries_do_not_grow_with_the_replies(client, support, ticket, django_assert_max_num_queries):
    client.force_login(support["anna"])
    services.ticket_reply(ticket=ticket, author=support["anna"], body="Eins", public=True)
    url = ticket.get_absolute_url()
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    for i in range(10):
        services.ticket_reply(ticket=ticket, author=support["anna"], body=f"Antwort {i}", public=True)
    with django_assert_max_num_queries(60) as many:
        html = client.get(url).content.decode()
    assert len(few.captured_queries) == len(many.captured_queries)
    assert html.count('data-mail-state="queued"') == 11
