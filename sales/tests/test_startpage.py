"""A sales manager's start page: the team's open pipeline per stage, this month's forecast
against quota, and the team's overdue tasks; reps and other roles do not get them."""

from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import make_user
from contacts.tests.factories import PersonFactory, TaskFactory
from crm.roles import Role
from crm.tests.startpage import home, home_queries, widget
from sales.models import Deal, Quota
from sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def stage_row(html: str, stage) -> str:
    row = html[html.index(f'data-stage="{stage.pk}"'):]
    return row[: row.index("</li>")]


def test_manager_sees_the_team_widgets_and_no_service_or_marketing_ones(manager, client_for):
    body = home(client_for(manager))
    for widget_id in ("w-team-pipeline", "w-team-forecast", "w-team-tasks", "w-my-tasks", "w-appointments-today"):
        assert widget(body, widget_id), widget_id
    for widget_id in ("w-my-queue", "w-sla-alarms", "w-team-backlog", "w-campaigns", "w-consent-growth", "w-form-leads"):
        assert not widget(body, widget_id), widget_id


def test_reps_and_other_roles_do_not_get_the_manager_widgets(alice, role_users, client_for):
    for user in (alice, role_users[Role.MARKETING], role_users[Role.SUPPORT_AGENT], role_users[Role.SUPPORT_LEAD]):
        body = home(client_for(user))
        assert not widget(body, "w-team-pipeline") and not widget(body, "w-team-forecast"), user


def test_pipeline_sums_the_team_open_deals_per_stage(alice, bob, manager, charlie, stages, client_for):
    offer, analysis = stages["Angebot"], stages["Bedarfsanalyse"]
    DealFactory(owner=alice, stage=offer, amount=Decimal("12000"))
    DealFactory(owner=bob, stage=offer, amount=Decimal("8000"))
    DealFactory(owner=bob, stage=analysis, amount=Decimal("2500"))
    DealFactory(owner=charlie, stage=offer, amount=Decimal("99000"))  # not in the team
    DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, amount=Decimal("50000"),
                closed_at=timezone.now())  # not open
    pipeline = widget(home(client_for(manager)), "w-team-pipeline")
    assert "€20,000" in stage_row(pipeline, offer) and ">2 ·<" in stage_row(pipeline, offer).replace("</span>", "<")
    assert "€2,500" in stage_row(pipeline, analysis)
    assert "99,000" not in pipeline and "50,000" not in pipeline and "72,000" not in pipeline
    assert "3 open deals, ≈ €22,500" in pipeline
    assert f"stage={offer.pk}" in pipeline and "status=open" in pipeline


def test_forecast_shows_won_against_quota_of_this_month(alice, bob, manager, stages, client_for):
    month = timezone.localdate().replace(day=1)
    Quota.objects.create(user=alice, period=Quota.Period.MONTH, period_start=month, amount=Decimal("40000"))
    DealFactory(owner=alice, stage=stages["Gewonnen"], status=Deal.Status.WON, amount=Decimal("10000"), closed_at=timezone.now())
    DealFactory(owner=bob, stage=stages["Angebot"], amount=Decimal("5000"), forecast_category="commit",
                expected_close_date=timezone.localdate())
    forecast = widget(home(client_for(manager)), "w-team-forecast")
    assert "25 %" in forecast
    assert "€10,000" in forecast and "€40,000" in forecast and "€15,000" in forecast  # won, quota, commit
    assert timezone.localdate().strftime("%B %Y") in forecast


def test_empty_states(manager, client_for):
    body = home(client_for(manager), language="de")
    assert "Ihr Team hat keine offenen Deals." in widget(body, "w-team-pipeline")
    assert "Für diesen Monat ist keine Quote festgelegt." in widget(body, "w-team-forecast")
    loner = make_user("loner", Role.SALES_MANAGER)
    assert "Sie leiten noch kein Team." in widget(home(client_for(loner), language="de"), "w-team-pipeline")


def test_manager_start_page_queries_do_not_grow_with_the_deals(alice, bob, manager, stages, client_for):
    client = client_for(manager)
    person = PersonFactory()
    open_stages = [stages[name] for name in ("Qualifizierung", "Bedarfsanalyse", "Angebot", "Verhandlung")]

    def add(n):
        for i in range(n):
            owner = (alice, bob)[i % 2]
            DealFactory(owner=owner, stage=open_stages[i % 4])
            TaskFactory(person=person, created_by=owner, assignee=owner, due_at=timezone.now() - timezone.timedelta(days=1))

    add(4)
    few = home_queries(client)
    add(26)
    assert home_queries(client) == few
    assert few <= 30
