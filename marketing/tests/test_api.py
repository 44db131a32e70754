"""The marketing API over real HTTP (Django's test client): the pages' roles (marketing and
admins change campaigns, sales reads them, service sees none), the campaign page's form and send
rule, segments and their members by cursor within the read budget, and consents that change only
through the consent services, with their evidence, their history and their webhooks."""

from datetime import date

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm.models import IdempotencyKey, OutgoingEmail, WebhookEndpoint
from crm.roles import Role
from crm.tests.api_client import call, token_for
from marketing.models import Campaign, CampaignMember, Consent, ConsentEvent
from marketing.tests.factories import CampaignFactory, CampaignMemberFactory, ConsentFactory, SegmentFactory

pytestmark = pytest.mark.django_db
CAMPAIGNS, SEGMENTS, CONSENTS = "/api/v1/campaigns/", "/api/v1/segments/", "/api/v1/consents/"


def url(name, obj=None, action=None):
    if action is not None:
        return reverse(f"api:{name}-{action}", args=[obj.pk] if obj is not None else [])
    return reverse(f"api:{name}-detail", args=[obj.pk]) if obj is not None else reverse(f"api:{name}-list")


def subscribe(*types):
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/m", event_types=list(types), secret="whsec_x")


# --- who may do what, as on the pages ----------------------------------------------------------


@pytest.mark.parametrize(("role", "read", "write", "listing"), [
    (Role.ADMIN, 200, 200, 200),
    (Role.MARKETING, 200, 200, 200),
    (Role.SALES_MANAGER, 200, 403, 200),  # sales reads campaigns, changes none
    (Role.SALES_REP, 200, 403, 200),
    (Role.SUPPORT_LEAD, 404, 404, 403),  # service sees no campaign: 404 on one, 403 on the list
    (Role.SUPPORT_AGENT, 404, 404, 403),
])
def test_each_role_reads_and_changes_campaigns_and_segments_as_on_the_pages(client, role_users, role, read, write, listing):
    campaign, segment = CampaignFactory(name="Frühjahr"), SegmentFactory(name="München")
    token = token_for(role_users[role])
    assert call(client, "get", url("campaign", campaign), token=token).status_code == read
    assert call(client, "get", url("segment", segment), token=token).status_code == read
    assert call(client, "get", url("segment", segment, "members"), token=token).status_code == read
    assert call(client, "patch", url("campaign", campaign), {"goal": "Mehr Leads"}, token=token).status_code == write
    assert call(client, "post", url("campaign", campaign, "send"), token=token).status_code in (
        {202} if write == 200 else {write})
    assert call(client, "get", CAMPAIGNS, token=token).status_code == listing
    assert call(client, "get", SEGMENTS, token=token).status_code == listing
    created = call(client, "post", CAMPAIGNS, {"name": "Neu", "code": f"neu-{role}"}, token=token).status_code
    assert created == (201 if write == 200 else 403)


@pytest.mark.parametrize(("role", "write"), [
    (Role.ADMIN, True), (Role.MARKETING, True), (Role.SALES_REP, False), (Role.SUPPORT_AGENT, False),
])
def test_every_role_reads_consents_and_only_marketing_changes_them(client, role_users, role, write):
    consent = ConsentFactory()
    token = token_for(role_users[role])
    assert call(client, "get", url("consent", consent), token=token).status_code == 200  # as the person page's panel
    assert [c["id"] for c in call(client, "get", CONSENTS, token=token).json()["results"]] == [consent.pk]
    body = {"person": consent.person_id, "purpose": "events", "status": "granted", "source": "staff", "text_version": "v1"}
    assert call(client, "post", CONSENTS, body, token=token).status_code == (201 if write else 403)
    unsubscribe = call(client, "post", url("consent", action="unsubscribe"), {"person": consent.person_id}, token=token)
    assert unsubscribe.status_code == (200 if write else 403)
    assert call(client, "patch", url("consent", consent), {"status": "withdrawn"}, token=token).status_code == 405
    assert call(client, "delete", url("consent", consent), token=token).status_code == 405


# --- campaigns through the campaign page's form ------------------------------------------------


def test_it_creates_a_campaign_as_the_create_page_does(client, marketer):
    token = token_for(marketer)
    segment = SegmentFactory()
    body = {"name": "Herbst 2027", "code": "herbst-2027", "channel": "email", "segments": [segment.pk], "budget": "500.00"}
    response = call(client, "post", CAMPAIGNS, body, token=token, Idempotency_Key="c-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"] == marketer.pk and data["status"] == "draft" and data["segments"] == [segment.pk]
    assert response["Location"].endswith(url("campaign", Campaign(pk=data["id"]))) and response["ETag"]
    again = call(client, "post", CAMPAIGNS, body, token=token, Idempotency_Key="c-1")
    assert again.status_code == 201 and again.json() == data and again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def test_a_campaign_is_checked_as_the_form_checks_it(client, marketer):
    CampaignFactory(code="vergeben")
    token = token_for(marketer)
    body = {"name": "X", "code": "vergeben", "start_date": "2027-05-02", "end_date": "2027-05-01", "channel": "fax"}
    response = call(client, "post", CAMPAIGNS, body, token=token, Accept_Language="de")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {"code", "end_date", "channel"} <= set(errors)
    assert errors["end_date"] == ["Das Ende kann nicht vor dem Start liegen."]
    assert Campaign.objects.count() == 1


def test_an_update_needs_the_current_etag_and_keeps_what_was_sent(client, marketer):
    campaign = CampaignFactory(name="Alt", code="alt")
    token = token_for(marketer)
    etag = call(client, "get", url("campaign", campaign), token=token)["ETag"]
    response = call(client, "patch", url("campaign", campaign), {"name": "Neu"}, token=token, If_Match=etag)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Neu" and response.json()["code"] == "alt"
    stale = call(client, "patch", url("campaign", campaign), {"name": "Zu spät"}, token=token, If_Match=etag)
    assert stale.status_code == 412
    campaign.refresh_from_db()
    assert campaign.name == "Neu"
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)
    frozen = call(client, "patch", url("campaign", campaign), {"code": "anders", "goal": "Mehr"}, token=token)
    assert frozen.status_code == 400 and set(frozen.json()["errors"]) == {"code"}
    assert call(client, "patch", url("campaign", campaign), {"code": "alt", "goal": "Mehr"}, token=token).status_code == 200
    assert call(client, "delete", url("campaign", campaign), token=token).status_code == 405  # the pages delete none


def test_the_send_only_enqueues_through_the_campaign_service(client, marketer, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    token = token_for(marketer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = call(client, "post", url("campaign", campaign, "send"), token=token)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "sending" and response.json()["send_started_at"]
    assert len(callbacks) == 1  # prepare_send, after the commit: the request sends nothing
    assert not campaign.deliveries.exists()
    again = call(client, "post", url("campaign", campaign, "send"), token=token)
    assert again.status_code == 409 and again.json()["status"] == 409
    phone = CampaignFactory(channel="phone", template=None)
    assert call(client, "post", url("campaign", phone, "send"), token=token).status_code == 409


# --- segments and their members -------------------------------------------------------------------


def test_segment_members_are_the_people_it_selects_paged_by_cursor(client, marketer):
    segment = SegmentFactory(definition={"postal_code_prefix": "80"})
    inside = [PersonFactory(last_name=name, postal_code="80331") for name in ("Bauer", "Adler", "Cramer")]
    PersonFactory(last_name="Außen", postal_code="10115")
    token = token_for(marketer)
    first = call(client, "get", url("segment", segment, "members") + "?limit=2", token=token).json()
    assert [p["last_name"] for p in first["results"]] == ["Adler", "Bauer"]
    second = call(client, "get", first["next"], token=token).json()
    assert [p["last_name"] for p in second["results"]] == ["Cramer"] and second["next"] is None
    assert {p["id"] for p in first["results"] + second["results"]} == {p.pk for p in inside}
    detail = call(client, "get", url("segment", segment), token=token).json()
    assert detail["definition"] == {"postal_code_prefix": "80"}


def test_segment_members_count_against_the_read_budget(client, role_users, settings):
    settings.CRM_API_READ_LIMIT_WITHOUT_EXPORT = 3
    segment = SegmentFactory(definition={"postal_code_prefix": "80"})
    PersonFactory.create_batch(5, postal_code="80331")
    token = token_for(role_users[Role.SALES_REP])  # reads segments, may not export
    page = call(client, "get", url("segment", segment, "members") + "?limit=100", token=token)
    assert page.status_code == 200 and len(page.json()["results"]) == 3  # cut to the budget
    refused = call(client, "get", url("segment", segment, "members"), token=token)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    exporter = token_for(role_users[Role.MARKETING])
    assert len(call(client, "get", url("segment", segment, "members") + "?limit=100", token=exporter).json()["results"]) == 5


# --- consents with their evidence -----------------------------------------------------------------


def test_a_grant_records_its_source_evidence_and_reports_it(client, marketer):
    endpoint = subscribe("consent.granted", "consent.withdrawn")
    person = PersonFactory(email="erika@example.de")
    body = {"person": person.pk, "purpose": "events", "channel": "email", "status": "granted", "source": "web_form",
            "text_version": "2027-01", "ip_address": "203.0.113.7", "user_agent": "Firefox/140"}
    response = call(client, "post", CONSENTS, body, token=token_for(marketer), REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "granted" and data["source"] == "web_form" and data["ip_address"] == "203.0.113.7"
    event = ConsentEvent.objects.get(person=person)
    assert (event.action, event.source, event.text_version, event.ip_address, event.user_agent, event.recorded_by) == (
        "granted", "web_form", "2027-01", "203.0.113.7", "Firefox/140", marketer)
    payload = endpoint.deliveries.get().event.payload
    assert payload["type"] == "consent.granted" and payload["data"] == data  # the API representation
    withdrawn = call(client, "post", CONSENTS, {**body, "status": "withdrawn", "source": "staff"}, token=token_for(marketer))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert ConsentEvent.objects.filter(person=person).count() == 2


def test_newsletter_email_consent_waits_for_the_double_opt_in(client, marketer):
    person = PersonFactory(email="neu@example.de")
    body = {"person": person.pk, "status": "granted", "source": "web_form", "text_version": "2027-01"}
    response = call(client, "post", CONSENTS, body, token=token_for(marketer))
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert OutgoingEmail.objects.get().to == "neu@example.de"  # the confirmation link, as the web form sends it
    assert ConsentEvent.objects.get().recorded_by == marketer
    confirmed = call(client, "post", CONSENTS, {**body, "source": "double_opt_in"}, token=token_for(marketer))
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "granted"


def test_a_consent_change_without_evidence_is_refused_with_field_errors(client, marketer):
    person = PersonFactory()
    token = token_for(marketer)
    response = call(client, "post", CONSENTS, {"person": person.pk, "purpose": "events", "status": "granted",
                                               "source": "staff"}, token=token)
    assert response.status_code == 400 and set(response.json()["errors"]) == {"text_version"}
    response = call(client, "post", CONSENTS, {"person": 99999999, "status": "pending", "source": "anywhere",
                                               "ip_address": "nope"}, token=token)
    assert set(response.json()["errors"]) == {"person", "status", "source", "ip_address"}
    assert not Consent.objects.exists() and not ConsentEvent.objects.exists()


def test_unsubscribe_withdraws_as_the_link_in_the_email_does(client, marketer):
    person = PersonFactory(email="weg@example.de")
    ConsentFactory(person=person)  # newsletter by email, granted
    campaign = CampaignFactory()
    CampaignMemberFactory(campaign=campaign, person=person, status=CampaignMember.Status.SENT)
    token = token_for(marketer)
    response = call(client, "post", url("consent", action="unsubscribe"),
                    {"email": "Weg@Example.de", "campaign": campaign.pk}, token=token)
    assert response.status_code == 200, response.content
    assert [(c["person"], c["status"], c["source"]) for c in response.json()] == [(person.pk, "withdrawn", "unsubscribe")]
    assert CampaignMember.objects.get(person=person).status == CampaignMember.Status.OPTED_OUT
    assert ConsentEvent.objects.get(person=person).recorded_by == marketer  # who recorded it for the person
    again = call(client, "post", url("consent", action="unsubscribe"), {"person": person.pk}, token=token)
    assert again.status_code == 200 and ConsentEvent.objects.filter(person=person).count() == 1  # nothing new
    unknown = call(client, "post", url("consent", action="unsubscribe"), {"email": "niemand@example.de"}, token=token)
    assert unknown.status_code == 400 and "email" in unknown.json()["errors"]
    empty = call(client, "post", url("consent", action="unsubscribe"), {}, token=token)
    assert empty.status_code == 400 and "person" in empty.json()["errors"]


def test_the_consent_list_filters_by_person_channel_and_status(client, marketer):
    erika, max_ = PersonFactory(), PersonFactory()
    ConsentFactory(person=erika, channel="email", status="granted")
    ConsentFactory(person=erika, channel="mail", status="withdrawn", source="staff")
    ConsentFactory(person=max_, channel="email", status="pending")
    token = token_for(marketer)

    def listed(query):
        return [(c["person"], c["channel"], c["status"]) for c in call(client, "get", CONSENTS + query, token=token).json()["results"]]

    assert sorted(listed(f"?person={erika.pk}")) == [(erika.pk, "email", "granted"), (erika.pk, "mail", "withdrawn")]
    assert listed("?channel=email&status=pending") == [(max_.pk, "email", "pending")]
    assert listed("?source=staff") == [(erika.pk, "mail", "withdrawn")]
    assert call(client, "get", CONSENTS + "?status=maybe", token=token).status_code == 400


# --- webhooks and queries -------------------------------------------------------------------------


def test_the_send_finished_webhook_carries_the_api_representation(client, marketer, django_capture_on_commit_callbacks):
    endpoint = subscribe("campaign.send_finished")
    campaign = CampaignFactory(start_date=date(2027, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        call(client, "post", url("campaign", campaign, "send"), token=token_for(marketer))  # no segments: done at once
    data = endpoint.deliveries.get().event.payload["data"]
    assert data["id"] == campaign.pk and data["status"] == "sent" and data["start_date"] == "2027-03-01"
    assert data == call(client, "get", url("campaign", campaign), token=token_for(marketer)).json()


@pytest.mark.parametrize("count", [3, 30])
def test_the_lists_make_the_same_few_queries_for_few_and_many(client, marketer, django_assert_max_num_queries, count):
    segments = SegmentFactory.create_batch(2)
    for _n in range(count):
        CampaignFactory().segments.add(*segments)
        ConsentFactory()
    token = token_for(marketer)
    # token, its touch, roles, campaigns, their segments
    with django_assert_max_num_queries(5):
        response = call(client, "get", CAMPAIGNS + "?limit=100", token=token)
    assert len(response.json()["results"]) == count
    with django_assert_max_num_queries(4):  # token, touch, roles, consents
        response = call(client, "get", CONSENTS + "?limit=100", token=token)
    assert len(response.json()["results"]) == count
    with django_assert_max_num_queries(5):  # token, touch, roles, the segment, its people
        response = call(client, "get", url("segment", segments[0], "members") + "?limit=100", token=token)
    assert response.status_code == 200


@pytest.mark.parametrize(("role", "expected"), [
    (Role.MARKETING, 200), (Role.SALES_REP, 200), (Role.SUPPORT_AGENT, 404),
])
def test_campaign_results_are_the_figures_its_page_shows(client, role_users, role, expected):
    from django.utils import timezone

    from marketing import services
    from marketing.models import Delivery

    campaign = CampaignFactory(cost=100)
    members = CampaignMemberFactory.create_batch(3, campaign=campaign)
    now = timezone.now()
    for n, member in enumerate(members):
        Delivery.objects.create(campaign=campaign, person=member.person, email=f"m{n}@example.com",
                                status=Delivery.Status.BOUNCED if n == 2 else Delivery.Status.SENT,
                                opened_at=now if n == 0 else None)
    response = call(client, "get", url("campaign", campaign, "results"), token=token_for(role_users[role]))
    assert response.status_code == expected, response.content
    if expected != 200:
        return
    body = response.json()
    page = services.campaign_results([campaign])[campaign.pk]
    assert body["campaign"] == campaign.pk
    assert (body["targeted"], body["sent"], body["delivered"], body["bounced"], body["opened"]) == (3, 3, 2, 1, 1)
    assert body["targeted"] == page["targeted"] and body["cost"] == "100.00" and body["leads"] == page["leads"]


def test_an_id_beyond_the_databases_integers_is_an_invalid_choice(client, marketer):
    body = {"name": "Herbst", "code": "herbst-x", "channel": "email", "segments": [36893488147419103232],
            "owner": 36893488147419103232, "template": 36893488147419103232}
    response = call(client, "post", CAMPAIGNS, body, token=token_for(marketer))
    assert response.status_code == 400, response.content
    assert {"segments", "owner", "template"} <= set(response.json()["errors"])
