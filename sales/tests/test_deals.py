from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.tests.factories import EmploymentFactory, OrganizationFactory
from crm.search import search_queryset
from crm.timeline import timeline_for
from sales import services
from sales.models import Deal, DealContact, SalesSettings
from sales.tests.factories import DealFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_create_deal_with_line_items(client, alice, stages):
    organization = OrganizationFactory(owner=alice)
    product = ProductFactory(unit_price=Decimal("1000"))
    client.force_login(alice)
    data = {
        "name": "Lizenzerweiterung", "organization": organization.pk, "stage": stages["Angebot"].pk, "amount": "0",
        "currency": "EUR", "forecast_category": "commit", "probability": "",
        "rows-TOTAL_FORMS": "2", "rows-INITIAL_FORMS": "0", "rows-MIN_NUM_FORMS": "0", "rows-MAX_NUM_FORMS": "100",
        "rows-0-product": product.pk, "rows-0-quantity": "3", "rows-0-unit_price": "1000", "rows-0-discount_percent": "10",
        "rows-1-description": "Workshop", "rows-1-quantity": "1", "rows-1-unit_price": "500", "rows-1-discount_percent": "0",
    }
    response = client.post(reverse("sales:deal_create"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    deal = Deal.objects.get()
    assert deal.amount == Decimal("3200.00")  # 3 × 1,000 − 10 % + 500
    assert deal.owner == alice and deal.pipeline == stages["Angebot"].pipeline and deal.probability == 50
    assert deal.stage_changes.count() == 1


def test_bad_input_shows_errors_not_a_500(client, alice, stages):
    client.force_login(alice)
    data = {"name": "", "stage": "999999999999999999999", "amount": "-5", "currency": "XXX", "forecast_category": "commit",
            "rows-TOTAL_FORMS": "1", "rows-INITIAL_FORMS": "0", "rows-0-quantity": "0", "rows-0-discount_percent": "150",
            "rows-0-unit_price": "abc"}
    response = client.post(reverse("sales:deal_create"), data)
    assert response.status_code == 200
    assert Deal.objects.count() == 0


def test_edit_changes_stage_through_the_move_and_refuses_stale_versions(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    client.force_login(alice)
    url = reverse("sales:deal_update", args=[deal.pk])
    data = {"name": "Neu", "stage": stages["Verhandlung"].pk, "amount": "100", "currency": "EUR", "owner": alice.pk,
            "forecast_category": "pipeline", "version": deal.updated_at.isoformat(),
            "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0"}
    assert client.post(url, data).status_code == 302
    deal.refresh_from_db()
    assert deal.stage == stages["Verhandlung"] and deal.probability == 75 and deal.name == "Neu"
    response = client.post(url, {**data, "name": "Alt"})  # the version seen is outdated now
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.name == "Neu"


def test_edit_as_owner_teammate_manager_outsider(client, alice, bob, manager, charlie, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    url = reverse("sales:deal_update", args=[deal.pk])
    expected = {alice: 200, bob: 403, manager: 200, charlie: 404}
    for user, status in expected.items():
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


def test_admin_setting_makes_deals_visible_to_everyone(client, alice, charlie, role_users, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    url = reverse("sales:deal_detail", args=[deal.pk])
    client.force_login(charlie)
    assert client.get(url).status_code == 404
    settings_row = SalesSettings.load()
    settings_row.deals_visible_to_everyone = True
    settings_row.save()
    client.force_login(charlie)
    assert client.get(url).status_code == 200
    assert client.get(reverse("sales:deal_update", args=[deal.pk])).status_code == 403


def test_deal_list_query_count_does_not_grow(client, alice, manager, stages, django_assert_max_num_queries):
    DealFactory.create_batch(2, owner=alice, stage=stages["Angebot"])
    client.force_login(manager)
    client.get(reverse("sales:deal_list"))
    with django_assert_max_num_queries(25) as few:
        client.get(reverse("sales:deal_list"), {"sort": "-amount", "status": "open"})
    DealFactory.create_batch(30, owner=alice, stage=stages["Verhandlung"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("sales:deal_list"), {"sort": "-amount", "status": "open"})
    assert response.status_code == 200


def test_stale_deals_are_flagged_in_the_list_and_the_widget(client, alice, stages):
    stale = DealFactory(owner=alice, stage=stages["Angebot"], name="Eingeschlafen",
                        last_activity_at=timezone.now() - timedelta(days=30))
    DealFactory(owner=alice, stage=stages["Angebot"], name="Frisch")
    assert list(Deal.objects.stale()) == [stale]
    client.force_login(alice)
    html = client.get(reverse("sales:deal_list"), {"stale": "on"}).content.decode()
    assert "Eingeschlafen" in html and "Frisch" not in html
    home = client.get(reverse("home")).content.decode()
    assert "w-stale-deals" in home and "Eingeschlafen" in home


def test_detail_page_with_contacts_items_and_history(client, alice, stages, django_assert_max_num_queries):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    person = EmploymentFactory(organization=deal.organization).person
    client.force_login(alice)
    response = client.post(reverse("sales:deal_contact_add", args=[deal.pk]), {"person": person.pk, "role": "champion"})
    assert response.status_code == 302
    assert DealContact.objects.get(deal=deal).role == "champion"
    client.get(deal.get_absolute_url())
    with django_assert_max_num_queries(30):
        html = client.get(deal.get_absolute_url()).content.decode()
    assert person.last_name in html
    assert client.get(reverse("sales:deal_history", args=[deal.pk])).status_code == 200


def test_won_and_lost_views(client, alice, bob, manager, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(bob)
    assert client.post(reverse("sales:deal_mark_won", args=[deal.pk])).status_code == 403
    client.force_login(alice)
    client.post(reverse("sales:deal_mark_lost", args=[deal.pk]), {"lost_reason": "nonsense"})
    deal.refresh_from_db()
    assert deal.is_open
    client.post(reverse("sales:deal_mark_lost", args=[deal.pk]), {"lost_reason": "competitor", "note": "HubSpot"})
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.lost_reason == "competitor"


def test_organization_page_shows_new_deal_button_and_open_deals(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"], name="Sichtbarer Deal")
    client.force_login(alice)
    html = client.get(deal.organization.get_absolute_url()).content.decode()
    assert "Sichtbarer Deal" in html
    assert reverse("sales:deal_create") + f"?organization={deal.organization.pk}" in html


def test_deals_are_found_by_search_and_on_the_timeline(alice, charlie, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"], name="Hallenkran Zwickau")
    services.deal_record_created(deal=deal, user=alice)
    assert list(search_queryset(Deal.objects.visible_to(alice), "hallenkran", 5)) == [deal]
    assert list(search_queryset(Deal.objects.visible_to(charlie), "hallenkran", 5)) == []
    entries, _next = timeline_for(user=alice, organization=deal.organization)
    assert any("Hallenkran Zwickau" in e.title for e in entries)
