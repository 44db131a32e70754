"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1): stored first, delivered once,
retried with backoff while the server is away, failed with the server's reply when it refuses,
taken back from killed workers and lost tasks, never delivered to reserved domains unless allowed."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from crm import outbox
from crm.celery import app
from crm.models import OutgoingEmail
from crm.tests.smtp import free_port

pytestmark = pytest.mark.django_db
State = OutgoingEmail.State
LATER = timedelta(days=1)  # far enough for every backoff and every "lost" threshold


def queue(capture, **kwargs) -> OutgoingEmail:
    values = {"to": "kunde@firma.de", "subject": "Ihre Anfrage", "body": "Guten Tag"} | kwargs
    with capture(execute=True):
        email = outbox.email_queue(**values)
    email.refresh_from_db()
    return email


@pytest.mark.parametrize("address", [
    "a@example.com", "a@EXAMPLE.org", "a@mail.example.net", "a@shop.test", "a@x.example", "a@y.invalid",
    "a@localhost", "a@dev.localhost", "Name <a@example.com>",
])
def test_reserved_domains_are_recognised(address):
    assert outbox.is_reserved_address(address)


@pytest.mark.parametrize("address", ["a@example.de", "a@müller-bau.de", "a@notexample.com", "a@example.com.de", "a@testing.de"])
def test_real_domains_are_not_reserved(address):
    assert not outbox.is_reserved_address(address)


def test_it_delivers_once_with_the_servers_reply(smtp_sink, django_capture_on_commit_callbacks):
    email = queue(django_capture_on_commit_callbacks, headers={"In-Reply-To": "<a@b>"}, reply_to=["agent@firma.de"],
                  attachments=[("notiz.txt", "Hallo Welt", "text/plain")])
    assert (email.state, email.attempts) == (State.SENT, 1)
    assert email.sent_at is not None and email.last_reply == "250 2.0.0 Ok: queued as sink-1"
    [received] = smtp_sink.received("kunde@firma.de")
    assert received["message_id"] == email.message_id and received["subject"] == "Ihre Anfrage"
    message = received["message"]
    assert message["In-Reply-To"] == "<a@b>" and message["Reply-To"] == "agent@firma.de"
    assert [part.get_filename() for part in message.iter_attachments()] == ["notiz.txt"]
    # The task delivered twice (acks_late after a restart), the beat job, a second claim: nothing more.
    assert outbox.email_deliver(email_id=email.pk) == outbox.Attempt(None)
    outbox.emails_resume(now=timezone.now() + LATER)
    assert len(smtp_sink.messages) == 1


def test_a_server_that_is_away_is_tried_again_with_growing_pauses(smtp_sink, settings, django_capture_on_commit_callbacks):
    settings.CRM_EMAIL_RETRY_SECONDS, settings.CRM_EMAIL_MAX_ATTEMPTS = 30, 3
    smtp_sink.stop()
    email = queue(django_capture_on_commit_callbacks)
    assert (email.state, email.attempts) == (State.QUEUED, 1)
    assert "Connection refused" in email.last_reply or "ConnectionRefusedError" in email.last_reply
    assert email.claimed_at is None and email.next_attempt_at > timezone.now()  # the claim is given back
    attempt = outbox.email_deliver(email_id=email.pk)
    assert attempt == outbox.Attempt(State.QUEUED, retry_in=60)  # 30 s, then 60 s, ...
    assert outbox.backoff_seconds(1) == 30 and outbox.backoff_seconds(20) == 3600  # ... at most an hour
    assert outbox.email_deliver(email_id=email.pk) == outbox.Attempt(State.FAILED)
    email.refresh_from_db()
    assert (email.state, email.attempts) == (State.FAILED, 3) and email.last_reply
    assert smtp_sink.messages == []

    smtp_sink.start()
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.email_resend(email=email)
    email.refresh_from_db()
    assert (email.state, email.attempts) == (State.SENT, 1)
    assert len(smtp_sink.received("kunde@firma.de")) == 1
    assert not outbox.email_resend(email=email)  # sent mail is never sent again


def test_a_refused_recipient_fails_at_once_with_the_reply(smtp_sink, django_capture_on_commit_callbacks):
    smtp_sink.refuse["weg@firma.de"] = "550 5.1.1 No such user"
    email = queue(django_capture_on_commit_callbacks, to="weg@firma.de")
    assert (email.state, email.attempts) == (State.FAILED, 1)
    assert email.last_reply == "weg@firma.de: 550 5.1.1 No such user"


def test_a_temporary_refusal_is_tried_again(smtp_sink, django_capture_on_commit_callbacks):
    smtp_sink.refuse["voll@firma.de"] = "452 4.2.2 Mailbox full"
    email = queue(django_capture_on_commit_callbacks, to="voll@firma.de")
    assert (email.state, email.last_reply) == (State.QUEUED, "voll@firma.de: 452 4.2.2 Mailbox full")
    del smtp_sink.refuse["voll@firma.de"]
    with django_capture_on_commit_callbacks(execute=True):
        outbox.emails_resume(now=timezone.now() + LATER)
    email.refresh_from_db()
    assert email.state == State.SENT and len(smtp_sink.messages) == 1


def test_the_beat_job_takes_back_a_killed_workers_claim_and_lost_tasks(smtp_sink, django_capture_on_commit_callbacks):
    now = timezone.now()
    # A worker claimed this one and died; this one's task never reached the broker; this one is fresh.
    killed = OutgoingEmail.objects.create(from_email="crm@firma.de", to="a@firma.de", subject="A", body="x", message_id="<a@crm>",
                                          state=State.SENDING, attempts=1, claimed_at=now - timedelta(hours=1))
    lost = OutgoingEmail.objects.create(from_email="crm@firma.de", to="b@firma.de", subject="B", body="x", message_id="<b@crm>",
                                        next_attempt_at=now - timedelta(hours=1))
    fresh = OutgoingEmail.objects.create(from_email="crm@firma.de", to="c@firma.de", subject="C", body="x", message_id="<c@crm>")
    busy = OutgoingEmail.objects.create(from_email="crm@firma.de", to="d@firma.de", subject="D", body="x", message_id="<d@crm>",
                                        state=State.SENDING, attempts=1, claimed_at=now)
    assert outbox.emails_resume(now=now) == 2
    states = dict(OutgoingEmail.objects.values_list("to", "state"))
    assert states == {"a@firma.de": State.SENT, "b@firma.de": State.SENT, "c@firma.de": State.QUEUED, "d@firma.de": State.SENDING}
    assert sorted(m["rcpt"] for m in smtp_sink.messages) == ["a@firma.de", "b@firma.de"]
    assert OutgoingEmail.objects.get(pk=killed.pk).attempts == 2
    assert {lost.pk, fresh.pk, busy.pk} <= set(OutgoingEmail.objects.values_list("pk", flat=True))


def test_old_sent_mail_is_forgotten_failed_mail_is_kept(settings):
    settings.CRM_EMAIL_KEEP_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    for state in (State.SENT, State.FAILED, State.SUPPRESSED):
        OutgoingEmail.objects.create(from_email="c@f.de", to="a@firma.de", subject=state, body="x", message_id=f"<{state}>",
                                     state=state, created_at=old)
    outbox.emails_resume()
    assert list(OutgoingEmail.objects.values_list("state", flat=True)) == [State.FAILED]


def test_reserved_addresses_are_stored_but_never_delivered(smtp_sink, settings, django_capture_on_commit_callbacks):
    email = queue(django_capture_on_commit_callbacks, to="kunde@example.com")
    assert (email.state, email.get_state_display()) == (State.SUPPRESSED, "Not sent: reserved address")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.emails_resume(now=timezone.now() + LATER)
        assert not outbox.email_resend(email=email)
    assert smtp_sink.messages == []
    # Told to, the outbox delivers to them (tests and staging systems that read their mail).
    settings.CRM_EMAIL_DELIVER_RESERVED = True
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.email_resend(email=email)
    email.refresh_from_db()
    assert email.state == State.SENT and len(smtp_sink.received("kunde@example.com")) == 1


def test_a_queued_mail_to_a_now_reserved_address_is_not_delivered(django_capture_on_commit_callbacks, settings):
    settings.CRM_EMAIL_DELIVER_RESERVED = True
    with django_capture_on_commit_callbacks(execute=False):
        email = outbox.email_queue(to="kunde@example.com", subject="S", body="B")
    settings.CRM_EMAIL_DELIVER_RESERVED = False
    assert outbox.email_deliver(email_id=email.pk).state == State.SUPPRESSED
    assert mail.outbox == []


def test_an_unusable_address_is_a_failed_row_not_an_error(django_capture_on_commit_callbacks):
    email = queue(django_capture_on_commit_callbacks, to="kein-at-zeichen")
    assert email.state == State.FAILED and "kein-at-zeichen" in email.last_reply


def test_nothing_is_delivered_before_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = outbox.email_queue(to="kunde@firma.de", subject="S", body="B")
        assert mail.outbox == []
    assert len(callbacks) == 1 and OutgoingEmail.objects.get(pk=email.pk).state == State.QUEUED


def test_an_unreachable_broker_leaves_the_mail_queued_for_the_beat_job(smtp_sink, django_capture_on_commit_callbacks):
    saved = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, f"redis://127.0.0.1:{free_port()}/0"
    app._pool = None  # a pool made earlier in this process points at the old broker
    try:
        with django_capture_on_commit_callbacks(execute=True):
            email = outbox.email_queue(to="kunde@firma.de", subject="S", body="B")  # no exception
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        app._pool = None
    email.refresh_from_db()
    assert email.state == State.QUEUED and smtp_sink.messages == []
    outbox.emails_resume(now=timezone.now() + LATER)
    email.refresh_from_db()
    assert email.state == State.SENT and len(smtp_sink.messages) == 1


def test_password_reset_goes_through_the_outbox(smtp_sink, client, django_capture_on_commit_callbacks):
    from conftest import make_user

    user = make_user("rita", email="rita@firma.de")
    user.set_password("Altes-Passwort-1!")
    user.save()
    smtp_sink.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "rita@firma.de"})
    assert response.status_code == 302  # the mail server is away: no error for the visitor
    email = OutgoingEmail.objects.get()
    assert (email.state, email.regarding) == (State.QUEUED, user)
    smtp_sink.start()
    outbox.emails_resume(now=timezone.now() + LATER)
    [received] = smtp_sink.received("rita@firma.de")
    link = next(line for line in received["message"].get_content().splitlines() if "/password/reset/" in line)
    assert client.get(link.split("testserver", 1)[-1].strip()).status_code == 302  # a valid link


def test_the_list_is_for_admins_filters_by_state_and_resends(client_for, admin_user, role_users, django_assert_max_num_queries):
    for i in range(30):
        OutgoingEmail.objects.create(from_email="c@f.de", to=f"k{i}@firma.de", subject=f"Mail {i}", body="geheim", message_id=f"<{i}>",
                                     state=State.FAILED if i % 3 == 0 else State.SENT, attempts=10, last_reply="421 busy")
    client = client_for(admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("outgoing_email_list"), {"state": "failed"})
    html = response.content.decode()
    assert response.status_code == 200 and "421 busy" in html and "Email failed after 10 tries" in html
    assert html.count('action="/email/outgoing/') == 10 and "geheim" not in html
    with django_assert_max_num_queries(12):
        assert client.get(reverse("outgoing_email_list"), {"page": 2}).status_code == 200
    failed = OutgoingEmail.objects.filter(state=State.FAILED).first()
    detail = client.get(reverse("outgoing_email_detail", args=[failed.pk]))
    assert "geheim" in detail.content.decode()
    response = client.post(reverse("outgoing_email_resend", args=[failed.pk]), {"next": "//evil.example/x"})
    assert response.status_code == 302 and response["Location"] == failed.get_absolute_url()
    for role, user in role_users.items():
        if role != "admin":
            client.force_login(user)
            assert client.get(reverse("outgoing_email_detail", args=[failed.pk])).status_code == 403
            # No record behind it: only admins may resend it.
            assert client.post(reverse("outgoing_email_resend", args=[failed.pk])).status_code == 404


def test_reserved_mail_is_shown_as_such_without_a_useless_resend(client_for, admin_user, settings, django_capture_on_commit_callbacks):
    email = queue(django_capture_on_commit_callbacks, to="demo@example.com")
    client = client_for(admin_user)
    html = client.get(reverse("outgoing_email_list")).content.decode()
    assert "Not sent: reserved address" in html and reverse("outgoing_email_resend", args=[email.pk]) not in html
    response = client.post(reverse("outgoing_email_resend", args=[email.pk]), follow=True)
    assert "reserved for examples and tests" in response.content.decode()
    settings.CRM_EMAIL_DELIVER_RESERVED = True
    assert reverse("outgoing_email_resend", args=[email.pk]) in client.get(reverse("outgoing_email_list")).content.decode()
