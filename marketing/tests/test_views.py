"""The staff pages: who may do what, bad input, query counts, call lists, direct-mail export."""

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import Activity
from contacts.tests.factories import PersonFactory
from crm.search import search
from marketing.models import Campaign, CampaignMember, Consent, Segment
from marketing.tests.factories import (
    CampaignFactory,
    CampaignMemberFactory,
    ConsentFactory,
    EmailTemplateFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db


def test_marketing_creates_a_campaign(client, marketer):
    client.force_login(marketer)
    segment = SegmentFactory()
    response = client.post(reverse("marketing:campaign_create"), {
        "name": "Frühjahr", "code": "fruehjahr-2027", "channel": "email", "budget": "1000", "cost": "0",
        "start_date": "2027-03-01", "end_date": "2027-04-01", "owner": marketer.pk, "segments": [segment.pk],
    })
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert list(campaign.segments.all()) == [segment]
    assert campaign.history.count() == 1


def test_bad_campaign_input_is_shown_at_the_fields(client, marketer):
    CampaignFactory(code="doppelt")
    client.force_login(marketer)
    response = client.post(reverse("marketing:campaign_create"), {
        "name": "X", "code": "doppelt", "channel": "email", "budget": "-5", "cost": "abc",
        "start_date": "2027-04-01", "end_date": "2027-03-01",
    })
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"code", "budget", "cost", "end_date"} <= set(errors)
    assert not Campaign.objects.filter(name="X").exists()


@pytest.mark.parametrize("role", ["sales_rep", "sales_manager"])
def test_sales_reads_campaigns_but_cannot_change_them(client, role_users, role):
    campaign = CampaignFactory()
    client.force_login(role_users[role])
    assert client.get(campaign.get_absolute_url()).status_code == 200
    assert client.get(reverse("marketing:campaign_update", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("marketing:campaign_send", args=[campaign.pk])).status_code == 403
    assert client.get(reverse("marketing:segment_create")).status_code == 403


@pytest.mark.parametrize("role", ["support_agent", "support_lead"])
def test_service_sees_no_campaign_pages(client, role_users, role):
    campaign = CampaignFactory()
    client.force_login(role_users[role])
    assert client.get(reverse("marketing:campaign_list")).status_code == 403
    assert client.get(campaign.get_absolute_url()).status_code == 404  # a record they may not see
    assert search(role_users[role], campaign.name) == []


def test_the_global_search_finds_campaigns_and_segments(role_users):
    CampaignFactory(name="Messe Hannover 2027", code="messe-hannover")
    SegmentFactory(name="Messebesucher Hannover")
    groups = {provider.kind: [hit.title for hit in hits] for provider, hits in search(role_users["sales_rep"], "hannover")}
    assert groups["campaign"] == ["Messe Hannover 2027"]
    assert groups["segment"] == ["Messebesucher Hannover"]


def test_the_campaign_list_runs_a_constant_number_of_queries(client, marketer, django_assert_max_num_queries):
    client.force_login(marketer)
    CampaignFactory()
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("marketing:campaign_list"))
    for _ in range(30):
        campaign = CampaignFactory(owner=marketer)
        CampaignMemberFactory(campaign=campaign)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("marketing:campaign_list"))
    assert response.status_code == 200


def test_the_campaign_page_runs_a_constant_number_of_queries(client, marketer, django_assert_max_num_queries):
    client.force_login(marketer)
    campaign = CampaignFactory()
    CampaignMemberFactory(campaign=campaign)
    with django_assert_max_num_queries(25) as few:
        client.get(campaign.get_absolute_url())
    for _ in range(40):
        CampaignMemberFactory(campaign=campaign)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(campaign.get_absolute_url()).status_code == 200


def test_a_segment_is_saved_with_its_filter_and_counts_live(client, marketer):
    client.force_login(marketer)
    munich = [PersonFactory(postal_code="80331", lifecycle_stage="customer") for _ in range(3)]
    ConsentFactory(person=munich[0])
    PersonFactory(postal_code="10115", lifecycle_stage="customer")
    preview = client.get(reverse("marketing:segment_preview"), {"f-postal_code_prefix": "8", "f-lifecycle_stages": "customer"})
    assert "3 people" in preview.content.decode()
    preview = client.get(reverse("marketing:segment_preview"), {"f-postal_code_prefix": "8", "f-email_consent": "on"})
    assert "1 person" in preview.content.decode()
    response = client.post(reverse("marketing:segment_create"), {
        "name": "München", "f-postal_code_prefix": "8", "f-lifecycle_stages": ["customer"], "f-inactive_days": "abc",
    })
    assert response.status_code == 200 and "f-inactive_days" in response.content.decode()
    response = client.post(reverse("marketing:segment_create"), {"name": "München", "f-postal_code_prefix": "8", "f-lifecycle_stages": ["customer"]})
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert segment.definition == {"postal_code_prefix": "8", "lifecycle_stages": ["customer"]}
    assert set(segment.people()) == set(munich)


def test_the_win_back_preset_fills_the_form(client, marketer):
    client.force_login(marketer)
    former = PersonFactory(lifecycle_stage="former_customer")
    ConsentFactory(person=former)
    PersonFactory(lifecycle_stage="customer")
    response = client.get(reverse("marketing:segment_create") + "?preset=win_back")
    assert response.status_code == 200
    assert response.context["count"] == 1 and response.context["people"] == [former]


def test_reps_log_calls_on_a_call_list(client, role_users):
    campaign = CampaignFactory(channel="phone", template=None)
    member = CampaignMemberFactory(campaign=campaign)
    rep = role_users["sales_rep"]
    client.force_login(rep)
    assert client.get(reverse("marketing:campaign_calls", args=[campaign.pk])).status_code == 200
    response = client.post(reverse("marketing:campaign_call_log", args=[member.pk]), {"outcome": "appointment", "note": "Termin am Dienstag"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.call_outcome, member.status, member.called_by) == ("appointment", "responded", rep)
    call = Activity.objects.get(person=member.person)
    assert call.kind == "call" and "Termin am Dienstag" in call.body
    bad = client.post(reverse("marketing:campaign_call_log", args=[member.pk]), {"outcome": "maybe"})
    assert bad.status_code == 302
    member.refresh_from_db()
    assert member.call_outcome == "appointment"


def test_direct_mail_export_holds_only_people_with_postal_consent(client, marketer, role_users):
    campaign = CampaignFactory(channel="mail", template=None, code="katalog")
    with_consent = PersonFactory(first_name="=HYPERLINK(1)", last_name="Postfreund", street="Hauptstr. 1", postal_code="10115")
    ConsentFactory(person=with_consent, channel=Consent.Channel.MAIL)
    email_only = PersonFactory(last_name="Mailfreund", street="Nebenweg 2")
    ConsentFactory(person=email_only)
    withdrawn = PersonFactory(last_name="Abgemeldet", street="Ring 3")
    ConsentFactory(person=withdrawn, channel=Consent.Channel.MAIL, status=Consent.Status.WITHDRAWN)
    for person in (with_consent, email_only, withdrawn):
        CampaignMember.objects.create(campaign=campaign, person=person)
    client.force_login(marketer)
    response = client.get(reverse("marketing:campaign_export", args=[campaign.pk]))
    body = b"".join(response.streaming_content).decode()
    assert "Postfreund" in body and "Hauptstr. 1" in body
    assert "Mailfreund" not in body and "Abgemeldet" not in body
    # Like every CSV download (crm.downloads): BOM, ';' and no formula a spreadsheet would run.
    assert body.startswith("\ufeff") and ";'=HYPERLINK(1);" in body
    assert response["Content-Disposition"].startswith('attachment; filename="direct-mail-katalog-')
    client.force_login(role_users["sales_rep"])
    assert client.get(reverse("marketing:campaign_export", args=[campaign.pk])).status_code == 403


def test_template_preview_uses_a_real_person_and_a_test_goes_to_me(client, marketer, django_capture_on_commit_callbacks):
    template = EmailTemplateFactory(subject="Hallo {{ first_name }}")
    person = PersonFactory(first_name="Erika", last_name="Weber", salutation="ms")
    client.force_login(marketer)
    response = client.get(reverse("marketing:template_detail", args=[template.pk]) + f"?person={person.pk}")
    assert response.context["preview_subject"] == "Hallo Erika"
    assert "Sehr geehrte Frau Weber" in response.context["preview_text"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketing:template_test_send", args=[template.pk]) + f"?person={person.pk}")
    assert [m.to for m in mail.outbox] == [["marketer@example.de"]]
    assert mail.outbox[0].alternatives[0][1] == "text/html" and "List-Unsubscribe" in mail.outbox[0].extra_headers
    assert mail.outbox[0].subject == "[Test] Hallo Erika"


def test_the_html_preview_is_a_document_of_its_own_with_a_policy_for_emails(client, marketer, role_users):
    template = EmailTemplateFactory(body_html='<p style="color:#c00">Hallo {{ first_name }}</p><script>alert(1)</script>')
    person = PersonFactory(first_name="Erika", last_name="Weber")
    client.force_login(marketer)
    page = client.get(reverse("marketing:template_detail", args=[template.pk]) + f"?person={person.pk}")
    preview_url = reverse("marketing:template_preview", args=[template.pk]) + f"?person={person.pk}"
    assert f'src="{preview_url}"' in page.content.decode().replace("&amp;", "&")
    response = client.get(preview_url)
    assert response.status_code == 200 and "Hallo Erika" in response.content.decode()
    policy = response["Content-Security-Policy"]
    # Inline styles as emails have them, no script at all (not even ours), framed by our pages only.
    assert "style-src 'unsafe-inline'" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy and "sandbox" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    # The page itself keeps the strict policy.
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    client.force_login(role_users["support_agent"])
    assert client.get(preview_url).status_code == 404


def test_unknown_placeholders_are_refused(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("marketing:template_create"), {
        "name": "X", "language": "de", "subject": "Hallo {{ vorname }}", "body_html": "<p>Hi</p>",
    })
    assert response.status_code == 200
    assert "vorname" in str(response.context["form"].errors)


def test_results_page_sums_per_channel(client, role_users):
    email_campaign = CampaignFactory(cost=100)
    CampaignMemberFactory(campaign=email_campaign, status="responded")
    CampaignMemberFactory(campaign=CampaignFactory(channel="phone", template=None))
    client.force_login(role_users["sales_manager"])
    response = client.get(reverse("marketing:campaign_results"))
    channels = {c["label"]: c for c in response.context["channels"]}
    assert channels["Email"]["targeted"] == 1 and channels["Email"]["responded"] == 1
    assert channels["Phone call list"]["targeted"] == 1


def test_the_person_page_shows_consent_and_campaigns(client, marketer):
    person = PersonFactory()
    ConsentFactory(person=person)
    member = CampaignMemberFactory(person=person)
    client.force_login(marketer)
    html = client.get(person.get_absolute_url()).content.decode()
    assert "Consent and campaigns" in html and member.campaign.name in html


def test_results_include_leads_deals_won_revenue_and_roi_from_sales(client, role_users):
    from sales.models import Deal
    from sales.tests.factories import DealFactory, LeadFactory

    campaign = CampaignFactory(code="messe-roi", cost=1000)
    LeadFactory(campaign_code="messe-roi")
    LeadFactory(campaign_code="messe-roi")
    DealFactory(campaign_code="messe-roi", amount=5000, status=Deal.Status.WON)
    DealFactory(campaign_code="messe-roi", amount=7000)
    LeadFactory(campaign_code="anderes")
    from marketing.services import campaign_results

    f = campaign_results([campaign])[campaign.pk]
    assert (f["leads"], f["deals"], f["won_deals"], str(f["won_revenue"])) == (2, 2, 1, "5000.00")
    assert str(f["cost_per_lead"]) == "500.00" and str(f["roi"]) == "400.0"
    client.force_login(role_users["sales_rep"])
    assert "400.0 %" in client.get(campaign.get_absolute_url()).content.decode()


def test_segments_filter_by_open_deal_value_and_won_revenue():
    from contacts.tests.factories import EmploymentFactory, OrganizationFactory
    from marketing.segments import people_matching
    from sales.models import Deal
    from sales.tests.factories import DealFactory

    big, small = OrganizationFactory(), OrganizationFactory()
    at_big = EmploymentFactory(organization=big).person
    at_small = EmploymentFactory(organization=small).person
    DealFactory(organization=big, amount=30_000)
    DealFactory(organization=big, amount=30_000)
    DealFactory(organization=small, amount=80_000, status=Deal.Status.WON)
    assert list(people_matching({"open_deal_value_min": 50_000})) == [at_big]
    assert list(people_matching({"won_revenue_min": 50_000})) == [at_small]
    assert list(people_matching({"won_revenue_min": 100_000})) == []
