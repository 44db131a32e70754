from decimal import Decimal

import pytest
from django.urls import reverse

from sales.models import Deal, StageChange
from sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_board_shows_columns_cards_and_totals(client, alice, manager, pipeline, stages):
    DealFactory(owner=alice, stage=stages["Angebot"], amount=Decimal("1000"), name="Angebot Nord")
    DealFactory(owner=alice, stage=stages["Angebot"], amount=Decimal("2500"))
    client.force_login(alice)
    response = client.get(reverse("sales:board"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Angebot Nord" in html
    assert f'id="stage-total-{stages["Angebot"].pk}">2 · €3,500<' in html


def _board_queries(client, user, django_assert_max_num_queries, limit):
    client.force_login(user)
    client.get(reverse("sales:board"))  # warm the session and caches
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(reverse("sales:board"))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_board_query_count_is_the_same_for_5_and_500_deals(client, alice, manager, stages, django_assert_max_num_queries):
    open_stages = [stages[n] for n in ("Qualifizierung", "Bedarfsanalyse", "Angebot", "Verhandlung")]
    for i in range(5):
        DealFactory(owner=alice, stage=open_stages[i % 4])
    few = _board_queries(client, manager, django_assert_max_num_queries, 30)
    org = Deal.objects.first().organization
    Deal.objects.bulk_create(
        [
            Deal(name=f"Deal {i}", pipeline=open_stages[0].pipeline, stage=open_stages[i % 4], owner=alice, organization=org,
                 amount=Decimal(i * 100))
            for i in range(495)
        ]
    )
    assert Deal.objects.open().count() == 500
    many = _board_queries(client, manager, django_assert_max_num_queries, 30)
    assert many == few


def test_moving_a_card_changes_the_stage_and_records_the_change(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    client.force_login(alice)
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Angebot"].pk})
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == stages["Angebot"]
    assert deal.probability == 50
    change = StageChange.objects.get(deal=deal)
    assert change.to_stage == stages["Angebot"] and change.from_stage == stages["Qualifizierung"]
    assert f'id="stage-total-{stages["Angebot"].pk}"' in response.content.decode()


def test_moving_a_won_deal_is_refused_with_a_message(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON)
    client.force_login(alice)
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Angebot"].pk})
    assert response.status_code == 409
    assert "closed" in response.content.decode() or "geschlossen" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == stages["Gewonnen"]


def test_moving_to_lost_needs_the_deal_page(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(alice)
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Verloren"].pk})
    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.is_open


def test_teammate_sees_but_cannot_move_a_colleagues_deal(client, alice, bob, manager, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(bob)
    assert client.get(reverse("sales:deal_detail", args=[deal.pk])).status_code == 200
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Verhandlung"].pk})
    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.stage == stages["Angebot"]


def test_outsider_cannot_see_or_move(client, alice, charlie, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(charlie)
    assert client.get(reverse("sales:deal_detail", args=[deal.pk])).status_code == 404
    assert client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Verhandlung"].pk}).status_code == 404


def test_manager_moves_team_deal(client, alice, manager, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(manager)
    assert client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stages["Verhandlung"].pk}).status_code == 200


def test_board_filters_by_owner(client, alice, bob, manager, stages):
    DealFactory(owner=alice, stage=stages["Angebot"], name="Von Alice")
    DealFactory(owner=bob, stage=stages["Angebot"], name="Von Bob")
    client.force_login(manager)
    html = client.get(reverse("sales:board"), {"owner": alice.pk}).content.decode()
    assert "Von Alice" in html and "Von Bob" not in html


def test_bad_stage_value_is_refused_not_a_500(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(alice)
    assert client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": "abc"}).status_code == 409
    assert client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": "99999999999999999999"}).status_code == 409
