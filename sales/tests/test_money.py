"""Totals over deals in several currencies: converted into the company currency (EUR) at the rate
valid on each deal's close date, labelled, and a deal without a rate reported, never counted 1:1.

Rates: CHF 1.10 from 2020-01-01, 1.20 from 2022-01-01; USD 0.80 from 2020-01-01; none for GBP.
Open deals of alice in "Angebot" (50 %), expected to close on the date given:
  EUR 1000 @2030-06-01 → 1000       CHF 1000 @2021-06-01 → 1100     CHF 1000 @2030-06-01 → 1200
  USD  500 @2030-06-01 →  400       GBP  700 @2030-06-01 → no rate  CHF  100 @2019-06-01 → no rate (before the first)
Converted: 3700; two deals left out.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from sales import money, services
from sales.models import Deal, ExchangeRate, LineItem
from sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(db):
    for currency, rate, valid_from in [
        ("CHF", "1.10", date(2020, 1, 1)), ("CHF", "1.20", date(2022, 1, 1)), ("USD", "0.80", date(2020, 1, 1)),
    ]:
        ExchangeRate.objects.create(currency=currency, rate=Decimal(rate), valid_from=valid_from)


@pytest.fixture
def mixed(alice, manager, stages, rates):
    offer = stages["Angebot"]
    deals = {}
    for key, currency, amount, close in [
        ("eur", "EUR", 1000, date(2030, 6, 1)), ("chf_2021", "CHF", 1000, date(2021, 6, 1)),
        ("chf_2030", "CHF", 1000, date(2030, 6, 1)), ("usd", "USD", 500, date(2030, 6, 1)),
        ("gbp", "GBP", 700, date(2030, 6, 1)), ("chf_2019", "CHF", 100, date(2019, 6, 1)),
    ]:
        deals[key] = DealFactory(owner=alice, stage=offer, currency=currency, amount=Decimal(amount),
                                 expected_close_date=close, name=f"Deal {key}")
    return deals


def test_each_deal_is_converted_at_the_rate_of_its_close_date(mixed):
    totals = Deal.objects.aggregate(total=Sum(money.converted()), weighted=Sum(money.weighted()),
                                    unconverted=money.unconverted())
    assert Decimal(totals["total"]).quantize(Decimal("0.01")) == Decimal("3700.00")
    assert Decimal(totals["weighted"]).quantize(Decimal("0.01")) == Decimal("1850.00")
    assert totals["unconverted"] == 2
    assert set(Deal.objects.filter(money.rate_missing()).values_list("name", flat=True)) == {"Deal gbp", "Deal chf_2019"}


def test_a_won_deal_converts_at_the_rate_of_the_day_it_was_won(alice, stages, rates):
    won_at = timezone.make_aware(datetime(2021, 12, 31, 23, 30))  # Berlin: still 2021, UTC too
    deal = DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, currency="CHF",
                       amount=Decimal("1000"), closed_at=won_at, expected_close_date=date(2022, 3, 1))
    value = Deal.objects.filter(pk=deal.pk).annotate(value=money.converted()).get().value
    assert Decimal(value).quantize(Decimal("0.01")) == Decimal("1100.00")  # 2021's rate, not the expected date's


def test_the_stored_conversion_and_the_sql_conversion_agree(mixed):
    """Deal.save() converts in Python, deals_convert in SQL: the same rule, the same cents."""
    saved = dict(Deal.objects.values_list("pk", "converted_amount"))
    Deal.objects.update(converted_amount=Decimal("1"))
    assert services.deals_convert() == len(saved)
    assert dict(Deal.objects.values_list("pk", "converted_amount")) == saved
    assert saved[mixed["chf_2021"].pk] == Decimal("1100.00") and saved[mixed["gbp"].pk] is None
    assert services.deals_convert() == 0  # idempotent


def test_a_new_or_changed_rate_converts_the_deals_of_its_currency_again(mixed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ExchangeRate.objects.create(currency="GBP", rate=Decimal("1.15"), valid_from=date(2025, 1, 1))
    assert Deal.objects.get(pk=mixed["gbp"].pk).converted_amount == Decimal("805.00")
    rate = ExchangeRate.objects.get(currency="CHF", valid_from=date(2022, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        rate.rate = Decimal("1.25")
        rate.save()
    assert Deal.objects.get(pk=mixed["chf_2030"].pk).converted_amount == Decimal("1250.00")
    assert Deal.objects.get(pk=mixed["chf_2021"].pk).converted_amount == Decimal("1100.00")
    with django_capture_on_commit_callbacks(execute=True):
        rate.delete()
    assert Deal.objects.get(pk=mixed["chf_2030"].pk).converted_amount == Decimal("1100.00")
    with django_capture_on_commit_callbacks(execute=True):
        ExchangeRate.objects.filter(currency="USD").delete()
    assert Deal.objects.get(pk=mixed["usd"].pk).converted_amount is None  # no rate left: left out, not kept


def test_a_rate_valid_from_a_later_day_applies_from_that_day(alice, stages, rates):
    """The periodic deals_convert takes a rate entered in advance into account once it is valid."""
    deal = DealFactory(owner=alice, stage=stages["Angebot"], currency="USD", amount=Decimal("100"), expected_close_date=None)
    ExchangeRate.objects.bulk_create([ExchangeRate(currency="USD", rate=Decimal("0.90"), valid_from=date(2031, 1, 1))])
    services.deals_convert()
    assert Deal.objects.get(pk=deal.pk).converted_amount == Decimal("80.00")  # today: before 2031
    Deal.objects.filter(pk=deal.pk).update(expected_close_date=date(2031, 2, 1))
    assert services.deals_convert(currencies=["USD"]) == 1
    assert Deal.objects.get(pk=deal.pk).converted_amount == Decimal("90.00")


def test_a_rate_for_the_company_currency_is_refused():
    with pytest.raises(ValidationError) as error:
        ExchangeRate(currency="EUR", rate=Decimal("1"), valid_from=date(2024, 1, 1)).full_clean()
    assert "company currency" in str(error.value)


def test_the_board_adds_converted_amounts_and_reports_the_deals_without_rate(client, alice, mixed, stages):
    client.force_login(alice)
    html = client.get(reverse("sales:board")).content.decode()
    assert f'id="stage-total-{stages["Angebot"].pk}">6 · €3,700 <span' in html
    assert "(+2 without rate)" in html
    assert "≈ in EUR" in html
    assert "2 deals have no exchange rate for their currency and date and are not included." in html
    # Each card in its own currency.
    assert "CHF\xa01,000" in html and "£700" in html


def test_moving_a_card_answers_with_converted_column_totals(client, alice, mixed, stages):
    client.force_login(alice)
    response = client.post(reverse("sales:deal_move", args=[mixed["chf_2030"].pk]), {"stage": stages["Verhandlung"].pk})
    html = response.content.decode()
    assert f'id="stage-total-{stages["Verhandlung"].pk}" hx-swap-oob="true">1 · €1,200<' in html
    assert f'id="stage-total-{stages["Angebot"].pk}" hx-swap-oob="true">5 · €2,500 <span' in html


def test_the_deal_list_finds_the_deals_without_rate(client, alice, mixed):
    client.force_login(alice)
    response = client.get(reverse("sales:deal_list"), {"no_rate": "on"})
    assert {deal.name for deal in response.context["object_list"]} == {"Deal gbp", "Deal chf_2019"}
    response = client.get(reverse("sales:deal_list"), {"currency": "CHF"})
    assert {deal.name for deal in response.context["object_list"]} == {"Deal chf_2021", "Deal chf_2030", "Deal chf_2019"}


def test_the_deal_page_shows_the_amount_in_the_company_currency(client, alice, mixed):
    client.force_login(alice)
    html = client.get(mixed["chf_2030"].get_absolute_url()).content.decode()
    assert "CHF\xa01,000.00" in html
    assert "≈ €1,200.00 (1 CHF = 1.2 EUR)" in html
    html = client.get(mixed["gbp"].get_absolute_url()).content.decode()
    assert "No exchange rate for GBP on the close date" in html


def test_the_forecast_converts_and_counts_what_it_leaves_out(alice, manager, mixed, stages):
    DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, currency="CHF", amount=Decimal("2000"),
                closed_at=timezone.make_aware(datetime(2030, 6, 10, 12)), expected_close_date=date(2030, 6, 10))
    Deal.objects.filter(pk=mixed["eur"].pk).update(forecast_category=Deal.ForecastCategory.COMMIT)
    Deal.objects.filter(pk=mixed["chf_2030"].pk).update(forecast_category=Deal.ForecastCategory.BEST_CASE)
    data = services.forecast(user_ids=[alice.pk], period="month", day=date(2030, 6, 1))
    total = data["total"]
    assert total["closed_won"] == Decimal("2400.00")  # CHF 2000 × 1.20
    assert total["commit"] == Decimal("3400.00")  # + EUR 1000
    assert total["best_case"] == Decimal("4600.00")  # + CHF 1000 × 1.20
    assert total["pipeline"] == Decimal("2600.00")  # EUR 1000 + CHF 1200 + USD 400; GBP left out
    assert total["weighted"] == Decimal("1300.00")
    assert total["unconverted"] == 1


def test_the_forecast_page_labels_the_conversion(client, alice, mixed):
    client.force_login(alice)
    html = client.get(reverse("sales:forecast"), {"month": "2030-06"}).content.decode()
    assert "≈ in EUR" in html
    assert "1 deal has no exchange rate for its currency and date and is not included." in html
    assert "€2,600" in html


def test_campaign_figures_and_customer_revenue_convert(alice, stages, rates):
    won = DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, currency="USD", amount=Decimal("1000"),
                      closed_at=timezone.make_aware(datetime(2023, 5, 2, 12)), campaign_code="herbst")
    DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, currency="GBP", amount=Decimal("1000"),
                closed_at=timezone.make_aware(datetime(2023, 5, 2, 12)), campaign_code="herbst",
                organization=won.organization)
    figures = services.campaign_figures(["herbst"])["herbst"]
    assert figures["won_revenue"] == Decimal("800.00") and figures["unconverted"] == 1
    assert services.customer_revenue([won.organization_id]) == {won.organization_id: Decimal("800.00")}


def test_query_counts_do_not_grow_with_currencies(client, alice, manager, stages, rates, django_assert_max_num_queries):
    """The conversion is part of the aggregate queries: EUR only or four currencies, same count."""
    def count(url, params=None):
        client.force_login(manager)
        client.get(url, params)
        with django_assert_max_num_queries(60) as captured:
            assert client.get(url, params).status_code == 200
        return len(captured.captured_queries)

    for i in range(4):
        DealFactory(owner=alice, stage=stages["Angebot"], amount=Decimal(1000 + i))
    pages = [(reverse("sales:board"), None), (reverse("sales:forecast"), {"month": "2030-06"}),
             (reverse("sales:deal_list"), None), (reverse("analytics:sales"), None), (reverse("analytics:customers"), None)]
    eur_only = [count(url, params) for url, params in pages]
    for currency in ["CHF", "USD", "GBP", "CHF", "USD"]:
        DealFactory(owner=alice, stage=stages["Angebot"], currency=currency, amount=Decimal("700"))
        DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, currency=currency, amount=Decimal("900"),
                    closed_at=timezone.now())
    assert [count(url, params) for url, params in pages] == eur_only


def test_search_suggestions_and_the_timeline_write_money_in_the_readers_language(alice, stages):
    from django.utils import translation

    from crm.timeline import timeline_for
    from sales.search import _describe_deal

    deal = DealFactory(owner=alice, stage=stages["Angebot"], amount=Decimal("25820"), name="Hallenkran")
    services.deal_record_created(deal=deal, user=alice)
    with translation.override("de"):
        assert _describe_deal(deal) == ("Hallenkran", "Offen · 25.820\xa0€")
    with translation.override("en"):
        assert _describe_deal(deal) == ("Hallenkran", "Open · €25,820")
        entries, _next = timeline_for(user=alice, organization=deal.organization)
        assert next(e for e in entries if "Hallenkran" in e.title).body == "€25,820.00"
    with translation.override("de"):
        entries, _next = timeline_for(user=alice, organization=deal.organization)
        assert next(e for e in entries if "Hallenkran" in e.title).body == "25.820,00\xa0€"


def test_the_demo_has_rates_for_its_foreign_deals_and_line_items_make_amounts():
    import io

    from django.core.management import call_command
    from django.db.models import OuterRef, Subquery

    call_command("seed_demo", "--force", stdout=io.StringIO())
    foreign = Deal.objects.exclude(currency="EUR")
    assert set(foreign.values_list("currency", flat=True)) == {"CHF", "USD", "GBP"}
    assert 0.05 < foreign.count() / Deal.objects.count() < 0.2
    assert not Deal.objects.filter(money.rate_missing()).exists()
    totals = Deal.objects.filter(line_items__isnull=False).distinct().annotate(
        items=Subquery(
            LineItem.objects.filter(deal=OuterRef("pk")).order_by().values("deal").annotate(t=Sum("total")).values("t")
        )
    )
    assert totals.exists()
    assert all(deal.amount == deal.items for deal in totals)
