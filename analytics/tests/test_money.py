"""Sales and customer dashboards over deals in several currencies: every amount in EUR, each deal at
the rate of its close date; deals without a rate left out and reported.

Rates: CHF 1.10 from 2020-01-01, 1.20 from 2022-01-01; USD 0.80 from 2020-01-01; none for GBP.

Won deals (all time, fixed dates, so no figure below depends on today):
  Adler (alice)  CHF 1000 won 2021-03-01 → 1100   CHF 1000 won 2023-03-01 → 1200   EUR 500 won 2022-05-01
                 GBP  300 won 2022-05-01 → no rate
  Birke (alice)  USD 1000 won 2021-07-01 →  800
Lifetime: Adler 2800, Birke 800 (3600 in all); one won deal without rate.
Open deals (alice, "Angebot" 50 %): CHF 2000 → 2400 (today's rate), GBP 100 → no rate.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Scope
from analytics.services.customers import customers_dashboard
from analytics.services.sales import sales_dashboard
from contacts.tests.factories import OrganizationFactory
from sales.models import Deal, ExchangeRate
from sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def at(day: date):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=12))


@pytest.fixture
def dataset(alice, manager, stages):
    for currency, rate, valid_from in [
        ("CHF", "1.10", date(2020, 1, 1)), ("CHF", "1.20", date(2022, 1, 1)), ("USD", "0.80", date(2020, 1, 1)),
    ]:
        ExchangeRate.objects.create(currency=currency, rate=Decimal(rate), valid_from=valid_from)
    adler = OrganizationFactory(name="Adler AG", owner=alice)
    birke = OrganizationFactory(name="Birke GmbH", owner=alice)
    won = stages["Gewonnen"]
    for org, currency, amount, day in [
        (adler, "CHF", 1000, date(2021, 3, 1)), (adler, "CHF", 1000, date(2023, 3, 1)), (adler, "EUR", 500, date(2022, 5, 1)),
        (adler, "GBP", 300, date(2022, 5, 1)), (birke, "USD", 1000, date(2021, 7, 1)),
    ]:
        DealFactory(organization=org, owner=alice, stage=won, status=Deal.Status.WON, currency=currency,
                    amount=Decimal(amount), closed_at=at(day), created_at=at(day.replace(day=1)) - timezone.timedelta(days=20),
                    expected_close_date=day)
    for currency, amount in [("CHF", 2000), ("GBP", 100)]:
        DealFactory(organization=adler, owner=alice, stage=stages["Angebot"], currency=currency, amount=Decimal(amount),
                    expected_close_date=None)
    return {"adler": adler, "birke": birke}


def year(start: date, end: date) -> Scope:
    return Scope(None, start, end, "")


def test_customer_figures_are_converted(dataset, admin_user):
    d = customers_dashboard(user=admin_user, scope=year(date(2021, 1, 1), date(2021, 12, 31)))
    cards = {figure.key: figure.value for figure in d.cards}
    assert cards["revenue"] == Decimal("1900.00")  # 2021: Adler CHF 1000 × 1.10 + Birke USD 1000 × 0.80
    assert [(row["label"], row["revenue"]) for row in d.top_customers] == [("Adler AG", Decimal("1100.00"))]
    assert [(row["label"], row["lifetime"]) for row in d.top_lifetime] == [
        ("Adler AG", Decimal("2800.00")), ("Birke GmbH", Decimal("800.00"))]
    assert d.lifetime["customers"] == 2 and d.lifetime["revenue"] == Decimal("3600.00")
    # RFM: every customer in one segment, the segments' lifetime revenue adds up to the converted total.
    assert sum(row["lifetime"] for row in d.rfm) == Decimal("3600.00")
    assert sum(row["revenue"] for row in d.rfm) == Decimal("1900.00")
    assert d.notes["unconverted"] == 1


def test_customer_lifetime_value_is_converted(dataset, admin_user):
    d = customers_dashboard(user=admin_user, scope=year(date(2021, 1, 1), date(2021, 12, 31)))
    # Adler: 2800 over 2021-03-01..2023-03-01 (730 days of 365.25); Birke: 800 in one deal (1 year).
    adler_years = 730 / 365.25
    yearly = (2800 / adler_years + 800) / 2
    assert abs(float(d.lifetime["yearly"]) - yearly) < 0.01
    assert abs(float(d.lifetime["years"]) - (adler_years + 1) / 2) < 0.01


def test_sales_figures_are_converted(dataset, admin_user):
    d = sales_dashboard(user=admin_user, scope=year(date(2023, 1, 1), date(2023, 12, 31)))
    cards = {figure.key: figure.value for figure in d.cards}
    assert cards["open_pipeline"] == Decimal("2400.00")  # CHF 2000 × 1.20 (today's rate); GBP 100 left out
    assert d.stage_totals["weighted"] == Decimal("1200.00")
    assert d.stage_totals["unconverted"] == 1
    assert cards["won_amount"] == Decimal("1200.00")  # CHF 1000 won 2023-03-01 × 1.20
    assert [(row["label"], row["amount"]) for row in d.leaderboard] == [("Alice Albrecht", Decimal("1200.00"))]
    assert d.notes["unconverted"] == 1
    d = sales_dashboard(user=admin_user, scope=year(date(2022, 1, 1), date(2022, 12, 31)))
    cards = {figure.key: figure.value for figure in d.cards}
    assert cards["won_amount"] == Decimal("500.00")  # EUR 500; GBP 300 left out
    assert d.leaderboard[0]["unconverted"] == 1
    assert d.notes["unconverted"] == 2  # the open GBP deal and the won one


def test_the_dashboards_say_what_they_leave_out(dataset, admin_user, client):
    client.force_login(admin_user)
    for url in (reverse("analytics:sales"), reverse("analytics:customers")):
        html = client.get(url).content.decode()
        assert "≈ in EUR" in html, url
        assert "no exchange rate for" in html, url


def test_the_csv_export_names_the_currency_and_what_is_left_out(dataset, admin_user, client):
    client.force_login(admin_user)
    response = client.get(reverse("analytics:customers"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    by_key = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    assert by_key[("Currency", "", "Amounts converted into")] == "EUR"
    assert by_key[("Currency", "", "Deals without exchange rate, not included")] == "1"
    assert by_key[("Customer lifetime value", "", "Customers")] == "2"
