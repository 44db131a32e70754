"""Pipelines and stages set up by sales managers and admins (sales.views.settings, sales.services)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.roles import Role
from sales import services
from sales.models import AutomationRule, Deal, Pipeline, Stage, StageChange
from sales.tests.factories import DealFactory, make_pipeline

PAGES = ["sales:pipeline_list", "sales:pipeline_create"]


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MARKETING, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD])
def test_other_roles_may_not_open_or_change_pipelines(client_for, role_users, pipeline, role):
    client = client_for(role_users[role])
    stage = pipeline.stages.first()
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("sales:pipeline_update", args=[pipeline.pk])).status_code == 403
    assert client.post(reverse("sales:stage_move", args=[stage.pk]), {"direction": "down"}).status_code == 403
    assert client.post(reverse("sales:stage_delete", args=[stage.pk])).status_code == 403
    assert client.post(reverse("sales:pipeline_update", args=[pipeline.pk]), {"name": "Weg", "stale_after_days": 5, "position": 0}).status_code == 403
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Neugeschäft"
    assert Stage.objects.filter(pk=stage.pk).exists()


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.ADMIN])
def test_manager_and_admin_create_a_pipeline_with_the_stages_it_needs(client_for, role_users, role):
    client = client_for(role_users[role])
    response = client.post(reverse("sales:pipeline_create"), {"name": "Wartung", "stale_after_days": 21, "position": 2, "is_active": "on"})
    pipeline = Pipeline.objects.get(name="Wartung")
    assert response.status_code == 302 and response.url == pipeline.get_settings_url()
    assert pipeline.stale_after_days == 21
    assert [s.kind for s in pipeline.stages.order_by("order")] == ["open", "won", "lost"]
    assert pipeline.history.filter(history_type="+", history_user=role_users[role]).exists()


def test_bad_input_is_answered_at_the_field(client_for, role_users, pipeline):
    client = client_for(role_users[Role.SALES_MANAGER])
    response = client.post(reverse("sales:pipeline_update", args=[pipeline.pk]), {"name": "", "stale_after_days": 0, "position": "x"})
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "stale_after_days", "position"}
    assert 'class="invalid-feedback"' in response.content.decode()
    response = client.post(reverse("sales:stage_create", args=[pipeline.pk]), {"name": "Angebot", "probability": 150, "kind": "odd"})
    assert response.status_code == 400
    assert set(response.context["stage_form"].errors) == {"name", "probability", "kind"}  # name: taken in this pipeline
    assert pipeline.stages.count() == 6


def test_a_new_stage_goes_to_the_end_and_editing_records_history(client_for, role_users, pipeline):
    client = client_for(role_users[Role.SALES_MANAGER])
    client.post(reverse("sales:stage_create", args=[pipeline.pk]), {"name": "Vertrag", "probability": 90, "kind": "open"})
    stage = pipeline.stages.get(name="Vertrag")
    assert stage.order == 12 and stage.probability == 90
    client.post(reverse("sales:stage_update", args=[stage.pk]), {"name": "Vertragsprüfung", "probability": 85, "kind": "open"})
    stage.refresh_from_db()
    assert (stage.name, stage.probability) == ("Vertragsprüfung", 85)
    assert stage.history.filter(history_type="~", history_user=role_users[Role.SALES_MANAGER]).exists()


def test_a_stage_with_deals_keeps_its_kind(client_for, role_users, stages):
    DealFactory(stage=stages["Angebot"], pipeline=stages["Angebot"].pipeline)
    client = client_for(role_users[Role.ADMIN])
    client.post(reverse("sales:stage_update", args=[stages["Angebot"].pk]), {"name": "Angebot", "probability": 50, "kind": "won"})
    stages["Angebot"].refresh_from_db()
    assert not stages["Angebot"].is_won


def _order(pipeline):
    return list(pipeline.stages.order_by("order", "pk").values_list("name", flat=True))


def test_drag_and_drop_saves_the_new_order(client_for, role_users, pipeline, stages):
    client = client_for(role_users[Role.SALES_MANAGER])
    names = ["Angebot", "Qualifizierung", "Bedarfsanalyse", "Verhandlung", "Gewonnen", "Verloren"]
    response = client.post(reverse("sales:stage_reorder", args=[pipeline.pk]), {"stage": [stages[n].pk for n in names]})
    assert response.status_code == 200
    assert _order(pipeline) == names


def test_an_order_that_leaves_out_or_adds_a_stage_is_refused(client_for, role_users, pipeline, stages):
    client = client_for(role_users[Role.SALES_MANAGER])
    other = make_pipeline("Wartung").stages.first()
    before = _order(pipeline)
    for ids in ([stages["Angebot"].pk], [*[s.pk for s in stages.values()], other.pk], ["x", "99999999999999999999"]):
        assert client.post(reverse("sales:stage_reorder", args=[pipeline.pk]), {"stage": ids}).status_code == 400
    assert _order(pipeline) == before


def test_up_and_down_buttons_move_a_stage_one_place(client_for, role_users, pipeline, stages):
    client = client_for(role_users[Role.SALES_MANAGER])
    response = client.post(reverse("sales:stage_move", args=[stages["Angebot"].pk]), {"direction": "up"})
    assert response.status_code == 302
    assert _order(pipeline)[:3] == ["Qualifizierung", "Angebot", "Bedarfsanalyse"]
    client.post(reverse("sales:stage_move", args=[stages["Verloren"].pk]), {"direction": "down"})  # already last
    assert _order(pipeline)[-1] == "Verloren"
    client.post(reverse("sales:stage_move", args=[stages["Qualifizierung"].pk]), {"direction": "down"})
    assert _order(pipeline)[:2] == ["Angebot", "Qualifizierung"]


def test_deleting_a_stage_moves_its_deals_as_the_board_does(client_for, role_users, pipeline, stages):
    manager = role_users[Role.SALES_MANAGER]
    deals = [DealFactory(pipeline=pipeline, stage=stages["Angebot"], probability=50) for _ in range(3)]
    client = client_for(manager)
    page = client.get(reverse("sales:stage_delete", args=[stages["Angebot"].pk])).content.decode()
    assert "3 deals" in page and "Verhandlung" in page and "Gewonnen" not in page  # only open stages take them
    response = client.post(reverse("sales:stage_delete", args=[stages["Angebot"].pk]), {"move_to": stages["Verhandlung"].pk})
    assert response.status_code == 302
    assert not Stage.objects.filter(pk=stages["Angebot"].pk).exists()
    for deal in deals:
        deal.refresh_from_db()
        assert (deal.stage_id, deal.probability, deal.status) == (stages["Verhandlung"].pk, 75, Deal.Status.OPEN)
        change = StageChange.objects.get(deal=deal, to_stage=stages["Verhandlung"])
        assert change.changed_by == manager and change.left_at is None
        assert deal.history.first().history_change_reason == "Stage “Angebot” deleted"


def test_deals_of_a_won_stage_stay_won_when_it_is_deleted(role_users, pipeline, stages):
    second_won = Stage.objects.create(pipeline=pipeline, name="Gewonnen (Rahmen)", order=12, probability=100, is_won=True)
    deal = DealFactory(pipeline=pipeline, stage=stages["Qualifizierung"])
    services.deal_mark_won(deal=deal, user=role_users[Role.ADMIN])
    deal.refresh_from_db()
    closed_at = deal.closed_at
    services.stage_delete(stage=stages["Gewonnen"], user=role_users[Role.ADMIN], move_to=second_won)
    deal.refresh_from_db()
    assert (deal.stage, deal.status, deal.closed_at) == (second_won, Deal.Status.WON, closed_at)


def test_deleting_a_stage_with_deals_needs_a_target_of_the_same_kind(client_for, role_users, pipeline, stages):
    deal = DealFactory(pipeline=pipeline, stage=stages["Angebot"])
    client = client_for(role_users[Role.ADMIN])
    url = reverse("sales:stage_delete", args=[stages["Angebot"].pk])
    response = client.post(url, {})
    assert response.status_code == 400 and "move_to" in response.context["form"].errors
    response = client.post(url, {"move_to": stages["Gewonnen"].pk})  # not offered: a won stage would close the deal
    assert response.status_code == 400 and "move_to" in response.context["form"].errors
    with pytest.raises(services.SetupRefused):
        services.stage_delete(stage=stages["Angebot"], user=role_users[Role.ADMIN], move_to=stages["Gewonnen"])
    other = make_pipeline("Wartung").stages.first()
    with pytest.raises(services.SetupRefused):
        services.stage_delete(stage=stages["Angebot"], user=role_users[Role.ADMIN], move_to=other)
    deal.refresh_from_db()
    assert deal.stage == stages["Angebot"] and deal.is_open


def test_the_last_stage_and_a_pipeline_with_deals_stay(client_for, role_users, pipeline, stages):
    client = client_for(role_users[Role.ADMIN])
    lonely = Pipeline.objects.create(name="Einzeln")
    only = Stage.objects.create(pipeline=lonely, name="Einzige", order=0)
    response = client.post(reverse("sales:stage_delete", args=[only.pk]))
    assert response.status_code == 400 and Stage.objects.filter(pk=only.pk).exists()
    assert "at least one stage" in response.content.decode()
    DealFactory(pipeline=pipeline, stage=stages["Angebot"])
    response = client.post(reverse("sales:pipeline_delete", args=[pipeline.pk]))
    assert response.status_code == 400 and "holds 1 deal" in response.content.decode()
    assert Pipeline.objects.filter(pk=pipeline.pk).exists()
    response = client.post(reverse("sales:pipeline_delete", args=[lonely.pk]))
    assert response.status_code == 302 and not Pipeline.objects.filter(pk=lonely.pk).exists()


def test_the_pipeline_list_asks_a_constant_number_of_queries(client_for, role_users, django_assert_max_num_queries):
    client = client_for(role_users[Role.SALES_MANAGER])
    make_pipeline("Eins")
    client.get(reverse("sales:pipeline_list"))
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("sales:pipeline_list"))
    for index in range(15):
        pipeline = make_pipeline(f"Pipeline {index}")
        DealFactory(pipeline=pipeline, stage=pipeline.stages.first(), amount=Decimal("1"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "Pipeline 14" in client.get(reverse("sales:pipeline_list")).content.decode()


def test_the_pipeline_page_asks_a_constant_number_of_queries(client_for, role_users, pipeline, django_assert_max_num_queries):
    client = client_for(role_users[Role.SALES_MANAGER])
    url = reverse("sales:pipeline_update", args=[pipeline.pk])
    client.get(url)
    with django_assert_max_num_queries(14) as few:
        client.get(url)
    for index in range(10):
        Stage.objects.create(pipeline=pipeline, name=f"Phase {index}", order=20 + index)
        pipeline.stale_after_days = 10 + index
        pipeline.save()
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert "Phase 9" in html


def test_the_delete_page_warns_of_the_stages_automation_rules(client_for, role_users, stages):
    AutomationRule.objects.create(
        name="Angebot nachfassen", trigger=AutomationRule.Trigger.DEAL_STAGE, stage=stages["Angebot"],
        action=AutomationRule.Action.CREATE_TASK, task_subject="Nachfassen",
    )
    html = client_for(role_users[Role.ADMIN]).get(reverse("sales:stage_delete", args=[stages["Angebot"].pk])).content.decode()
    assert "deleted with it: 1." in html
