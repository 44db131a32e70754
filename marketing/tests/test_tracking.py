"""Open pixel and click redirect: signed tokens, no open redirect, events on the timeline."""

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm.timeline import timeline_for
from marketing import tokens
from marketing.models import Campaign, CampaignMember, Delivery, TrackingEvent
from marketing.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

LINKS = ["https://www.example.de/angebot", "https://www.example.de/termin"]


@pytest.fixture
def delivery():
    campaign = CampaignFactory(status=Campaign.Status.SENT, links=LINKS)
    person = PersonFactory()
    CampaignMember.objects.create(campaign=campaign, person=person, status=CampaignMember.Status.SENT)
    return Delivery.objects.create(campaign=campaign, person=person, email=person.email, status=Delivery.Status.SENT)


def test_the_pixel_records_one_open(client, delivery):
    url = reverse("marketing:track_open", args=[tokens.open_token(delivery.pk)])
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert TrackingEvent.objects.filter(delivery=delivery, kind="open").count() == 1


def test_a_bad_pixel_token_records_nothing_but_still_answers_an_image(client, delivery):
    response = client.get(reverse("marketing:track_open", args=[f"{delivery.pk}.forged"]))
    assert response.status_code == 200
    assert not TrackingEvent.objects.exists()


def test_the_click_redirects_to_the_link_of_the_message(client, delivery):
    response = client.get(reverse("marketing:track_click", args=[tokens.click_token(delivery.pk, 1)]))
    assert response.status_code == 302 and response["Location"] == LINKS[1]
    assert TrackingEvent.objects.get(kind="click").url == LINKS[1]
    assert CampaignMember.objects.get().status == CampaignMember.Status.RESPONDED
    delivery.refresh_from_db()
    assert delivery.clicked_at and delivery.opened_at


def test_the_redirect_refuses_every_url_that_was_not_in_the_message(client, delivery):
    # A link index beyond the message's links, even with a valid signature.
    assert client.get(reverse("marketing:track_click", args=[tokens.click_token(delivery.pk, 2)])).status_code == 404
    # A tampered token: another link number under the old signature.
    token = tokens.click_token(delivery.pk, 0)
    value, signature = token.rsplit(".", 1)
    assert client.get(reverse("marketing:track_click", args=[f"{delivery.pk}-1.{signature}"])).status_code == 404
    # An attacker's target in the query string is ignored: the target comes only from the message.
    response = client.get(reverse("marketing:track_click", args=[token]) + "?url=https://evil.example/")
    assert response["Location"] == LINKS[0]
    # An unsubscribe token is no click token.
    assert client.get(reverse("marketing:track_click", args=[tokens.recipient_token(delivery.person_id)])).status_code == 404
    assert TrackingEvent.objects.filter(kind="click").count() == 1


def test_opens_and_clicks_land_on_the_persons_timeline_for_support_agents_too(client, delivery, role_users):
    client.get(reverse("marketing:track_click", args=[tokens.click_token(delivery.pk, 0)]))
    entries, _next = timeline_for(user=role_users["support_agent"], person=delivery.person)
    kinds = {e.kind for e in entries}
    assert {"campaign-click"} <= kinds
    assert any(delivery.campaign.name in e.title for e in entries)
    # ... while the campaign pages themselves stay closed to them.
    client.force_login(role_users["support_agent"])
    assert client.get(delivery.campaign.get_absolute_url()).status_code == 404
