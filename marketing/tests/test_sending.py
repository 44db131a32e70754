"""Sending a campaign (eager Celery, locmem email): only consented people, one message each,
valid MIME with working one-click unsubscribe headers."""

import email
import email.policy
from urllib.parse import urlparse

import pytest
from django.core import mail

from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from marketing import services
from marketing.models import (
    Campaign,
    CampaignMember,
    Consent,
    ConsentEvent,
    Delivery,
    EmailAddressStatus,
    TrackingEvent,
)
from marketing.tests.factories import CampaignFactory, ConsentFactory, SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def start_send(django_capture_on_commit_callbacks):
    """The batches are queued on commit; run them (eager Celery) as the service returns."""

    def start(campaign):
        with django_capture_on_commit_callbacks(execute=True):
            services.campaign_start_send(campaign=campaign)
        return Delivery.objects.filter(campaign=campaign).count()

    return start


@pytest.fixture
def campaign():
    segment = SegmentFactory(definition={"postal_code_prefix": "10"})
    campaign = CampaignFactory(code="fruehjahr-test")
    campaign.segments.add(segment)
    return campaign


def people_in_segment(n, **kwargs):
    return [PersonFactory(postal_code="10115", **kwargs) for _ in range(n)]


def test_it_sends_one_message_to_each_consented_person_and_none_to_others(campaign, start_send):
    consented = people_in_segment(5)
    for person in consented:
        ConsentFactory(person=person)
    no_consent = people_in_segment(2)
    withdrawn = people_in_segment(1)[0]
    ConsentFactory(person=withdrawn, status=Consent.Status.WITHDRAWN)
    pending = people_in_segment(1)[0]
    ConsentFactory(person=pending, status=Consent.Status.PENDING)
    bounced = people_in_segment(1)[0]
    ConsentFactory(person=bounced)
    EmailAddressStatus.objects.create(email=bounced.email)
    outside = PersonFactory(postal_code="80331")
    ConsentFactory(person=outside)

    count = start_send(campaign)

    assert count == 5
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(p.email for p in consented)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count() == 5
    # Everybody in the segment is a member; those without consent stay "targeted".
    assert CampaignMember.objects.filter(campaign=campaign).count() == 10
    assert CampaignMember.objects.filter(campaign=campaign, status="sent").count() == 5
    for person in [*no_consent, withdrawn, pending, bounced]:
        assert CampaignMember.objects.get(campaign=campaign, person=person).status == "targeted"


def test_a_second_start_sends_nothing_more(campaign, start_send):
    person = people_in_segment(1)[0]
    ConsentFactory(person=person)
    start_send(campaign)
    with pytest.raises(services.SendRefused):
        start_send(campaign)
    assert len(mail.outbox) == 1


def test_every_message_is_valid_mime_with_personal_text_html_and_unsubscribe_headers(campaign, start_send):
    person = people_in_segment(1, first_name="Erika", last_name="Weber", salutation="ms")[0]
    EmploymentFactory(person=person, organization=OrganizationFactory(name="Weber & Söhne GmbH"))
    ConsentFactory(person=person)
    start_send(campaign)

    raw = mail.outbox[0].message().as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.SMTP)
    assert parsed.get_content_type() == "multipart/alternative"
    assert not parsed.defects
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert "Sehr geehrte Frau Weber" in text and "Weber &amp; Söhne GmbH" in html
    assert parsed["Subject"] == "Hallo Erika"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = parsed["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe_url.startswith("http://testserver/marketing/u/")
    # Links are tracked, the pixel is there, and the raw targets are not in the HTML any more.
    assert "/marketing/t/c/" in html and "/marketing/t/o/" in html
    assert 'href="https://www.example.de/angebot"' not in html


def test_one_click_unsubscribe_from_the_header_withdraws_consent_once(client, campaign, start_send):
    person = people_in_segment(1)[0]
    ConsentFactory(person=person)
    start_send(campaign)
    parsed = email.message_from_bytes(mail.outbox[0].message().as_bytes(), policy=email.policy.SMTP)
    path = urlparse(parsed["List-Unsubscribe"].strip().strip("<>")).path

    # What a mail client does for RFC 8058: a POST with this body, no cookies, no CSRF token.
    csrf_client = client.__class__(enforce_csrf_checks=True)
    response = csrf_client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert Consent.objects.get(person=person, channel="email").status == Consent.Status.WITHDRAWN
    assert CampaignMember.objects.get(campaign=campaign, person=person).status == CampaignMember.Status.OPTED_OUT
    assert TrackingEvent.objects.filter(person=person, kind="unsubscribe").count() == 1

    again = csrf_client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert again.status_code == 200
    assert ConsentEvent.objects.filter(person=person, action="withdrawn").count() == 1
    assert TrackingEvent.objects.filter(person=person, kind="unsubscribe").count() == 1

    # The next campaign does not mail them.
    mail.outbox.clear()
    second = CampaignFactory(code="sommer-test")
    second.segments.add(*campaign.segments.all())
    assert start_send(second) == 0
    assert mail.outbox == []


def test_get_on_the_unsubscribe_link_only_asks(client, campaign, start_send):
    person = people_in_segment(1)[0]
    ConsentFactory(person=person)
    start_send(campaign)
    parsed = email.message_from_bytes(mail.outbox[0].message().as_bytes(), policy=email.policy.SMTP)
    response = client.get(urlparse(parsed["List-Unsubscribe"].strip().strip("<>")).path)
    assert response.status_code == 200
    assert b"unsubscribe" in response.content.lower()
    assert Consent.objects.get(person=person).status == Consent.Status.GRANTED


def test_a_forged_unsubscribe_token_is_404(client):
    person = PersonFactory()
    ConsentFactory(person=person)
    response = client.post(f"/marketing/u/{person.pk}-0.forged/")
    assert response.status_code == 404
    assert Consent.objects.get(person=person).status == Consent.Status.GRANTED
