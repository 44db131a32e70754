"""Double opt-in through a web form, the confirmation link, the preference centre, spam guards."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import Person
from contacts.tests.factories import PersonFactory
from crm.timeline import timeline_for
from marketing import tokens
from marketing.models import CampaignMember, Consent, ConsentEvent, WebFormSubmission
from marketing.tests.factories import CampaignFactory, ConsentFactory, WebFormFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_form():
    return WebFormFactory(campaign=CampaignFactory(code="messe-2026"), consent_text_version="2026-03")


def post_form(client, web_form, query="", **data):
    page = client.get(web_form.get_public_url() + query)
    token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)
    fields = {"form_token": token, "last_name": "Weber", "email": "Erika.Weber@Example.de", "first_name": "Erika", **data}
    return client.post(web_form.get_public_url() + query, fields, REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox")


def test_a_submission_creates_a_person_attributed_to_the_campaign_with_utm(client, web_form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(client, web_form, query="?utm_source=newsletter&utm_medium=email", company="Weber GmbH", message="Bitte Rückruf")
    assert response.status_code == 200
    person = Person.objects.get(email="erika.weber@example.de")
    assert person.source == Person.Source.WEBSITE
    submission = WebFormSubmission.objects.get()
    assert submission.utm == {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "messe-2026"}
    assert submission.data["company"] == "Weber GmbH"
    assert CampaignMember.objects.get(person=person).status == CampaignMember.Status.RESPONDED
    assert mail.outbox == []  # no newsletter box ticked: no confirmation email, no consent
    assert not Consent.objects.exists()


def test_a_second_submission_updates_the_same_person(client, web_form):
    existing = PersonFactory(email="erika.weber@example.de", last_name="Alt", city="Köln")
    post_form(client, web_form)
    assert Person.objects.count() == 1
    existing.refresh_from_db()
    assert existing.last_name == "Weber" and existing.city == "Köln"


def test_double_opt_in_grants_consent_only_after_the_link(client, web_form, django_capture_on_commit_callbacks, role_users):
    with django_capture_on_commit_callbacks(execute=True):
        post_form(client, web_form, newsletter="on")
    consent = Consent.objects.get()
    assert consent.status == Consent.Status.PENDING and consent.text_version == "2026-03"
    assert str(consent.ip_address) == "198.51.100.7"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["erika.weber@example.de"]
    link = re.search(r"http://testserver(/marketing/c/\S+/)", mail.outbox[0].body).group(1)

    response = client.get(link, REMOTE_ADDR="198.51.100.8")
    assert response.status_code == 200
    consent.refresh_from_db()
    assert consent.status == Consent.Status.GRANTED and consent.source == Consent.Source.DOUBLE_OPT_IN
    client.get(link)  # again: nothing changes
    actions = list(ConsentEvent.objects.order_by("occurred_at", "pk").values_list("action", "source", "ip_address"))
    assert actions == [("requested", "web_form", "198.51.100.7"), ("granted", "double_opt_in", "198.51.100.8")]
    entries, _next = timeline_for(user=role_users["support_agent"], person=consent.person)
    assert {"consent", "form-response"} <= {e.kind for e in entries}


def test_a_tampered_or_foreign_confirmation_token_grants_nothing(client):
    consent = ConsentFactory(status=Consent.Status.PENDING)
    assert client.get(reverse("marketing:consent_confirm", args=[f"{consent.pk}.x"])).status_code == 404
    assert client.get(reverse("marketing:consent_confirm", args=[tokens.open_token(consent.pk)])).status_code == 404
    consent.refresh_from_db()
    assert consent.status == Consent.Status.PENDING


def test_the_honeypot_stores_nothing(client, web_form):
    response = post_form(client, web_form, website="http://spam.example")
    assert response.status_code == 200
    assert not Person.objects.exists() and not WebFormSubmission.objects.exists()


def test_a_post_without_the_form_token_is_refused_next_to_the_form(client, web_form):
    response = client.post(web_form.get_public_url(), {"last_name": "Weber", "email": "e@example.de"})
    assert response.status_code == 200
    assert "expired" in response.content.decode()
    assert not Person.objects.exists()


def test_bad_input_is_shown_at_the_field(client, web_form):
    response = post_form(client, web_form, email="kein-mail", last_name="")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address" in html and "This field is required" in html


def test_the_rate_limit_stops_floods(client, web_form, settings):
    settings.MARKETING_FORM_RATE_LIMIT = 3
    statuses = [post_form(client, web_form, email=f"p{i}@example.de").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert WebFormSubmission.objects.count() == 3


def test_an_inactive_form_is_not_found(client):
    form = WebFormFactory(is_active=False)
    assert client.get(form.get_public_url()).status_code == 404


def test_the_preference_centre_changes_consent_and_records_it(client):
    person = PersonFactory()
    ConsentFactory(person=person)
    url = reverse("marketing:preferences", args=[tokens.recipient_token(person.pk)])
    page = client.get(url)
    assert page.status_code == 200
    checked = re.findall(r'<input[^>]*name="(\w+)"[^>]*checked', page.content.decode())
    assert checked == ["newsletter_email"]
    response = client.post(url, {"newsletter_mail": "on"})
    assert response.status_code == 200
    assert Consent.objects.get(person=person, channel="email").status == Consent.Status.WITHDRAWN
    assert Consent.objects.get(person=person, channel="mail").status == Consent.Status.GRANTED
    assert set(ConsentEvent.objects.filter(person=person).values_list("action", "channel")) == {("withdrawn", "email"), ("granted", "mail")}


def test_a_submission_becomes_a_sales_lead_with_the_campaign_code(client, web_form):
    from sales.models import Lead

    post_form(client, web_form, query="?utm_source=google", company="Weber GmbH", message="Bitte Angebot")
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.campaign_code) == ("erika.weber@example.de", "Weber GmbH", "messe-2026")
    assert lead.utm["utm_source"] == "google" and "Bitte Angebot" in lead.note


def test_two_visitors_behind_the_proxy_are_counted_apart_and_recorded_as_themselves(client, web_form, settings,
                                                                                  django_capture_on_commit_callbacks):
    settings.MARKETING_FORM_RATE_LIMIT = 2
    settings.CRM_TRUSTED_PROXIES = "1"
    page = client.get(web_form.get_public_url())
    token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)

    def post(visitor, n):
        fields = {"form_token": token, "last_name": "Weber", "email": f"{visitor}-{n}@example.de", "newsletter": "on"}
        return client.post(web_form.get_public_url(), fields, REMOTE_ADDR="192.0.2.10",
                           HTTP_X_FORWARDED_FOR=f"6.6.6.6, {visitor}").status_code

    with django_capture_on_commit_callbacks(execute=True):
        statuses = {visitor: [post(visitor, n) for n in range(3)] for visitor in ("198.51.100.7", "198.51.100.8")}
    assert statuses == {"198.51.100.7": [200, 200, 429], "198.51.100.8": [200, 200, 429]}
    # The GDPR evidence names the visitor, not the proxy (nor what the visitor claimed).
    assert sorted({str(c.ip_address) for c in Consent.objects.all()}) == ["198.51.100.7", "198.51.100.8"]
    assert {str(s.ip_address) for s in WebFormSubmission.objects.all()} == {"198.51.100.7", "198.51.100.8"}


def test_the_limited_form_answers_in_its_own_frame_embeddable_as_before(client, web_form, settings):
    settings.MARKETING_FORM_RATE_LIMIT = 1
    post_form(client, web_form, query="?embed=1")
    response = post_form(client, web_form, query="?embed=1")
    assert response.status_code == 429
    assert 'data-testid="too-many-requests"' in response.content.decode()
    assert "frame-ancestors *" in response["Content-Security-Policy"] and "X-Frame-Options" not in response


def test_unsubscribe_preferences_and_confirmation_links_are_limited_per_link(client, settings):
    settings.MARKETING_LINK_RATE_LIMIT = 2
    person, other = PersonFactory(), PersonFactory()
    unsubscribe = reverse("marketing:unsubscribe", args=[tokens.recipient_token(person.pk)])
    preferences = reverse("marketing:preferences", args=[tokens.recipient_token(person.pk)])
    assert [client.post(unsubscribe).status_code for _ in range(3)] == [200, 200, 429]
    assert [client.post(preferences, {}).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(unsubscribe).status_code == 200  # showing the button is not limited
    # A mail provider posting the one-click unsubscribes of many recipients is not stopped.
    assert client.post(reverse("marketing:unsubscribe", args=[tokens.recipient_token(other.pk)])).status_code == 200
    consent = ConsentFactory(status=Consent.Status.PENDING)
    confirm = reverse("marketing:consent_confirm", args=[tokens.confirm_token(consent.pk)])
    assert [client.get(confirm).status_code for _ in range(3)] == [200, 200, 429]
