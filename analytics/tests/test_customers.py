"""Customer figures against eight organizations counted by hand, their links, the segments made
from their lists, permissions, scope and cost.

Times are days before now ("d"); the period is the last 12 months (the default). Deals are owned
by the organization's owner. Alice and bob are teammates (team of `manager`), charlie is not.

org          owner    won deals (amount @ days ago)               other
O1 Adler     alice    50000@30, 30000@100, 20000@200, 10000@760.5 a lost deal 99000@10
O2 Birke     alice    40000@60, 20000@607.875
O3 Castor    bob      5000@300, 50000@450                          flagged VIP by customer service
O4 Dachs     bob      15000@20 (territory Nord)
O5 Eule      alice    8000@150                                     activities @120, 200, 300, 400
O6 Falke     bob      25000@800, 25000@1000
O7 Greif     alice    12000@600                                    an open deal 5000
O8 Hirsch    charlie  200000@50                                    annual revenue 20 M € (VIP)
(none)       alice    7000@10 without organization (never counted)

Per organization (admin):      period revenue / won   last 12 m / 12 m before   lifetime   first..last
O1 100000 / 3   100000 / 0      110000   760.5..30 (2 years)
O2  40000 / 1    40000 / 20000   60000   607.875..60 (1.5 years)
O3   5000 / 1     5000 / 50000   55000   450..300 (< 1 year: 1)
O4  15000 / 1    15000 / 0       15000   20 (1)
O5   8000 / 1     8000 / 0        8000   150 (1)
O6      0 / 0        0 / 0       50000   1000..800 (1)
O7      0 / 0        0 / 12000   12000   600 (1)
O8 200000 / 1   200000 / 0      200000   50 (1)
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Period, Scope, period_range
from analytics.services.customers import customers_dashboard, list_organization_ids
from contacts.models import Employment
from contacts.tests.factories import ActivityFactory, OrganizationFactory, PersonFactory
from marketing.models import Segment
from sales.models import Deal
from sales.tests.factories import DealFactory, TerritoryFactory
from service.models import CustomerTier

URL = reverse("analytics:customers")
SEGMENT_URL = reverse("analytics:customers_segment")


def twelve_months(**kwargs) -> Scope:
    start, end = period_range(Period.LAST_12_MONTHS)
    return Scope(kwargs.pop("owner_ids", None), start, end, "", period=Period.LAST_12_MONTHS, **kwargs)


@pytest.fixture
def dataset(alice, bob, manager, charlie, stages):
    now = timezone.now()
    won, lost, offer = stages["Gewonnen"], stages["Verloren"], stages["Angebot"]
    nord = TerritoryFactory(name="Nord")
    orgs = {}
    for key, name, owner in [
        ("O1", "Adler AG", alice), ("O2", "Birke GmbH", alice), ("O3", "Castor KG", bob), ("O4", "Dachs OHG", bob),
        ("O5", "Eule GmbH", alice), ("O6", "Falke AG", bob), ("O7", "Greif GmbH", alice), ("O8", "Hirsch GmbH", charlie),
    ]:
        orgs[key] = OrganizationFactory(name=name, owner=owner)

    def deal(org, amount, days, *, stage=won, **fields):
        status = Deal.Status.WON if stage.is_won else Deal.Status.LOST if stage.is_lost else Deal.Status.OPEN
        owner = fields.pop("owner", None) or (org.owner if org else alice)
        closed = now - timedelta(days=days) if status != Deal.Status.OPEN else None
        return DealFactory(organization=org, owner=owner, stage=stage, pipeline=stage.pipeline, status=status,
                           amount=Decimal(amount), closed_at=closed, created_at=(closed or now) - timedelta(days=5),
                           **fields)

    for amount, days in [(50000, 30), (30000, 100), (20000, 200), (10000, 760.5)]:
        deal(orgs["O1"], amount, days)
    deal(orgs["O1"], 99000, 10, stage=lost, lost_reason="price")
    deal(orgs["O2"], 40000, 60)
    deal(orgs["O2"], 20000, 607.875)
    deal(orgs["O3"], 5000, 300)
    deal(orgs["O3"], 50000, 450)
    deal(orgs["O4"], 15000, 20, territory=nord)
    deal(orgs["O5"], 8000, 150)
    deal(orgs["O6"], 25000, 800)
    deal(orgs["O6"], 25000, 1000)
    deal(orgs["O7"], 12000, 600)
    deal(orgs["O7"], 5000, 0, stage=offer)
    deal(orgs["O8"], 200000, 50)
    deal(None, 7000, 10, owner=alice)
    for days in (120, 200, 300, 400):
        ActivityFactory(organization=orgs["O5"], person=None, occurred_at=now - timedelta(days=days), created_by=alice)
    CustomerTier.objects.create(organization=orgs["O3"])
    orgs["O8"].annual_revenue = Decimal("20000000")
    orgs["O8"].save()
    return {**orgs, "alice": alice, "bob": bob, "charlie": charlie, "nord": nord}


def cards(dashboard):
    return {f.key: (f.value, f.total) for f in dashboard.cards}


def labels(rows):
    return [row["label"] for row in rows]


def test_admin_figures_equal_the_hand_count(dataset, admin_user):
    d = customers_dashboard(user=admin_user, scope=twelve_months())
    # Customers in the period: O1, O2, O3, O4, O5, O8 (6), revenue 100000 + 40000 + 5000 + 15000 + 8000
    # + 200000 = 368000. Top 20 %: ceil(6 / 5) = 2 customers, O8 and O1: 300000 / 368000 = 81.5 %.
    assert cards(d)["revenue"] == (Decimal("368000.00"), None)
    assert cards(d)["customers"] == (6, None)
    assert cards(d)["pareto"] == (Decimal("300000.00"), Decimal("368000.00"))
    assert d.pareto["top_count"] == 2
    assert d.pareto["top_revenue"] == Decimal("300000.00")
    assert d.pareto["share"] == 81.5
    assert [(r["label"], r["revenue"], r["share"]) for r in d.top_customers] == [
        ("Hirsch GmbH", Decimal("200000.00"), 54.3), ("Adler AG", Decimal("100000.00"), 27.2)]

    # RFM over the 8 customers ever; NTILE(5) of 8 rows gives groups of 2, 2, 2, 1, 1.
    # R by last won deal, oldest first: O6 O7 | O3 O5 | O2 O8 | O1 | O4 -> 1 1 2 2 3 3 4 5.
    # F by won deals in the period (then revenue, last won): O6 O7 | O3 O5 | O4 O2 | O8 | O1.
    # M by revenue in the period (then won deals, last won): O6 O7 | O3 O5 | O4 O2 | O1 | O8.
    # FM = (F + M + 1) // 2: O1 (5+4) 5, O2 3, O3 2, O4 3, O5 2, O6 1, O7 1, O8 (4+5) 5.
    # Champions (R>=4, FM>=4): O1. Loyal (R>=3, FM>=3): O2 (R3), O4 (R5), O8 (R3).
    # Hibernating (R<=2, FM<=2): O3, O5, O6, O7 with period revenue 5000 + 8000.
    rfm = {row["key"]: (row["count"], row["revenue"]) for row in d.rfm}
    assert rfm == {
        "champions": (1, Decimal("100000.00")), "loyal": (3, Decimal("255000.00")), "new": (0, Decimal("0.00")),
        "need_attention": (0, Decimal("0.00")), "cant_lose": (0, Decimal("0.00")), "at_risk": (0, Decimal("0.00")),
        "hibernating": (4, Decimal("13000.00")),
    }
    rows = {row["key"]: row for row in d.rfm}
    assert labels(rows["loyal"]["members"]) == ["Hirsch GmbH", "Birke GmbH", "Dachs OHG"]
    # Hibernating by period revenue, then lifetime revenue: O5 8000, O3 5000, O6 (50000 ever), O7 (12000).
    assert labels(rows["hibernating"]["members"]) == ["Eule GmbH", "Castor KG", "Falke AG", "Greif GmbH"]
    assert (rows["champions"]["r"], rows["champions"]["f"], rows["champions"]["m"]) == (4.0, 5.0, 4.0)

    # Churn risk (a customer of the last 24 months, won in the last 12 or with an open deal):
    # O3 5000 vs 50000 = -90 %; O7 0 vs 12000 = -100 % (open deal, so not win-back);
    # O5 no activity for 120 days after 4 in the year before. Largest revenue before first.
    assert d.churn_count == 3
    assert [(r["label"], r["reason"]) for r in d.churn] == [
        ("Castor KG", "revenue −90 % vs. the 12 months before"),
        ("Greif GmbH", "revenue −100 % vs. the 12 months before"),
        ("Eule GmbH", "no activity for 120 days, 4 in the year before"),
    ]

    # Tiers by revenue of the last 12 months: platinum O8, O1 (300000); gold none; silver O2, O4
    # (55000); bronze O3, O5 (13000). VIP: O8 by annual revenue, O3 flagged.
    assert [(t["key"], t["count"], t["revenue"], t["vip"]) for t in d.tiers] == [
        ("platinum", 2, Decimal("300000.00"), 1), ("gold", 0, Decimal("0.00"), 0),
        ("silver", 2, Decimal("55000.00"), 0), ("bronze", 2, Decimal("13000.00"), 1),
    ]

    # Lifetime value: revenue per year O1 110000/2, O2 60000/1.5, O3 55000, O4 15000, O5 8000, O6 50000,
    # O7 12000, O8 200000 -> 435000 / 8 = 54375; lifespan (2 + 1.5 + 6 × 1) / 8 = 1.1875 years;
    # 54375 × 1.1875 = 64570.3125.
    assert d.lifetime["customers"] == 8
    assert d.lifetime["revenue"] == Decimal("510000.00")
    assert d.lifetime["yearly"] == Decimal("54375.00")
    assert d.lifetime["years"] == Decimal("1.19")
    assert d.lifetime["value"] == Decimal("64570.31")
    assert cards(d)["lifetime_value"] == (Decimal("64570.31"), None)
    assert labels(d.top_lifetime) == [
        "Hirsch GmbH", "Adler AG", "Birke GmbH", "Castor KG", "Falke AG", "Dachs OHG", "Greif GmbH", "Eule GmbH"]
    assert d.top_lifetime[1]["won_count"] == 4

    # Win-back: won before, none in 12 months, no open deal: O6 only (O7 has an open deal).
    assert d.win_back_count == 1
    assert [(r["label"], r["lifetime"], r["won_count"], r["days"]) for r in d.win_back] == [
        ("Falke AG", Decimal("50000.00"), 2, 800)]


def test_a_rep_counts_only_the_deals_the_rep_may_see(dataset):
    d = customers_dashboard(user=dataset["alice"], scope=twelve_months())
    # Without charlie's O8: 5 customers, 168000; top ceil(5 / 5) = 1: O1 100000 = 59.5 %.
    assert cards(d)["customers"] == (5, None)
    assert cards(d)["revenue"] == (Decimal("168000.00"), None)
    assert d.pareto["share"] == 59.5
    assert labels(d.top_customers) == ["Adler AG"]
    assert "Hirsch GmbH" not in labels(d.top_lifetime)
    assert d.lifetime["customers"] == 7
    assert sum(row["count"] for row in d.rfm) == 7


def test_marketing_counts_every_deal_for_segments_but_gets_no_deal_links(dataset, role_users):
    d = customers_dashboard(user=role_users["marketing"], scope=twelve_months())
    # Marketing sees every organization and counts every deal's amount: the admin's 6 customers, 368000.
    assert cards(d)["customers"] == (6, None)
    assert cards(d)["revenue"] == (Decimal("368000.00"), None)
    assert all(row["deals_url"] == "" for row in [*d.top_customers, *d.top_lifetime, *d.win_back])
    support = customers_dashboard(user=role_users["support_agent"], scope=twelve_months())
    assert cards(support)["revenue"] == (Decimal("0.00"), None)


def test_owner_and_territory_narrow_the_figures(dataset, admin_user):
    # Bob's organizations O3, O4, O6: in the period O3 5000 and O4 15000; top 1 = O4, 75 %.
    d = customers_dashboard(user=admin_user, scope=twelve_months(owner_ids=frozenset({dataset["bob"].pk})))
    assert cards(d)["customers"] == (2, None)
    assert d.pareto["share"] == 75.0
    assert d.win_back_count == 1
    # Territory Nord: only O4's deal.
    d = customers_dashboard(user=admin_user, scope=twelve_months(territory_id=dataset["nord"].pk))
    assert labels(d.top_customers) == ["Dachs OHG"]
    assert d.lifetime["customers"] == 1
    assert d.win_back_count == 0


def test_the_lists_give_the_organizations_for_a_segment(dataset, admin_user):
    scope = twelve_months()
    ids = {key: list_organization_ids(key, user=admin_user, scope=scope, limit=100) for key in
           ("top", "churn", "win_back", "rfm_loyal", "rfm_champions", "rfm_new")}
    o = {key: dataset[key].pk for key in ("O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8")}
    assert ids == {
        "top": [o["O8"], o["O1"]], "churn": [o["O3"], o["O7"], o["O5"]], "win_back": [o["O6"]],
        "rfm_loyal": [o["O8"], o["O2"], o["O4"]], "rfm_champions": [o["O1"]], "rfm_new": [],
    }
    assert list_organization_ids("churn", user=admin_user, scope=scope, limit=2) == [o["O3"], o["O7"]]


def test_a_segment_is_made_from_a_list_and_opened(dataset, admin_user, client):
    worker = PersonFactory(last_name="Falkner")
    Employment.objects.create(person=worker, organization=dataset["O6"])
    PersonFactory(last_name="Anderswo")
    client.force_login(admin_user)
    response = client.post(SEGMENT_URL, {"list": "win_back", "period": Period.LAST_12_MONTHS})
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == segment.get_absolute_url()
    assert segment.definition == {"organization_ids": [dataset["O6"].pk]}
    assert segment.owner == admin_user
    assert list(segment.people()) == [worker]
    assert client.get(response["Location"]).status_code == 200


def test_a_segment_keeps_the_page_filter(dataset, admin_user, client):
    client.force_login(admin_user)
    client.post(SEGMENT_URL, {"list": "top", "owner": dataset["bob"].pk})
    assert Segment.objects.get().definition == {"organization_ids": [dataset["O4"].pk]}


def test_only_roles_that_edit_segments_make_them(dataset, alice, client):
    client.force_login(alice)
    assert client.post(SEGMENT_URL, {"list": "top"}).status_code == 403
    assert client.get(SEGMENT_URL).status_code == 405
    assert not Segment.objects.exists()


def test_the_statements_name_the_organization_table():
    from contacts.models import Organization

    assert Organization._meta.db_table == "contacts_organization"


def test_an_unknown_list_is_not_found(admin_user, client):
    client.force_login(admin_user)
    assert client.post(SEGMENT_URL, {"list": "everybody"}).status_code == 404


def test_buttons_show_for_segment_editors_only(dataset, admin_user, alice, client):
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    for key in ("top", "churn", "win_back", "rfm_champions", "rfm_hibernating"):
        assert f'data-segment-list="{key}"' in html
    client.force_login(alice)
    assert "data-segment-list" not in client.get(URL).content.decode()


def test_page_shows_every_figure_and_runs_constant_queries(dataset, manager, alice, client, django_assert_max_num_queries, stages):
    client.force_login(manager)
    # 7 statements for the figures; the rest is session, roles, snapshot and the filter form.
    with django_assert_max_num_queries(28) as few:
        response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("revenue", "customers", "pareto", "lifetime_value", "churn", "win_back"):
        assert f'data-figure="{key}"' in html
    for chart in ("top-chart", "rfm-chart", "tiers-chart", "lifetime-chart"):
        assert f'data-chart="{chart}"' in html
    now = timezone.now()
    for i in range(25):
        org = OrganizationFactory(owner=alice)
        DealFactory(organization=org, owner=alice, stage=stages["Gewonnen"], status="won", amount=Decimal(1000 + i),
                    closed_at=now - timedelta(days=10 * i + 1))
        ActivityFactory(organization=org, person=None, occurred_at=now - timedelta(days=200), created_by=alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert response.context["dashboard"].lifetime["customers"] == 7 + 25


def test_links_open_the_organization_and_its_won_deals(dataset, admin_user, client):
    client.force_login(admin_user)
    d = customers_dashboard(user=admin_user, scope=twelve_months())
    row = d.win_back[0]
    assert client.get(row["url"]).status_code == 200
    response = client.get(row["deals_url"])
    assert response.status_code == 200
    assert response.context["paginator"].count == row["won_count"]
    for row in [*d.top_customers, *d.churn, *d.top_lifetime]:
        assert client.get(row["url"]).status_code == 200


def test_csv_export_has_every_figure(dataset, admin_user, client):
    client.force_login(admin_user)
    response = client.get(URL, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Figure", "Item", "Measure", "Value", "Scope"]
    by_key = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    assert by_key[("Top 20 % of customers", "", "Share of revenue in %")] == "81.5"
    assert by_key[("RFM segments", "Hibernating", "Customers")] == "4"
    assert by_key[("Churn risk", "Eule GmbH", "Reason")] == "no activity for 120 days, 4 in the year before"
    assert by_key[("Loyalty tiers", "Platinum", "VIP customers")] == "1"
    assert by_key[("Customer lifetime value", "", "Lifetime value")] == "64570.31"
    assert by_key[("Win-back candidates", "Falke AG", "Lifetime revenue")] == "50000.00"


def test_roles_outside_sales_and_marketing_are_refused(role_users, nobody, client):
    client.force_login(nobody)
    assert client.get(URL).status_code == 403
    client.force_login(role_users["support_agent"])
    assert client.get(URL).status_code == 403
    client.force_login(role_users["marketing"])
    assert client.get(URL).status_code == 200


def test_bad_filter_values_fall_back_to_everything(dataset, alice, client):
    client.force_login(alice)
    response = client.get(URL, {"owner": "x'; drop", "team": "-1", "territory": "999999", "period": "eon"})
    assert response.status_code == 200
    assert response.context["dashboard"].pareto["customers"] == 5


@pytest.mark.django_db
def test_every_score_pair_falls_into_the_documented_segment():
    from django.db import connection

    from analytics.services.customers import RFM_SEGMENTS

    cases = " ".join(f"WHEN {condition} THEN '{key}'" for key, _label, condition in RFM_SEGMENTS)
    pairs = " UNION ALL ".join(f"SELECT {r} AS r, {fm} AS fm" for r in range(1, 6) for fm in range(1, 6))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r, fm, CASE {cases} END FROM ({pairs}) AS scores")
        segment = {(r, fm): key for r, fm, key in cursor.fetchall()}
    # Rows R 5..1, columns FM 1..5, as in the help page.
    expected = {
        5: ["new", "new", "loyal", "champions", "champions"],
        4: ["new", "new", "loyal", "champions", "champions"],
        3: ["need_attention", "need_attention", "loyal", "loyal", "loyal"],
        2: ["hibernating", "hibernating", "at_risk", "cant_lose", "cant_lose"],
        1: ["hibernating", "hibernating", "at_risk", "cant_lose", "cant_lose"],
    }
    assert {(r, fm): expected[r][fm - 1] for r in range(1, 6) for fm in range(1, 6)} == segment
