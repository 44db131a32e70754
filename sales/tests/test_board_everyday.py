"""The board opens on a rep's own deals; cards move without a mouse; leads convert into the first stage."""

import pytest
from django.urls import reverse

from sales.forms import LeadConvertForm
from sales.tests.factories import DealFactory, LeadFactory, make_pipeline

pytestmark = pytest.mark.django_db


def _names(response):
    return {card.name for column in response.context["columns"] for card in column["cards"]}


def test_a_reps_board_opens_on_their_own_deals(client, alice, bob, manager, stages):
    DealFactory(owner=alice, stage=stages["Angebot"], name="Alices Deal")
    DealFactory(owner=bob, stage=stages["Angebot"], name="Bobs Deal")
    client.force_login(alice)
    response = client.get(reverse("sales:board"))
    assert _names(response) == {"Alices Deal"}
    assert response.context["filterset"].form["mine"].value() in (True, "on")


def test_a_rep_widens_the_board_by_unticking_only_mine(client, alice, bob, manager, stages):
    DealFactory(owner=alice, stage=stages["Angebot"], name="Alices Deal")
    DealFactory(owner=bob, stage=stages["Angebot"], name="Bobs Deal")
    client.force_login(alice)
    # The filter form sends its fields even when empty; "mine" is missing when unticked.
    response = client.get(reverse("sales:board"), {"pipeline": stages["Angebot"].pipeline_id, "owner": "", "team": ""})
    assert _names(response) == {"Alices Deal", "Bobs Deal"}


def test_a_manager_board_still_opens_on_everything_visible(client, alice, bob, manager, stages):
    DealFactory(owner=alice, stage=stages["Angebot"], name="Alices Deal")
    DealFactory(owner=bob, stage=stages["Angebot"], name="Bobs Deal")
    client.force_login(manager)
    assert _names(client.get(reverse("sales:board"))) == {"Alices Deal", "Bobs Deal"}


def test_the_default_costs_no_queries_per_card(client, alice, manager, stages, django_assert_max_num_queries):
    def count(n):
        for _ in range(n):
            DealFactory(owner=alice, stage=stages["Angebot"])
        client.force_login(alice)
        client.get(reverse("sales:board"))
        with django_assert_max_num_queries(30) as captured:
            client.get(reverse("sales:board"))
        return len(captured.captured_queries)

    assert count(2) == count(20)


def test_open_cards_have_a_move_button_and_the_board_a_stage_dialog(client, alice, stages):
    DealFactory(owner=alice, stage=stages["Angebot"], name="Offen")
    client.force_login(alice)
    html = client.get(reverse("sales:board")).content.decode()
    assert 'aria-label="Move: Offen"' in html
    assert 'id="board-move-dialog"' in html
    assert f'class="btn btn-outline-primary btn-sm text-start crm-move-to" data-stage="{stages["Verhandlung"].pk}"' in html
    assert f'data-stage="{stages["Verloren"].pk}">Verloren</button>' not in html  # lost needs a reason


def test_marketing_reads_the_board_without_move_buttons(client, role_users, alice, stages):
    DealFactory(owner=alice, stage=stages["Angebot"])
    client.force_login(role_users["marketing"])
    response = client.get(reverse("sales:board"))
    if response.status_code == 200:
        assert "board-move-dialog" not in response.content.decode()
    else:
        assert response.status_code == 403


def test_the_conversion_form_preselects_the_first_stage_of_the_first_pipeline(client, alice, stages):
    make_pipeline("Zweite")
    lead = LeadFactory(owner=alice)
    client.force_login(alice)
    form = client.get(reverse("sales:lead_convert", args=[lead.pk])).context["form"]
    assert form["stage"].value() == stages["Qualifizierung"].pk or form["stage"].value() == stages["Qualifizierung"]
    assert LeadConvertForm(user=alice, initial={"stage": stages["Angebot"]}).initial["stage"] == stages["Angebot"]
