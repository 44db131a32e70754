"""Sales figures against a small data set counted by hand, their links, permissions, scope and cost.

The period is March 2025. Pipeline "Neugeschäft": Q = Qualifizierung (order 0, 10 %),
B = Bedarfsanalyse (1, 25 %), A = Angebot (2, 50 %), V = Verhandlung (3, 75 %), Won (10), Lost (11).
All times are noon, Europe/Berlin, before the switch to summer time, so stays are whole days.

deal  owner    status  stage  amount  created  closed  source    stage changes (entered → left)
d1    alice    open    Q        1000  03-05    -       website   Q 03-05 → (still there)
d2    alice    open    A        4000  03-02    -       referral  Q 03-02 → 03-04, B 03-04 → 03-10, A 03-10 →
d3    bob      open    A        2000  02-10    -       website   A 02-10 →                (territory Nord)
d4    alice    won     Won      6000  03-01    03-11   website   Q 03-01 → 03-03, A 03-03 → 03-11, Won 03-11
d5    bob      won     Won      3000  01-11    03-21   referral  Q 01-11 → 03-21, Won 03-21
d6    alice    lost    Lost     5000  03-06    03-16   (none)    Q 03-06 → 03-08, B 03-08 → 03-16, Lost 03-16
d7    alice    won     Won      9000  03-20    04-02   partner   Q 03-20 → 04-02, Won 04-02
d8    charlie  won     Won     50000  03-01    03-15   website   Q 03-01 → 03-15, Won 03-15

Alice and bob are teammates (team of `manager`); charlie is in no team with them.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Period, Scope
from analytics.services.sales import sales_dashboard
from analytics.tests.charts import assert_charts
from sales.models import Deal, Quota, StageChange
from sales.tests.factories import DealFactory, TerritoryFactory

URL = reverse("analytics:sales")
MARCH = Scope(None, date(2025, 3, 1), date(2025, 3, 31), "März 2025", period=Period.THIS_MONTH)


def at(month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(2025, month, day, 12))


@pytest.fixture
def dataset(alice, bob, manager, charlie, stages):
    q, b, a, won, lost = (stages[n] for n in ("Qualifizierung", "Bedarfsanalyse", "Angebot", "Gewonnen", "Verloren"))
    nord = TerritoryFactory(name="Nord")

    def deal(owner, stage, amount, created, history, **fields):
        fields.setdefault("status", Deal.Status.WON if stage.is_won else Deal.Status.LOST if stage.is_lost else Deal.Status.OPEN)
        d = DealFactory(owner=owner, stage=stage, pipeline=stage.pipeline, amount=Decimal(amount),
                        probability=stage.probability, created_at=created, **fields)
        for to_stage, entered, left in history:
            StageChange.objects.create(deal=d, to_stage=to_stage, changed_at=entered, left_at=left)
        return d

    deal(alice, q, 1000, at(3, 5), [(q, at(3, 5), None)], source="website",
         expected_close_date=date(2025, 3, 25), forecast_category="commit")
    deal(alice, a, 4000, at(3, 2), [(q, at(3, 2), at(3, 4)), (b, at(3, 4), at(3, 10)), (a, at(3, 10), None)],
         source="referral", expected_close_date=date(2025, 4, 15))
    deal(bob, a, 2000, at(2, 10), [(a, at(2, 10), None)], source="website", territory=nord,
         expected_close_date=date(2025, 3, 28), forecast_category="best_case")
    deal(alice, won, 6000, at(3, 1), [(q, at(3, 1), at(3, 3)), (a, at(3, 3), at(3, 11)), (won, at(3, 11), None)],
         source="website", closed_at=at(3, 11))
    deal(bob, won, 3000, at(1, 11), [(q, at(1, 11), at(3, 21)), (won, at(3, 21), None)],
         source="referral", closed_at=at(3, 21))
    deal(alice, lost, 5000, at(3, 6), [(q, at(3, 6), at(3, 8)), (b, at(3, 8), at(3, 16)), (lost, at(3, 16), None)],
         source="", closed_at=at(3, 16), lost_reason="price")
    deal(alice, won, 9000, at(3, 20), [(q, at(3, 20), at(4, 2)), (won, at(4, 2), None)],
         source="partner", closed_at=at(4, 2))
    deal(charlie, won, 50000, at(3, 1), [(q, at(3, 1), at(3, 15)), (won, at(3, 15), None)],
         source="website", closed_at=at(3, 15))
    Quota.objects.create(user=alice, period="month", period_start=date(2025, 3, 1), amount=Decimal("20000"))
    return {"alice": alice, "bob": bob, "charlie": charlie, "nord": nord}


def cards(dashboard):
    return {f.key: (f.value, f.total) for f in dashboard.cards}


def table(rows, *keys):
    return {row["label"]: tuple(row[k] for k in keys) for row in rows}


def test_admin_figures_equal_the_hand_count(dataset, admin_user):
    d = sales_dashboard(user=admin_user, scope=MARCH)
    # Open deals by stage, whatever the period: Q d1; A d2 + d3. Weighted: 1000×10 %; 4000×50 % + 2000×50 %.
    assert table(d.stages, "count", "amount", "weighted") == {
        "Qualifizierung": (1, Decimal("1000.00"), Decimal("100.00")),
        "Bedarfsanalyse": (0, Decimal("0.00"), Decimal("0.00")),
        "Angebot": (2, Decimal("6000.00"), Decimal("3000.00")),
        "Verhandlung": (0, Decimal("0.00"), Decimal("0.00")),
    }
    assert (d.stage_totals["count"], d.stage_totals["amount"], d.stage_totals["weighted"]) == (
        3, Decimal("7000.00"), Decimal("3100.00"))
    # Closed in March: won d4, d5, d8 (6000 + 3000 + 50000), lost d6 (d7 is won in April).
    # Win rate 3 / 4; average 59000 / 3; cycle (10 + 69 + 14) / 3 days.
    figures = cards(d)
    assert figures["open_pipeline"] == (Decimal("7000.00"), None)
    assert figures["won_amount"] == (Decimal("59000.00"), None)
    assert figures["win_rate"] == (3, 4)
    assert next(f for f in d.cards if f.key == "win_rate").share == 75.0
    assert figures["average_deal_size"] == (Decimal("19666.67"), None)
    assert figures["sales_cycle"] == (Decimal("31.0"), None)
    assert table(d.leaderboard, "count", "amount") == {
        "Charlie Claus": (1, Decimal("50000.00")), "Alice Albrecht": (1, Decimal("6000.00")),
        "Bob Brandt": (1, Decimal("3000.00")),
    }
    assert [row["label"] for row in d.leaderboard] == ["Charlie Claus", "Alice Albrecht", "Bob Brandt"]
    # Created in March: d1, d2, d4, d6, d7, d8. Website d1 + d4 + d8 (won d4, d8); referral d2; partner d7 (won);
    # no source d6.
    assert table(d.sources, "count", "amount", "won") == {
        "Website": (3, Decimal("57000.00"), 2), "No source": (1, Decimal("5000.00"), 0),
        "Partner": (1, Decimal("9000.00"), 1), "Referral": (1, Decimal("4000.00"), 0),
    }
    # Funnel of the 6 deals created in March; furthest stage: d1 Q, d2 A, d6 B (then lost), d4 d7 d8 Won.
    assert table(d.funnel, "reached", "base", "share") == {
        "Qualifizierung": (6, 6, 100.0), "Bedarfsanalyse": (5, 6, 83.3), "Angebot": (4, 6, 66.7),
        "Verhandlung": (3, 6, 50.0), "Gewonnen": (3, 6, 50.0),
    }
    # Stays that ended in March. Q: d2 2, d4 2, d5 69, d6 2, d8 14 days -> 89 / 5; B: d2 6, d6 8; A: d4 8.
    assert table(d.time_in_stage, "stays", "days") == {
        "Qualifizierung": (5, Decimal("17.8")), "Bedarfsanalyse": (2, Decimal("7.0")), "Angebot": (1, Decimal("8.0")),
    }
    # Forecast for March (sales' forecast): alice won 6000, commit + d1 1000, quota 20000 -> 30 %;
    # bob won 3000, best case + d3 2000, no quota.
    reps = {row["label"]: row for row in d.forecast["reps"]}
    assert set(reps) == {"Alice Albrecht", "Bob Brandt", "Charlie Claus", "Mona Meier"}
    alice = reps["Alice Albrecht"]
    assert (alice["closed_won"], alice["commit"], alice["quota"], alice["attainment"]) == (
        Decimal("6000.00"), Decimal("7000.00"), Decimal("20000"), 30)
    bob = reps["Bob Brandt"]
    assert (bob["closed_won"], bob["commit"], bob["best_case"], bob["quota"]) == (
        Decimal("3000.00"), Decimal("3000.00"), Decimal("5000.00"), None)
    assert d.forecast["total"]["closed_won"] == Decimal("59000.00")


def test_a_rep_counts_only_what_the_rep_may_see(dataset):
    d = sales_dashboard(user=dataset["alice"], scope=MARCH)
    # Without charlie's d8: won d4, d5 (9000), lost d6 -> 2 of 3; cycle (10 + 69) / 2.
    figures = cards(d)
    assert figures["win_rate"] == (2, 3)
    assert figures["won_amount"] == (Decimal("9000.00"), None)
    assert figures["average_deal_size"] == (Decimal("4500.00"), None)
    assert figures["sales_cycle"] == (Decimal("39.5"), None)
    assert [row["label"] for row in d.leaderboard] == ["Alice Albrecht", "Bob Brandt"]
    assert [row["label"] for row in d.forecast["reps"]] == ["Alice Albrecht"]  # a rep sees only their own quota
    assert table(d.funnel, "reached")["Gewonnen"] == (2,)  # d4, d7 of 5 deals
    assert d.funnel[0]["base"] == 5


def test_owner_and_territory_narrow_the_figures(dataset, admin_user):
    bob_only = Scope(frozenset({dataset["bob"].pk}), MARCH.start, MARCH.end, "Bob", period=Period.THIS_MONTH)
    d = sales_dashboard(user=admin_user, scope=bob_only)
    assert cards(d)["win_rate"] == (1, 1)
    assert d.stage_totals["count"] == 1  # d3
    assert [row["label"] for row in d.forecast["reps"]] == ["Bob Brandt"]
    nord = Scope(None, MARCH.start, MARCH.end, "Nord", territory_id=dataset["nord"].pk, period=Period.THIS_MONTH)
    d = sales_dashboard(user=admin_user, scope=nord)
    assert (d.stage_totals["count"], d.stage_totals["amount"]) == (1, Decimal("2000.00"))
    assert cards(d)["win_rate"] == (0, 0)


def test_stage_rows_link_to_a_deal_list_with_the_same_count(dataset, alice, client):
    client.force_login(alice)
    d = sales_dashboard(user=alice, scope=MARCH)
    for row in [*d.stages, d.stage_totals]:
        response = client.get(row["url"])
        assert response.status_code == 200, row["label"]
        assert response.context["paginator"].count == row["count"], row["label"]
    for row in d.leaderboard:
        assert client.get(row["url"]).status_code == 200


def test_page_shows_every_figure_and_runs_constant_queries(dataset, alice, manager, client, django_assert_max_num_queries, stages):
    client.force_login(manager)
    with django_assert_max_num_queries(34) as few:
        response = client.get(URL, {"period": Period.THIS_MONTH})
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("open_pipeline", "win_rate", "average_deal_size", "sales_cycle", "won_amount"):
        assert f'data-figure="{key}"' in html
    charts = ("stages-chart", "forecast-chart", "funnel-chart", "time-chart", "sources-chart", "leaders-chart")
    assert_charts(html, charts)
    now = timezone.now()
    for i in range(30):
        DealFactory(owner=alice if i % 2 else manager, stage=stages["Gewonnen" if i % 3 else "Angebot"],
                    status="won" if i % 3 else "open", closed_at=now if i % 3 else None, source="website", created_at=now)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"period": Period.THIS_MONTH})
    assert response.context["dashboard"].stage_totals["count"] == 3 + 10  # d1, d2, d3 and every third new deal


def test_csv_export_has_every_figure(dataset, admin_user, client):
    client.force_login(admin_user)
    response = client.get(URL, {"format": "csv", "owner": dataset["alice"].pk, "period": Period.LAST_12_MONTHS})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Figure", "Item", "Measure", "Value", "Scope"]
    sections = {row[0] for row in rows[1:]}
    assert {"Pipeline by stage", "Forecast against quota", "Win rate", "Sales cycle in days"} <= sections
    by_key = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    # alice's open deals: d1 in Q (1000), d2 in A (4000).
    assert by_key[("Pipeline by stage", "All open deals", "Amount")] == "5000.00"
    assert by_key[("Pipeline by stage", "Angebot", "Deals")] == "1"


def test_roles_outside_sales_are_refused(role_users, nobody, client):
    client.force_login(nobody)
    assert client.get(URL).status_code == 403
    client.force_login(role_users["marketing"])
    assert client.get(URL).status_code == 403


def test_bad_filter_values_fall_back_to_everything(dataset, alice, client):
    client.force_login(alice)
    response = client.get(URL, {"owner": "x'; drop", "territory": "999999", "period": "eon"})
    assert response.status_code == 200
