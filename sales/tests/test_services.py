from decimal import Decimal

import pytest

from sales import services
from sales.models import Deal, Lead
from sales.tests.factories import DealFactory, LeadFactory, TerritoryRuleFactory

pytestmark = pytest.mark.django_db


def test_lead_capture_creates_then_updates_the_open_lead_with_the_same_email(alice):
    first = services.lead_capture(
        first_name="Jana", last_name="Roth", email="Jana.Roth@Example.de", source="web_form",
        campaign_code="fruehjahr-2027", utm={"utm_source": "newsletter"}, owner=alice,
    )
    second = services.lead_capture(
        first_name="Jana", last_name="Roth", email="jana.roth@example.de", company="Roth GmbH", source="web_form",
        note="Bitte Rückruf",
    )
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.company == "Roth GmbH"
    assert second.campaign_code == "fruehjahr-2027"
    assert second.utm == {"utm_source": "newsletter"}
    assert second.owner == alice
    assert Lead.objects.count() == 1


def test_lead_capture_assigns_owner_round_robin_through_territory(alice, bob, charlie):
    rule = TerritoryRuleFactory(country="DE")
    rule.territory.reps.add(alice, bob)
    owners = [
        services.lead_capture(first_name="A", last_name=f"L{i}", email=f"l{i}@example.de", source="website").owner
        for i in range(3)
    ]
    assert owners == [alice, bob, alice]


def test_campaign_figures_and_customer_revenue(alice, django_assert_num_queries):
    LeadFactory.create_batch(2, campaign_code="herbst", owner=alice)
    won = DealFactory(campaign_code="herbst", owner=alice, amount=Decimal("5000"), status=Deal.Status.WON)
    DealFactory(campaign_code="herbst", owner=alice, amount=Decimal("7000"), organization=won.organization)
    with django_assert_num_queries(2):
        figures = services.campaign_figures(["herbst", "leer"])
    assert figures["herbst"] == {"leads": 2, "deals": 2, "won_deals": 1, "won_revenue": Decimal("5000.00"), "unconverted": 0}
    assert figures["leer"] == {"leads": 0, "deals": 0, "won_deals": 0, "won_revenue": Decimal("0.00"), "unconverted": 0}
    with django_assert_num_queries(1):
        revenue = services.customer_revenue([won.organization_id, 999999])
    assert revenue == {won.organization_id: Decimal("5000.00"), 999999: Decimal("0.00")}
