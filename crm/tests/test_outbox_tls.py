"""The outbox's SMTP backend over STARTTLS against a real server (aiosmtpd on 127.0.0.1) with a
self-signed certificate made in the test: refused (and kept queued with the reason) unless
EMAIL_SSL_CAFILE trusts it. The same settings serve campaign sends (marketing/tests/test_smtp_tls.py)."""

import pytest

from crm import outbox
from crm.models import OutgoingEmail
from crm.tests.certificates import self_signed
from crm.tests.smtp import SmtpSink

pytestmark = pytest.mark.django_db
State = OutgoingEmail.State


@pytest.fixture
def certificate(tmp_path):
    return self_signed(tmp_path, "smtp-server")


@pytest.fixture
def tls_sink(settings, certificate):
    sink = SmtpSink(tls=certificate.server_context()).use(settings).start()
    yield sink
    sink.stop()


def queue(capture) -> OutgoingEmail:
    with capture(execute=True):
        email = outbox.email_queue(to="kunde@firma.de", subject="Ihre Anfrage", body="Guten Tag")
    email.refresh_from_db()
    return email


def test_an_untrusted_certificate_keeps_the_mail_queued_until_email_ssl_cafile_trusts_it(
    tls_sink, settings, certificate, django_capture_on_commit_callbacks
):
    email = queue(django_capture_on_commit_callbacks)
    assert email.state == State.QUEUED and "CERTIFICATE_VERIFY_FAILED" in email.last_reply
    assert tls_sink.messages == []

    settings.EMAIL_SSL_CAFILE = str(certificate.cert)  # the operator trusts the relay's certificate
    assert outbox.email_deliver(email_id=email.pk, now=email.next_attempt_at) == outbox.Attempt(State.SENT)

    [received] = tls_sink.received("kunde@firma.de")
    assert received["tls"]
