"""A campaign send always ends, whatever one recipient does, against a real SMTP server
(aiosmtpd on 127.0.0.1, crm/tests/smtp.py): internationalised addresses go on the envelope in
IDNA, a non-ASCII local part needs SMTPUTF8, a refusal or an address that cannot be written
is that recipient's failure alone (with the server's reply), temporary failures and dead
senders count attempts, and after CRM_EMAIL_MAX_ATTEMPTS the row fails and the send finishes."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from contacts.tests.factories import PersonFactory
from crm.tests.smtp import SmtpSink
from marketing import services
from marketing.models import Campaign, CampaignMember, Delivery, EmailTemplate
from marketing.sending import TransientSendError, send_batch, stalled_batches
from marketing.tests.factories import HTML, CampaignFactory, ConsentFactory, SegmentFactory

pytestmark = pytest.mark.django_db

IDN = "info@müller-bau.de"
IDN_ON_THE_WIRE = "info@xn--mller-bau-q9a.de"
UTF8_LOCAL = "jürgen@beispiel.de"


@pytest.fixture
def campaign():
    template = EmailTemplate.objects.create(name="Frühjahr", subject="Hallo {{ first_name }}", body_html=HTML)
    campaign = CampaignFactory(code="failures", template=template)
    campaign.segments.add(SegmentFactory(definition={"postal_code_prefix": "10"}))
    return campaign


@pytest.fixture
def sink(settings):
    sink = SmtpSink(smtputf8=True).use(settings).start()
    settings.MARKETING_SMTP_CONNECTIONS = 3
    yield sink
    sink.stop()


def recipients(*addresses):
    for address in addresses:
        ConsentFactory(person=PersonFactory(postal_code="10115", email=address))


def start_send(campaign, capture) -> Campaign:
    with capture(execute=True):
        services.campaign_start_send(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def delivery(campaign, address) -> Delivery:
    return Delivery.objects.get(campaign=campaign, email=address)


def make_due(campaign) -> None:
    """The backoff has passed (moved in the data, not on the clock)."""
    Delivery.objects.filter(campaign=campaign, next_attempt_at__isnull=False).update(
        next_attempt_at=F("next_attempt_at") - timedelta(days=1)
    )


def test_idn_and_ascii_recipients_all_get_their_message(sink, campaign, django_capture_on_commit_callbacks):
    recipients(IDN, "anna@kunde.de", UTF8_LOCAL, "ben@kunde.de")

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert sorted(m["rcpt"] for m in sink.messages) == sorted(["anna@kunde.de", "ben@kunde.de", IDN_ON_THE_WIRE, UTF8_LOCAL])
    [utf8] = sink.received(UTF8_LOCAL)
    assert "SMTPUTF8" in utf8["mail_options"]
    assert "SMTPUTF8" not in sink.received(IDN_ON_THE_WIRE)[0]["mail_options"]  # punycode needs no extension
    assert sink.received(IDN_ON_THE_WIRE)[0]["message"]["To"] == IDN_ON_THE_WIRE
    assert campaign.status == Campaign.Status.SENT
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count() == 4


def test_without_smtputf8_only_the_non_ascii_local_part_fails_with_the_reason(settings, campaign, django_capture_on_commit_callbacks):
    sink = SmtpSink(smtputf8=False).use(settings).start()
    try:
        recipients(UTF8_LOCAL, IDN, "anna@kunde.de")

        campaign = start_send(campaign, django_capture_on_commit_callbacks)

        assert sorted(m["rcpt"] for m in sink.messages) == sorted(["anna@kunde.de", IDN_ON_THE_WIRE])
    finally:
        sink.stop()
    failed = delivery(campaign, UTF8_LOCAL)
    assert failed.status == Delivery.Status.FAILED and "SMTPUTF8" in failed.error
    assert campaign.status == Campaign.Status.SENT


def test_an_address_that_cannot_be_written_fails_alone(sink, campaign, django_capture_on_commit_callbacks):
    # An import or an old record can hold what the form would refuse; the label is over 63 letters.
    broken = "kontakt@" + "ü" * 70 + ".de"
    recipients("anna@kunde.de", broken, "ben@kunde.de")

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert sorted(m["rcpt"] for m in sink.messages) == ["anna@kunde.de", "ben@kunde.de"]
    failed = delivery(campaign, broken)
    assert failed.status == Delivery.Status.FAILED and "IDNA" in failed.error and failed.claim_token == ""
    assert campaign.status == Campaign.Status.SENT


def test_a_refused_recipient_is_marked_with_the_reply_and_the_others_are_sent(sink, campaign, django_capture_on_commit_callbacks):
    sink.refuse["weg@kunde.de"] = "550 5.1.1 No such user"
    recipients("anna@kunde.de", "weg@kunde.de", "ben@kunde.de", "cem@kunde.de")

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert sorted(m["rcpt"] for m in sink.messages) == ["anna@kunde.de", "ben@kunde.de", "cem@kunde.de"]
    refused = delivery(campaign, "weg@kunde.de")
    assert refused.status == Delivery.Status.BOUNCED and refused.error == "550 5.1.1 No such user"
    assert campaign.status == Campaign.Status.SENT


def test_a_temporary_refusal_defers_only_that_recipient_and_fails_it_after_the_maximum(
    sink, settings, campaign, django_capture_on_commit_callbacks
):
    settings.CRM_EMAIL_MAX_ATTEMPTS = 3
    sink.refuse["voll@kunde.de"] = "452 4.2.2 Mailbox full"
    others = [f"kunde{i}@kunde.de" for i in range(7)]
    recipients(*others[:3], "voll@kunde.de", *others[3:])

    campaign = start_send(campaign, django_capture_on_commit_callbacks)

    assert sorted(m["rcpt"] for m in sink.messages) == sorted(others)  # nobody waits for the full mailbox
    full = delivery(campaign, "voll@kunde.de")
    assert (full.status, full.attempts, full.error) == (Delivery.Status.PENDING, 1, "RCPT: 452 4.2.2 Mailbox full")
    assert full.next_attempt_at > timezone.now()
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT, attempts=0).count() == 7
    assert campaign.status == Campaign.Status.SENDING

    assert send_batch(campaign_id=campaign.pk, batch=0) == 0  # not due yet: nothing is tried
    assert delivery(campaign, "voll@kunde.de").attempts == 1

    make_due(campaign)
    with pytest.raises(TransientSendError) as waiting:
        send_batch(campaign_id=campaign.pk, batch=0)
    assert waiting.value.retry_in > 0  # the task retries when the row is due
    assert delivery(campaign, "voll@kunde.de").attempts == 2

    make_due(campaign)
    assert send_batch(campaign_id=campaign.pk, batch=0) == 0
    full = delivery(campaign, "voll@kunde.de")
    assert (full.status, full.attempts, full.error) == (Delivery.Status.FAILED, 3, "RCPT: 452 4.2.2 Mailbox full")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert len(sink.messages) == 7


def test_a_temporary_refusal_that_clears_is_delivered_once(sink, campaign, django_capture_on_commit_callbacks):
    sink.refuse["voll@kunde.de"] = "452 4.2.2 Mailbox full"
    recipients("anna@kunde.de", "voll@kunde.de")
    campaign = start_send(campaign, django_capture_on_commit_callbacks)
    del sink.refuse["voll@kunde.de"]

    make_due(campaign)
    assert send_batch(campaign_id=campaign.pk, batch=0) == 1

    assert sorted(m["rcpt"] for m in sink.messages) == ["anna@kunde.de", "voll@kunde.de"]
    assert (delivery(campaign, "voll@kunde.de").status, delivery(campaign, "voll@kunde.de").attempts) == (Delivery.Status.SENT, 1)
    assert CampaignMember.objects.filter(campaign=campaign, status=CampaignMember.Status.SENT).count() == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT


def test_a_stalled_batch_is_retried_counting_attempts_and_fails_after_the_maximum(sink, settings, campaign):
    settings.CRM_EMAIL_MAX_ATTEMPTS = 3
    recipients("anna@kunde.de", "ben@kunde.de")
    services.campaign_start_send(campaign=campaign)
    assert services.campaign_prepare_send(campaign_id=campaign.pk) == 2
    long_ago = timezone.now() - timedelta(hours=1)
    # A claim younger than the stale time is left to its sender.
    Delivery.objects.filter(campaign=campaign).update(status=Delivery.Status.CLAIMED, claim_token="busy", claimed_at=timezone.now())
    assert stalled_batches(stale_seconds=120) == []
    assert {(d.status, d.attempts) for d in Delivery.objects.filter(campaign=campaign)} == {(Delivery.Status.CLAIMED, 0)}

    def a_sender_dies_holding_the_rows():
        Delivery.objects.filter(campaign=campaign).update(status=Delivery.Status.CLAIMED, claim_token="dead", claimed_at=long_ago)

    for attempt in (1, 2):
        a_sender_dies_holding_the_rows()
        assert stalled_batches(stale_seconds=120) == [(campaign.pk, 0)]  # due again at once
        assert {(d.status, d.attempts) for d in Delivery.objects.filter(campaign=campaign)} == {(Delivery.Status.PENDING, attempt)}

    a_sender_dies_holding_the_rows()
    assert stalled_batches(stale_seconds=120) == []

    rows = list(Delivery.objects.filter(campaign=campaign))
    assert {(d.status, d.attempts, d.claim_token) for d in rows} == {(Delivery.Status.FAILED, 3, "")}
    assert all("stopped" in d.error for d in rows)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and sink.messages == []


def test_a_sender_that_breaks_leaves_nothing_claimed(sink, campaign, monkeypatch):
    recipients("anna@kunde.de", "ben@kunde.de")
    services.campaign_start_send(campaign=campaign)
    services.campaign_prepare_send(campaign_id=campaign.pk)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("marketing.sending._organization_names", broken)
    with pytest.raises(RuntimeError):
        send_batch(campaign_id=campaign.pk, batch=0)

    rows = list(Delivery.objects.filter(campaign=campaign))
    assert {(d.status, d.attempts, d.claim_token) for d in rows} == {(Delivery.Status.PENDING, 1, "")}
    assert all("the database went away" in d.error for d in rows)
