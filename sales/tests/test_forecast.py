"""Forecast figures equal the figures computed by hand for a fixed data set."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sales import services
from sales.models import Deal, Quota
from sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def at(day: date):
    return timezone.make_aware(datetime(day.year, day.month, day.day, 12, 0))


@pytest.fixture
def data_set(alice, bob, manager, stages):
    """March 2027 for alice; bob has one deal; things outside the period must not count."""
    won, open_stage = stages["Gewonnen"], stages["Angebot"]
    # Closed won in March: 10,000 + 5,000. Won in February and lost in March: not counted.
    DealFactory(owner=alice, stage=won, status=Deal.Status.WON, amount=Decimal("10000"), closed_at=at(date(2027, 3, 5)))
    DealFactory(owner=alice, stage=won, status=Deal.Status.WON, amount=Decimal("5000"), closed_at=at(date(2027, 3, 31)))
    DealFactory(owner=alice, stage=won, status=Deal.Status.WON, amount=Decimal("7777"), closed_at=at(date(2027, 2, 27)))
    DealFactory(owner=alice, stage=stages["Verloren"], status=Deal.Status.LOST, lost_reason="price",
                amount=Decimal("9999"), closed_at=at(date(2027, 3, 10)))
    # Open, closing in March: commit 20,000 @ 50 %, best case 8,000 @ 50 %, pipeline 4,000 @ 25 %, omitted 3,000.
    DealFactory(owner=alice, stage=open_stage, amount=Decimal("20000"), probability=50,
                forecast_category="commit", expected_close_date=date(2027, 3, 20))
    DealFactory(owner=alice, stage=open_stage, amount=Decimal("8000"), probability=50,
                forecast_category="best_case", expected_close_date=date(2027, 3, 15))
    DealFactory(owner=alice, stage=stages["Bedarfsanalyse"], amount=Decimal("4000"), probability=25,
                forecast_category="pipeline", expected_close_date=date(2027, 3, 1))
    DealFactory(owner=alice, stage=open_stage, amount=Decimal("3000"), probability=50,
                forecast_category="omitted", expected_close_date=date(2027, 3, 2))
    # Open but closing in April: outside March, inside the quarter? No: Q2. Not counted.
    DealFactory(owner=alice, stage=open_stage, amount=Decimal("50000"), probability=50,
                forecast_category="commit", expected_close_date=date(2027, 4, 1))
    # Bob: commit 1,000 @ 75 % in February (inside Q1).
    DealFactory(owner=bob, stage=stages["Verhandlung"], amount=Decimal("1000"), probability=75,
                forecast_category="commit", expected_close_date=date(2027, 2, 10))
    Quota.objects.create(user=alice, period="month", period_start=date(2027, 3, 1), amount=Decimal("30000"))
    Quota.objects.create(user=alice, period="month", period_start=date(2027, 2, 1), amount=Decimal("20000"))
    Quota.objects.create(user=bob, period="quarter", period_start=date(2027, 1, 1), amount=Decimal("90000"))


def test_month_figures_for_a_rep(alice, data_set, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        result = services.forecast(user_ids=[alice.pk], period="month", day=date(2027, 3, 14))
    row = result["reps"][0]
    assert row["closed_won"] == Decimal("15000.00")
    assert row["commit"] == Decimal("35000.00")  # 15,000 + 20,000
    assert row["best_case"] == Decimal("43000.00")  # 35,000 + 8,000
    assert row["pipeline"] == Decimal("32000.00")  # 20,000 + 8,000 + 4,000
    assert row["weighted"] == Decimal("15000.00")  # 10,000 + 4,000 + 1,000
    assert row["quota"] == Decimal("30000")
    assert row["attainment"] == 50


def test_quarter_figures_for_the_team(alice, bob, data_set):
    result = services.forecast(user_ids=[alice.pk, bob.pk], period="quarter", day=date(2027, 2, 1))
    rows = {row["user"]: row for row in result["reps"]}
    # Alice, Q1: won 15,000 + 7,777; no quarter quota, so her months: 30,000 + 20,000.
    assert rows[alice]["closed_won"] == Decimal("22777.00")
    assert rows[alice]["quota"] == Decimal("50000")
    assert rows[bob]["commit"] == Decimal("1000.00")
    assert rows[bob]["weighted"] == Decimal("750.00")
    assert rows[bob]["quota"] == Decimal("90000")
    assert result["total"]["closed_won"] == Decimal("22777.00")
    assert result["total"]["commit"] == Decimal("22777.00") + Decimal("20000") + Decimal("1000")
    assert result["total"]["quota"] == Decimal("140000")


def test_rep_sees_only_own_figures_and_manager_the_team(client, alice, bob, manager, data_set):
    client.force_login(alice)
    html = client.get(reverse("sales:forecast"), {"month": "2027-03"}).content.decode()
    assert "Alice" in html and "Bob Brandt" not in html
    client.force_login(manager)
    html = client.get(reverse("sales:forecast"), {"month": "2027-03", "period": "quarter"}).content.decode()
    assert "Alice" in html and "Bob Brandt" in html


def test_forecast_page_is_closed_to_support(client, role_users):
    client.force_login(role_users["support_agent"])
    assert client.get(reverse("sales:forecast")).status_code == 403


def test_bad_month_parameter_falls_back(client, alice):
    client.force_login(alice)
    assert client.get(reverse("sales:forecast"), {"month": "2027-99", "period": "x"}).status_code == 200
