"""The SMTP sender against a real SMTP server (aiosmtpd on 127.0.0.1, in this process): groups
of messages on several connections, messages built without the email package that read the
same as Django's, hard bounces, lost claims and an unreachable server."""

import email
import email.policy
import socket
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from marketing import render, services
from marketing.models import Campaign, Delivery, EmailAddressStatus, EmailTemplate
from marketing.sending import LostClaim, Outgoing, SmtpSender, TransientSendError, send_batch
from marketing.smtp_sink import RecordingHandler
from marketing.tests.factories import HTML, CampaignFactory, ConsentFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER = False, ""
    settings.MARKETING_SMTP_CONNECTIONS = 4
    yield handler
    controller.stop()


@pytest.fixture
def campaign():
    template = EmailTemplate.objects.create(name="Grüße", subject="Grüße an {{ first_name }} – Frühjahr", body_html=HTML)
    campaign = CampaignFactory(code="smtp-test", template=template)
    campaign.segments.add(SegmentFactory(definition={"postal_code_prefix": "10"}))
    return campaign


def start_and_send(campaign, capture):
    with capture(execute=True):
        services.campaign_start_send(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.SMTP)


def test_a_send_over_several_connections_reaches_everyone_once(smtp_server, campaign, django_capture_on_commit_callbacks):
    people = [PersonFactory(postal_code="10115", email=f"kunde{i}@example.de") for i in range(11)]
    for person in people:
        ConsentFactory(person=person)

    assert start_and_send(campaign, django_capture_on_commit_callbacks).status == Campaign.Status.SENT

    received = Counter(m["rcpt"] for m in smtp_server.messages)
    assert received == Counter({p.email: 1 for p in people})  # 11 messages in groups of 4, 4, 3
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count() == 11


def test_the_fast_message_reads_like_djangos(smtp_server, campaign, django_capture_on_commit_callbacks):
    person = PersonFactory(postal_code="10115", first_name="Jürgen", last_name="Weiß", salutation="mr", email="jw@example.de")
    EmploymentFactory(person=person, organization=OrganizationFactory(name="Weiß & Söhne GmbH"))
    ConsentFactory(person=person)
    start_and_send(campaign, django_capture_on_commit_callbacks)

    fast = parsed(smtp_server.messages[0]["raw"])
    delivery = Delivery.objects.get(campaign=campaign)
    content = render.campaign_content(campaign)
    django = parsed(render.build_message(
        content, person=person, organization="Weiß & Söhne GmbH", to=person.email, campaign_id=campaign.pk,
        delivery_id=delivery.pk,
    ).message().as_bytes())

    assert not fast.defects and fast.get_content_type() == "multipart/alternative"
    for header in ("Subject", "To", "From", "List-Unsubscribe", "List-Unsubscribe-Post", "X-Campaign"):
        assert str(fast[header]).strip() == str(django[header]).strip(), header  # Django folds with a space
    assert str(fast["Subject"]) == "Grüße an Jürgen – Frühjahr"
    assert fast["Message-ID"] and fast["Date"]
    for kind in ("plain", "html"):
        fast_part, django_part = fast.get_body(preferencelist=(kind,)), django.get_body(preferencelist=(kind,))
        # The same text; quoted-printable keeps the wire's CRLF line ends where 8bit gives LF.
        assert fast_part.get_content().replace("\r\n", "\n") == django_part.get_content().replace("\r\n", "\n"), kind
    assert "Sehr geehrter Herr Weiß" in fast.get_body(preferencelist=("plain",)).get_content()
    # SMTP lines stay within 1000 characters (quoted-printable wraps at 76).
    assert max(len(line) for line in smtp_server.messages[0]["raw"].split(b"\r\n")) <= 998


def test_a_hard_bounce_marks_the_address_and_the_others_still_get_theirs(smtp_server, campaign, django_capture_on_commit_callbacks):
    good = [PersonFactory(postal_code="10115", email=f"ok{i}@example.de") for i in range(3)]
    bad = PersonFactory(postal_code="10115", email="bounce.me@example.de")  # the sink refuses "bounce…" with 550
    for person in [*good, bad]:
        ConsentFactory(person=person)

    start_and_send(campaign, django_capture_on_commit_callbacks)

    assert sorted(m["rcpt"] for m in smtp_server.messages) == sorted(p.email for p in good)
    assert Delivery.objects.get(campaign=campaign, person=bad).status == Delivery.Status.BOUNCED
    assert EmailAddressStatus.objects.filter(email="bounce.me@example.de", status=EmailAddressStatus.Status.HARD_BOUNCE).exists()


def test_a_message_whose_claim_was_lost_is_not_finished(smtp_server, campaign):
    person = PersonFactory(email="verloren@example.de")
    content = render.template_content(campaign.template)
    item = Outgoing(1, render.personalise(content, person=person, to=person.email))
    sender = SmtpSender(2)
    try:
        outcome = sender.send_group([item], commit=lambda ids: set())
    finally:
        sender.close()
    assert isinstance(outcome[1], LostClaim)
    assert smtp_server.messages == []  # the connection was dropped in the middle of DATA


def test_an_unreachable_server_gives_the_rows_back_for_a_retry(settings, campaign):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", _free_port(), False
    person = PersonFactory(postal_code="10115")
    ConsentFactory(person=person)
    services.campaign_start_send(campaign=campaign)
    assert services.campaign_prepare_send(campaign_id=campaign.pk) == 1

    with pytest.raises(TransientSendError):
        send_batch(campaign_id=campaign.pk, batch=0)

    delivery = Delivery.objects.get(campaign=campaign)
    assert (delivery.status, delivery.attempts, delivery.claim_token) == (Delivery.Status.PENDING, 1, "")
    assert "connect" in delivery.error
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
