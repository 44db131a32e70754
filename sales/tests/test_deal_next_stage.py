"""The deal page's "next stage" button: the board's move, with the board's rules."""

import pytest
from django.urls import reverse

from sales.models import Deal, StageChange
from sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def _next(client, deal, stage):
    return client.post(reverse("sales:deal_next_stage", args=[deal.pk]), {"stage": stage.pk}, follow=True)


def test_it_moves_the_deal_to_the_next_open_stage(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"], name="Nord")
    client.force_login(alice)
    page = client.get(deal.get_absolute_url()).content.decode()
    assert "Next stage: Bedarfsanalyse" in page
    response = _next(client, deal, stages["Bedarfsanalyse"])
    deal.refresh_from_db()
    assert deal.stage == stages["Bedarfsanalyse"]
    assert deal.probability == stages["Bedarfsanalyse"].probability
    assert StageChange.objects.filter(deal=deal, to_stage=stages["Bedarfsanalyse"], changed_by=alice).exists()
    assert "“Nord” moved to Bedarfsanalyse." in response.content.decode()


def test_a_second_click_on_an_old_page_does_not_move_twice(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    client.force_login(alice)
    _next(client, deal, stages["Bedarfsanalyse"])
    _next(client, deal, stages["Bedarfsanalyse"])
    deal.refresh_from_db()
    assert deal.stage == stages["Bedarfsanalyse"]


def test_the_last_open_stage_offers_no_next_stage(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Verhandlung"])
    assert deal.next_stage() is None
    client.force_login(alice)
    assert "Next stage" not in client.get(deal.get_absolute_url()).content.decode()


def test_the_board_rules_apply_a_lost_stage_is_refused(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(alice)
    response = _next(client, deal, stages["Verloren"])
    deal.refresh_from_db()
    assert deal.stage == stages["Angebot"] and deal.status == Deal.Status.OPEN
    assert "A lost deal needs a reason" in response.content.decode()


def test_a_closed_deal_is_not_moved(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON)
    client.force_login(alice)
    _next(client, deal, stages["Angebot"])
    deal.refresh_from_db()
    assert deal.stage == stages["Gewonnen"]


def test_a_teammate_gets_403_an_outsider_and_marketing_404(client, alice, bob, manager, charlie, role_users, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    url = reverse("sales:deal_next_stage", args=[deal.pk])
    for user, status in ((bob, 403), (charlie, 404), (role_users["marketing"], 404)):
        client.force_login(user)
        assert client.post(url, {"stage": stages["Bedarfsanalyse"].pk}).status_code == status, user
    deal.refresh_from_db()
    assert deal.stage == stages["Qualifizierung"]


def test_a_bad_stage_is_a_message_not_a_500(client, alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    client.force_login(alice)
    for value in ("", "x", "9" * 30, "999999"):
        response = client.post(reverse("sales:deal_next_stage", args=[deal.pk]), {"stage": value}, follow=True)
        assert response.status_code == 200
        assert "Unknown stage." in response.content.decode()
