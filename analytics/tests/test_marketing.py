"""Marketing figures against a small data set counted by hand, their links, permissions, scope and cost.

The period is March 2025 (weeks from Monday: 02-24, 03-03, 03-10, 03-17, 03-24, 03-31).
Owners: mara and otto (marketing). Leads and deals belong to `manager` (Mona), so she sees them in
sales' lists.

campaign  owner  channel  runs                  cost  members (status)                       in March?
c1        mara   email    03-01 – 03-31         1000  p1 responded, p2 sent, p3 sent, p4 opted out  yes
c2        otto   phone    02-20 – 03-05          500  q1, q2 targeted                        yes (overlaps)
c3        mara   mail     04-10                 2000  r1                                     no (later)
c4        mara   email    02-01 (no end)           0  -                                      no (one day in February)
c5        otto   social   (no dates, created 03-15)  0  -                                    yes (creation day)

Deliveries of c1: p1 sent, opened, clicked; p2 sent, opened; p3 bounced; p4 sent; p4 unsubscribed.
Sales: leads "fruehjahr" ×2, "messe" ×1, "anderes" ×1 (no campaign); deals "fruehjahr": won 5000, open 3000.

Consent changes: 02-28 granted (before), 03-01 granted, 03-04 granted, 03-05 granted, 03-12 withdrawn
(unsubscribe link), 03-13 withdrawn (preference centre), 03-20 requested (not counted), 03-31 23:30 granted,
04-01 00:30 granted (after).
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Period, Scope
from analytics.services.marketing import marketing_dashboard
from analytics.tests.charts import assert_charts
from conftest import make_user
from crm.roles import Role
from marketing.models import CampaignMember, Consent, ConsentEvent, Delivery, TrackingEvent
from marketing.tests.factories import CampaignFactory, CampaignMemberFactory, ConsentFactory
from sales.models import Deal
from sales.tests.factories import DealFactory, LeadFactory

URL = reverse("analytics:marketing")
MARCH = Scope(None, date(2025, 3, 1), date(2025, 3, 31), "März 2025", period=Period.THIS_MONTH)


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(2025, month, day, hour, minute))


@pytest.fixture
def mara(db):
    return make_user("mara", Role.MARKETING, first_name="Mara", last_name="Markt")


@pytest.fixture
def otto(db):
    return make_user("otto", Role.MARKETING, first_name="Otto", last_name="Ohm")


@pytest.fixture
def dataset(mara, otto, manager, stages):
    c1 = CampaignFactory(name="Frühjahr", code="fruehjahr", owner=mara, cost=Decimal("1000"),
                         start_date=date(2025, 3, 1), end_date=date(2025, 3, 31), created_at=at(2, 1))
    c2 = CampaignFactory(name="Messe-Anrufe", code="messe", owner=otto, channel="phone", template=None,
                         cost=Decimal("500"), start_date=date(2025, 2, 20), end_date=date(2025, 3, 5), created_at=at(2, 1))
    c3 = CampaignFactory(name="Katalog", code="katalog", owner=mara, channel="mail", template=None,
                         cost=Decimal("2000"), start_date=date(2025, 4, 10), created_at=at(2, 1))
    CampaignFactory(name="Winter", code="winter", owner=mara, start_date=date(2025, 2, 1), created_at=at(1, 20))
    CampaignFactory(name="LinkedIn", code="linkedin", owner=otto, channel="social", template=None, created_at=at(3, 15))

    status = CampaignMember.Status
    members = {}
    for name, member_status in (("p1", status.RESPONDED), ("p2", status.SENT), ("p3", status.SENT), ("p4", status.OPTED_OUT)):
        members[name] = CampaignMemberFactory(campaign=c1, status=member_status)
    CampaignMemberFactory.create_batch(2, campaign=c2)
    CampaignMemberFactory(campaign=c3)

    def deliver(name, delivery_status, opened=False, clicked=False):
        member = members[name]
        return Delivery.objects.create(
            campaign=c1, person=member.person, email=f"{name}@example.de", status=delivery_status,
            opened_at=at(3, 2) if opened else None, clicked_at=at(3, 2) if clicked else None,
        )

    deliver("p1", Delivery.Status.SENT, opened=True, clicked=True)
    deliver("p2", Delivery.Status.SENT, opened=True)
    deliver("p3", Delivery.Status.BOUNCED)
    p4 = deliver("p4", Delivery.Status.SENT)
    TrackingEvent.objects.create(delivery=p4, campaign=c1, person=p4.person, kind=TrackingEvent.Kind.UNSUBSCRIBE)

    LeadFactory.create_batch(2, campaign_code="fruehjahr", owner=manager)
    LeadFactory(campaign_code="messe", owner=manager)
    LeadFactory(campaign_code="anderes", owner=manager)
    won = stages["Gewonnen"]
    DealFactory(campaign_code="fruehjahr", owner=manager, stage=won, pipeline=won.pipeline, status=Deal.Status.WON,
                amount=Decimal("5000"), closed_at=at(3, 20))
    open_stage = stages["Angebot"]
    DealFactory(campaign_code="fruehjahr", owner=manager, stage=open_stage, pipeline=open_stage.pipeline, amount=Decimal("3000"))

    consent = ConsentFactory()
    for action, source, moment in (
        ("granted", "double_opt_in", at(2, 28)),
        ("granted", "double_opt_in", at(3, 1, 0, 30)),
        ("granted", "web_form", at(3, 4)),
        ("granted", "staff", at(3, 5)),
        ("withdrawn", "unsubscribe", at(3, 12)),
        ("withdrawn", "preferences", at(3, 13)),
        ("requested", "web_form", at(3, 20)),
        ("granted", "double_opt_in", at(3, 31, 23, 30)),
        ("granted", "double_opt_in", at(4, 1, 0, 30)),
    ):
        ConsentEvent.objects.create(consent=consent, person=consent.person, action=action, purpose=Consent.Purpose.NEWSLETTER,
                                    channel=Consent.Channel.EMAIL, source=source, occurred_at=moment)
    return {"c1": c1, "c2": c2, "mara": mara, "otto": otto}


def cards(dashboard):
    return {f.key: f.value for f in dashboard.cards}


def table(rows, *keys):
    return {row["label"]: tuple(row[k] for k in keys) for row in rows}


def test_figures_equal_the_hand_count(dataset, manager):
    d = marketing_dashboard(user=manager, scope=MARCH)
    # In March: c1, c2, c5. Targeted 4 + 2; sent (sent or bounced) 4, opened 2, clicked 1 (c1 only);
    # leads 2 + 1; deals 2 (c1), 1 won for 5000. Cost 1000 + 500 + 0 -> per lead 1500 / 3 = 500;
    # ROI (5000 - 1500) / 1500 = 233.3 %.
    assert [row["label"] for row in d.campaigns] == ["LinkedIn", "Frühjahr", "Messe-Anrufe"]  # newest start first
    assert cards(d) == {
        "campaigns": 3, "targeted": 6, "leads": 3, "won_revenue": Decimal("5000.00"),
        "cost_per_lead": Decimal("500.00"), "roi": Decimal("233.3"), "consent_net": 2, "unsubscribed": 1,
    }
    assert table(d.funnel, "value", "share") == {
        "Targeted": (6, 100.0), "Sent": (4, 66.7), "Opened": (2, 33.3), "Clicked": (1, 16.7),
        "Leads": (3, 50.0), "Deals": (2, 33.3), "Won deals": (1, 16.7),
    }
    # c1: CPL 1000 / 2 = 500, ROI (5000 - 1000) / 1000 = 400 %; c2: 500 / 1, (0 - 500) / 500 = -100 %;
    # c5 costs nothing: no CPL, no ROI.
    assert table(d.campaigns, "targeted", "sent", "opened", "clicked", "unsubscribed", "leads", "deals", "won_deals",
                 "won_revenue", "cost_per_lead", "roi") == {
        "Frühjahr": (4, 4, 2, 1, 1, 2, 2, 1, Decimal("5000.00"), Decimal("500.00"), Decimal("400.0")),
        "Messe-Anrufe": (2, 0, 0, 0, 0, 1, 0, 0, Decimal("0.00"), Decimal("500.00"), Decimal("-100.0")),
        "LinkedIn": (0, 0, 0, 0, 0, 0, 0, 0, Decimal("0.00"), None, None),
    }
    # Per channel, in the order of the channels: email (c1), phone (c2), social (c5).
    assert [row["label"] for row in d.channels] == ["Email", "Phone call list", "Social media"]
    assert table(d.channels, "campaigns", "leads", "won_revenue", "cost", "cost_per_lead", "roi") == {
        "Email": (1, 2, Decimal("5000.00"), Decimal("1000.00"), Decimal("500.00"), Decimal("400.0")),
        "Phone call list": (1, 1, Decimal("0.00"), Decimal("500.00"), Decimal("500.00"), Decimal("-100.0")),
        "Social media": (1, 0, Decimal("0.00"), Decimal("0.00"), None, None),
    }
    assert (d.totals["campaigns"], d.totals["cost"], d.totals["roi"]) == (3, Decimal("1500.00"), Decimal("233.3"))
    # Consent per week: 03-01 (week of 02-24) 1 grant; week of 03-03: 2 grants; 03-10: 2 withdrawals, one by
    # the unsubscribe link; 03-31 23:30: 1 grant. Totals 4 granted, 2 withdrawn, net 2.
    assert d.bucket == "week"
    assert [(row["start"], row["granted"], row["withdrawn"], row["net"], row["unsubscribed"]) for row in d.consent] == [
        (date(2025, 2, 24), 1, 0, 1, 0), (date(2025, 3, 3), 2, 0, 2, 0), (date(2025, 3, 10), 0, 2, -2, 1),
        (date(2025, 3, 17), 0, 0, 0, 0), (date(2025, 3, 24), 0, 0, 0, 0), (date(2025, 3, 31), 1, 0, 1, 0),
    ]
    assert {k: d.consent_totals[k] for k in ("granted", "withdrawn", "net", "unsubscribed")} == {
        "granted": 4, "withdrawn": 2, "net": 2, "unsubscribed": 1}


def test_the_figures_are_the_campaign_pages_figures(dataset, manager, client):
    """The dashboard reuses marketing's campaign results: the campaign page shows the same numbers."""
    client.force_login(manager)
    d = marketing_dashboard(user=manager, scope=MARCH)
    row = next(r for r in d.campaigns if r["label"] == "Frühjahr")
    figures = client.get(row["url"]).context["figures"]
    for key in ("targeted", "sent", "opened", "clicked", "unsubscribed", "leads", "deals", "won_revenue", "cost_per_lead", "roi"):
        assert figures[key] == row[key], key
    results = client.get(reverse("marketing:campaign_results")).context["channels"]
    assert {r["label"]: r["leads"] for r in results}["Email"] == 2  # c1 and c4 are email campaigns; c4 has no leads


def test_a_year_counts_per_month_and_owner_narrows_the_campaigns(dataset, admin_user):
    year = Scope(frozenset({dataset["mara"].pk}), date(2025, 1, 1), date(2025, 12, 31), "Mara", period=Period.THIS_YEAR)
    d = marketing_dashboard(user=admin_user, scope=year)
    # Mara's campaigns in 2025: c1, c3, c4.
    assert sorted(row["label"] for row in d.campaigns) == ["Frühjahr", "Katalog", "Winter"]
    assert cards(d)["targeted"] == 5
    assert d.bucket == "month" and len(d.consent) == 12
    assert [(row["granted"], row["withdrawn"]) for row in d.consent[1:4]] == [(1, 0), (4, 2), (1, 0)]  # Feb, Mar, Apr


def test_roles_outside_marketing_and_sales_management_are_refused(dataset, role_users, nobody, client):
    for user in (nobody, role_users[Role.SALES_REP], role_users[Role.SUPPORT_AGENT], role_users[Role.SUPPORT_LEAD]):
        client.force_login(user)
        assert client.get(URL).status_code == 403, user.username
    for role in (Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER):
        client.force_login(role_users[role])
        assert client.get(URL).status_code == 200, role


def test_a_user_counts_only_what_they_may_see(dataset, role_users):
    """Campaigns and consent are marketing records: a support agent may see none of them."""
    d = marketing_dashboard(user=role_users[Role.SUPPORT_AGENT], scope=MARCH)
    assert cards(d)["campaigns"] == 0 and d.campaigns == [] and d.consent_totals["granted"] == 0


def test_links_open_the_members_leads_and_deals_behind_the_numbers(dataset, manager, client):
    client.force_login(manager)
    d = marketing_dashboard(user=manager, scope=MARCH)
    row = next(r for r in d.campaigns if r["label"] == "Frühjahr")
    for url, count in ((row["targeted_url"], 4), (row["responded_url"], 1), (row["unsubscribed_url"], 1)):
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["members_page"].paginator.count == count, url
    for url, count in ((row["leads_url"], 2), (row["deals_url"], 2), (row["won_url"], 1)):
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["paginator"].count == count, url
    for channel in d.channels:
        response = client.get(channel["url"])
        assert response.status_code == 200 and response.context["paginator"].count >= channel["campaigns"]


def test_marketing_gets_no_links_to_sales_lists(dataset, mara):
    d = marketing_dashboard(user=mara, scope=MARCH)
    assert all(not row["leads_url"] and not row["deals_url"] for row in d.campaigns)
    assert cards(d)["leads"] == 3  # the same figures as on the campaign pages


def test_page_shows_every_figure_and_runs_constant_queries(dataset, mara, client, django_assert_max_num_queries):
    # Periods are relative to today: one campaign of today with a lead, so that every query runs.
    CampaignFactory(owner=mara, code="heute", start_date=timezone.localdate())
    LeadFactory(campaign_code="heute")
    client.force_login(mara)
    # Session, user, roles, snapshot (1 + 5 to store), the filter form (4) and the figures: campaigns (1),
    # campaign results (3 marketing + 2 sales), consent changes (1).
    with django_assert_max_num_queries(23) as few:
        response = client.get(URL, {"period": Period.LAST_12_MONTHS})
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("campaigns", "targeted", "leads", "won_revenue", "cost_per_lead", "roi", "consent_net", "unsubscribed"):
        assert f'data-figure="{key}"' in html
    charts = ("funnel-chart", "channels-chart", "consent-chart", "unsubscribes-chart")
    assert_charts(html, charts)
    consent = ConsentFactory()
    now = timezone.now()
    for i in range(25):
        campaign = CampaignFactory(owner=mara, channel=["email", "phone", "event"][i % 3], cost=Decimal(i),
                                   start_date=timezone.localdate())
        member = CampaignMemberFactory(campaign=campaign)
        Delivery.objects.create(campaign=campaign, person=member.person, email=f"x{i}@example.de", status="sent", opened_at=now)
        LeadFactory(campaign_code=campaign.code)
        ConsentEvent.objects.create(consent=consent, person=consent.person, action="granted", purpose="newsletter",
                                    channel="email", source="web_form")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"period": Period.LAST_12_MONTHS})
    assert response.context["dashboard"].totals["campaigns"] >= 25


def test_csv_export_has_every_figure(dataset, admin_user, client):
    CampaignFactory(name="Heute", code="heute", owner=dataset["otto"], cost=Decimal("300"), start_date=timezone.localdate())
    LeadFactory(campaign_code="heute")
    client.force_login(admin_user)
    response = client.get(URL, {"format": "csv", "period": Period.LAST_12_MONTHS, "owner": dataset["otto"].pk})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Figure", "Item", "Measure", "Value", "Scope"]
    sections = {row[0] for row in rows[1:]}
    assert {"Campaign funnel", "Per campaign", "Per channel", "Consent changes", "Return on investment"} <= sections
    by_key = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    # Periods are relative to today: otto's campaign of today, 300 € for one lead and nothing won.
    assert by_key[("Per campaign", "Heute", "Leads")] == "1"
    assert by_key[("Per campaign", "Heute", "Cost per lead")] == "300.00"
    # A negative number stays a number (safe_cell neutralises text, not numbers).
    assert by_key[("Per campaign", "Heute", "Return on investment in %")] == "-100.0"
    assert by_key[("Per channel", "All campaigns", "Campaigns")] == "1"
    assert ("Per campaign", "Frühjahr", "Leads") not in by_key  # mara's


def test_bad_filter_values_fall_back_without_an_error(dataset, mara, client):
    client.force_login(mara)
    response = client.get(URL, {"owner": "x'; drop", "team": "999999", "period": "eon"})
    assert response.status_code == 200
