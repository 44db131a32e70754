"""Marketing's start page: running and planned campaigns with their progress, consent gained and
lost in the last 30 days, the newest web form entries; no tickets, no deals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.tests.factories import PersonFactory
from crm.roles import Role
from crm.tests.startpage import home, home_queries, part, widget
from marketing.models import Campaign, ConsentEvent, Delivery, WebFormSubmission
from marketing.tests.factories import CampaignFactory, ConsentFactory, WebFormFactory

pytestmark = pytest.mark.django_db


def consent_event(action, *, days_ago=1):
    consent = ConsentFactory()
    return ConsentEvent.objects.create(
        consent=consent, person=consent.person, action=action, purpose=consent.purpose, channel=consent.channel,
        source=consent.source, occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def deliveries(campaign, *, sent: int, pending: int):
    for status, n in ((Delivery.Status.SENT, sent), (Delivery.Status.PENDING, pending)):
        for _ in range(n):
            person = PersonFactory()
            Delivery.objects.create(campaign=campaign, person=person, email=person.email or "x@example.de", status=status)


def test_marketing_sees_its_widgets_and_no_tickets_or_deals(marketer, client_for):
    body = home(client_for(marketer))
    for widget_id in ("w-campaigns", "w-consent-growth", "w-form-leads", "w-my-tasks", "w-appointments-today"):
        assert widget(body, widget_id), widget_id
    for widget_id in ("w-my-queue", "w-sla-alarms", "w-unassigned", "w-team-backlog", "w-stale-deals", "w-new-leads",
                      "w-team-pipeline", "w-team-forecast"):
        assert not widget(body, widget_id), widget_id


def test_other_roles_do_not_get_the_marketing_widgets(role_users, client_for):
    for role in (Role.SALES_REP, Role.SALES_MANAGER, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD):
        body = home(client_for(role_users[role]))
        assert not widget(body, "w-campaigns") and not widget(body, "w-form-leads"), role


def test_running_and_planned_campaigns_with_progress(marketer, client_for):
    today = timezone.localdate()
    mailing = CampaignFactory(name="Herbst-Newsletter", status=Campaign.Status.SENDING, start_date=today)
    deliveries(mailing, sent=3, pending=1)
    fair = CampaignFactory(name="Messe Hannover", channel=Campaign.Channel.EVENT, status=Campaign.Status.ACTIVE,
                           start_date=today - timedelta(days=4), end_date=today + timedelta(days=5))
    CampaignFactory(name="Frühjahrsaktion", status=Campaign.Status.DRAFT, start_date=today + timedelta(days=10))
    CampaignFactory(name="Alter Hut", status=Campaign.Status.DONE, start_date=today - timedelta(days=90))
    answers = CampaignFactory(name="Antworten laufen", status=Campaign.Status.SENT, start_date=today - timedelta(days=9),
                              end_date=today + timedelta(days=20))
    CampaignFactory(name="Längst versandt", status=Campaign.Status.SENT, start_date=today - timedelta(days=60),
                    end_date=today - timedelta(days=1))
    CampaignFactory(name="Ohne Termin", status=Campaign.Status.DRAFT)
    campaigns = widget(home(client_for(marketer)), "w-campaigns")
    running, planned = part(campaigns, "running"), part(campaigns, "scheduled")
    assert mailing.name in running and fair.name in running and answers.name in running
    assert "Längst versandt" not in campaigns
    assert 'data-progress="75"' in running and "3 of 4 sent" in running
    assert "day 5 of 10" in running and 'data-progress="50"' in running
    assert "Frühjahrsaktion" in planned and "Frühjahrsaktion" not in running
    assert "Alter Hut" not in campaigns and "Ohne Termin" not in campaigns


def test_the_campaign_links_list_the_same_campaigns(marketer, client_for):
    today = timezone.localdate()
    CampaignFactory(name="Läuft gerade", status=Campaign.Status.ACTIVE, start_date=today)
    CampaignFactory(name="Kommt noch", status=Campaign.Status.DRAFT, start_date=today + timedelta(days=3))
    client = client_for(marketer)
    running = client.get("/marketing/campaigns/?phase=running").content.decode()
    assert "Läuft gerade" in running and "Kommt noch" not in running
    planned = client.get("/marketing/campaigns/?phase=scheduled").content.decode()
    assert "Kommt noch" in planned and "Läuft gerade" not in planned


def test_consent_growth_counts_the_last_30_days(marketer, client_for):
    for _ in range(3):
        consent_event(ConsentEvent.Action.GRANTED)
    consent_event(ConsentEvent.Action.WITHDRAWN, days_ago=29)
    consent_event(ConsentEvent.Action.WITHDRAWN, days_ago=31)  # too old
    consent_event(ConsentEvent.Action.GRANTED, days_ago=45)  # too old
    growth = widget(home(client_for(marketer)), "w-consent-growth")
    assert 'data-figure="granted">3<' in growth and 'data-figure="withdrawn">1<' in growth and 'data-figure="net">+2<' in growth


def test_newest_web_form_entries(marketer, client_for):
    form = WebFormFactory(name="Kontaktformular")
    older = WebFormSubmission.objects.create(form=form, person=PersonFactory(last_name="Älter"),
                                             created_at=timezone.now() - timedelta(days=2))
    newer = WebFormSubmission.objects.create(form=form, person=PersonFactory(last_name="Neuer"))
    leads = widget(home(client_for(marketer)), "w-form-leads")
    assert leads.index(newer.person.last_name) < leads.index(older.person.last_name)
    assert "Kontaktformular" in leads and newer.person.get_absolute_url() in leads


def test_empty_states_in_german(marketer, client_for):
    body = home(client_for(marketer), language="de")
    assert "Keine Kampagne läuft gerade." in widget(body, "w-campaigns")
    assert "Keine Einwilligung wurde in dieser Zeit erteilt oder widerrufen." in widget(body, "w-consent-growth")
    assert "Noch keine Einträge aus Webformularen." in widget(body, "w-form-leads")


def test_marketing_start_page_queries_do_not_grow(marketer, client_for):
    client = client_for(marketer)
    today = timezone.localdate()
    form = WebFormFactory()

    def add(n):
        for i in range(n):
            campaign = CampaignFactory(status=Campaign.Status.SENDING, start_date=today)
            deliveries(campaign, sent=1, pending=1)
            CampaignFactory(status=Campaign.Status.DRAFT, start_date=today + timedelta(days=i + 1))
            consent_event(ConsentEvent.Action.GRANTED if i % 2 else ConsentEvent.Action.WITHDRAWN)
            WebFormSubmission.objects.create(form=form, person=PersonFactory())

    add(3)
    few = home_queries(client)
    add(27)
    assert home_queries(client) == few
    assert few <= 30
