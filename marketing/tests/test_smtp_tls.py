"""Campaign sends over TLS against a real SMTP server (aiosmtpd on 127.0.0.1, crm/tests/smtp.py)
with a self-signed certificate made in the test: STARTTLS and implicit TLS (port 465 style) are
refused unless the certificate is trusted (EMAIL_SSL_CAFILE), nothing goes out in clear, and a
send to an untrusted server ends with the reason on every row. The production backend
(crm.outbox.SMTPBackend) opens the connections, so campaigns and the outbox share the settings."""

from datetime import timedelta

import pytest
from django.db.models import F

from contacts.tests.factories import PersonFactory
from crm.tests.certificates import self_signed
from crm.tests.smtp import SmtpSink
from marketing import services
from marketing.models import Campaign, CampaignMember, Delivery, EmailTemplate
from marketing.sending import SmtpSender, open_sender, progress, send_batch
from marketing.tests.factories import HTML, CampaignFactory, ConsentFactory, SegmentFactory

pytestmark = pytest.mark.django_db

PEOPLE = ["anna@kunde.de", "ben@kunde.de", "cem@kunde.de"]


@pytest.fixture
def certificate(tmp_path):
    return self_signed(tmp_path / "certificates", "smtp-server")


@pytest.fixture
def campaign():
    template = EmailTemplate.objects.create(name="Frühjahr", subject="Hallo {{ first_name }}", body_html=HTML)
    campaign = CampaignFactory(code="tls-test", template=template)
    campaign.segments.add(SegmentFactory(definition={"postal_code_prefix": "10"}))
    for address in PEOPLE:
        ConsentFactory(person=PersonFactory(postal_code="10115", email=address))
    return campaign


@pytest.fixture
def tls_sink(request, settings, certificate):
    """A TLS sink: STARTTLS or implicit TLS (the test's `mode` parameter)."""
    sink = SmtpSink(tls=certificate.server_context(), implicit_tls=request.param == "implicit").use(settings).start()
    settings.MARKETING_SMTP_CONNECTIONS = 2
    yield sink
    sink.stop()


def start_send(campaign, capture) -> Campaign:
    with capture(execute=True):
        services.campaign_start_send(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def make_due(campaign) -> None:
    """The backoff has passed (moved in the data, not on the clock)."""
    Delivery.objects.filter(campaign=campaign).update(next_attempt_at=F("next_attempt_at") - timedelta(days=1))


def test_the_default_smtp_backend_sends_campaigns_over_the_pipelined_connections(settings):
    settings.EMAIL_BACKEND = "crm.outbox.SMTPBackend"  # crm/settings.py's choice when EMAIL_HOST is set
    assert isinstance(open_sender(), SmtpSender)


@pytest.mark.parametrize("tls_sink", ["starttls", "implicit"], indirect=True)
def test_an_untrusted_certificate_is_refused_and_the_send_ends_with_the_reason(
    tls_sink, settings, campaign, django_capture_on_commit_callbacks
):
    settings.CRM_EMAIL_MAX_ATTEMPTS = 2
    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert tls_sink.messages == []
    rows = list(Delivery.objects.filter(campaign=campaign))
    assert {(d.status, d.attempts) for d in rows} == {(Delivery.Status.PENDING, 1)}
    assert all("CERTIFICATE_VERIFY_FAILED" in d.error for d in rows)
    assert all(d.next_attempt_at is not None for d in rows)  # waits (backoff), is not claimed again at once
    assert campaign.status == Campaign.Status.SENDING
    waiting = progress(campaign.pk)
    assert waiting["waiting"] == 3 and "CERTIFICATE_VERIFY_FAILED" in waiting["next_attempt"]["error"]

    make_due(campaign)
    assert send_batch(campaign_id=campaign.pk, batch=0) == 0  # the last attempt: no retry after it

    campaign.refresh_from_db()
    assert tls_sink.messages == []
    rows = list(Delivery.objects.filter(campaign=campaign))
    assert {(d.status, d.attempts) for d in rows} == {(Delivery.Status.FAILED, 2)}
    assert all("CERTIFICATE_VERIFY_FAILED" in d.error for d in rows)
    assert campaign.status == Campaign.Status.SENT and campaign.send_finished_at is not None
    assert not CampaignMember.objects.filter(campaign=campaign, status=CampaignMember.Status.SENT).exists()
    [reason] = progress(campaign.pk)["reasons"]
    assert reason["count"] == 3 and "CERTIFICATE_VERIFY_FAILED" in reason["error"]


@pytest.mark.parametrize("tls_sink", ["starttls", "implicit"], indirect=True)
def test_a_certificate_trusted_by_email_ssl_cafile_is_accepted(
    tls_sink, settings, certificate, campaign, django_capture_on_commit_callbacks
):
    settings.EMAIL_SSL_CAFILE = str(certificate.cert)

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert sorted(m["rcpt"] for m in tls_sink.messages) == PEOPLE
    assert all(m["tls"] for m in tls_sink.messages)
    assert campaign.status == Campaign.Status.SENT
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count() == 3


def test_the_client_certificate_of_email_ssl_certfile_is_shown(tmp_path, settings, certificate, campaign, django_capture_on_commit_callbacks):
    client = self_signed(tmp_path / "certificates", "crm-client")
    sink = SmtpSink(tls=certificate.server_context(client_ca=client), require_client_certificate=True).use(settings).start()
    try:
        settings.EMAIL_SSL_CAFILE = str(certificate.cert)
        settings.EMAIL_SSL_CERTFILE, settings.EMAIL_SSL_KEYFILE = str(client.cert), str(client.key)

        campaign = start_send(campaign, django_capture_on_commit_callbacks)

        assert sorted(m["rcpt"] for m in sink.messages) == PEOPLE
        assert all(m["tls"] and m["client_certificate"] for m in sink.messages)
    finally:
        sink.stop()


def test_a_server_without_tls_is_refused_when_email_use_tls_is_set(smtp_sink, settings, campaign, django_capture_on_commit_callbacks):
    settings.EMAIL_USE_TLS = True  # the sink offers no STARTTLS: never fall back to clear text

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert smtp_sink.messages == []
    assert all("STARTTLS" in d.error for d in Delivery.objects.filter(campaign=campaign))


def test_the_campaign_page_says_why_messages_wait_and_why_they_failed(
    smtp_sink, settings, client, marketer, campaign, django_capture_on_commit_callbacks
):
    settings.EMAIL_USE_TLS = True  # the sink offers no STARTTLS
    settings.CRM_EMAIL_MAX_ATTEMPTS = 2
    campaign = start_send(campaign, django_capture_on_commit_callbacks)
    client.force_login(marketer)

    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "3 messages wait for another attempt (at most 2 in all)" in page and "STARTTLS" in page

    make_due(campaign)
    send_batch(campaign_id=campaign.pk, batch=0)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "Not sent, in the words of the mail server or the sender:" in page and "(3)" in page


def test_contradicting_tls_settings_end_the_send_with_the_reason(smtp_sink, settings, campaign, django_capture_on_commit_callbacks):
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    settings.CRM_EMAIL_MAX_ATTEMPTS = 1

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert campaign.status == Campaign.Status.SENT and smtp_sink.messages == []
    assert all("mutually exclusive" in d.error for d in Delivery.objects.filter(campaign=campaign, status=Delivery.Status.FAILED))
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.FAILED).count() == 3
