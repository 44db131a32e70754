"""Automation rules fire once per event, reminders go out once, even when run twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Activity
from crm.models import OutgoingEmail
from sales import automation, services
from sales.models import AutomationRule, AutomationRun, Deal, Lead
from sales.tasks import run_deal_stage_rules, send_task_reminders
from sales.tests.factories import DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer_rule(stages):
    return AutomationRule.objects.create(
        name="Angebot nachfassen", trigger="deal_stage", stage=stages["Angebot"], action="create_task",
        task_subject="Angebot nachfassen", task_due_days=3,
    )


def test_rule_fires_once_even_if_the_event_is_processed_twice(alice, stages, offer_rule, django_capture_on_commit_callbacks):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.deal_move(deal=deal, stage=stages["Angebot"], user=alice)
    assert len(callbacks) == 1
    callbacks[0]()  # the queued task runs ...
    callbacks[0]()  # ... and is delivered a second time (acks_late, a worker restart)
    tasks = Activity.objects.filter(subject="Angebot nachfassen")
    assert tasks.count() == 1
    task = tasks.get()
    assert task.regarding == deal and task.assignee == alice and task.organization == deal.organization
    run = AutomationRun.objects.get()
    assert run.status == "done" and run.deal == deal


def test_entering_the_stage_again_later_is_a_new_event(alice, stages, offer_rule, django_capture_on_commit_callbacks):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_move(deal=deal, stage=stages["Angebot"], user=alice)
        services.deal_move(deal=deal, stage=stages["Verhandlung"], user=alice)
        services.deal_move(deal=deal, stage=stages["Angebot"], user=alice)
    assert AutomationRun.objects.filter(rule=offer_rule).count() == 2


def test_the_task_itself_is_idempotent(alice, stages, offer_rule):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    assert run_deal_stage_rules(deal.pk, stages["Angebot"].pk, "event-1") == 1
    assert run_deal_stage_rules(deal.pk, stages["Angebot"].pk, "event-1") == 0


def test_lead_status_rule_notifies_the_managers(alice, manager, django_capture_on_commit_callbacks):
    AutomationRule.objects.create(name="Qualifiziert", trigger="lead_status", lead_status="qualified", action="notify_manager",
                                  task_subject="Lead qualifiziert")
    lead = LeadFactory(owner=alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.lead_set_status(lead=lead, status=Lead.Status.QUALIFIED)
    for callback in callbacks * 2:
        callback()
    assert list(OutgoingEmail.objects.values_list("to", flat=True)) == [manager.email]


def test_set_field_rule(alice, stages):
    rule = AutomationRule.objects.create(name="Commit", trigger="deal_stage", stage=stages["Verhandlung"],
                                         action="set_field", field_name="forecast_category", field_value="commit")
    deal = DealFactory(owner=alice, stage=stages["Verhandlung"])
    automation.deal_stage_event_process(deal_id=deal.pk, stage_id=stages["Verhandlung"].pk, event_key="x")
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"
    assert rule.runs.get().status == "done"


def test_a_failing_rule_is_logged_and_not_retried(alice, stages):
    AutomationRule.objects.create(name="Kaputt", trigger="deal_stage", stage=stages["Verhandlung"],
                                  action="set_field", field_name="probability", field_value="not a number")
    deal = DealFactory(owner=alice, stage=stages["Verhandlung"])
    automation.deal_stage_event_process(deal_id=deal.pk, stage_id=stages["Verhandlung"].pk, event_key="y")
    run = AutomationRun.objects.get()
    assert run.status == "failed" and run.message
    assert automation.deal_stage_event_process(deal_id=deal.pk, stage_id=stages["Verhandlung"].pk, event_key="y") == 0


def test_reminders_are_sent_once_even_if_the_job_runs_twice(alice, bob, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    now = timezone.now()
    due = automation.task_create(record=deal, subject="Angebot anrufen", due_at=now - timedelta(minutes=1), assignee=alice)
    automation.task_create(record=deal, subject="Später", due_at=now + timedelta(hours=2), assignee=alice)
    done = automation.task_create(record=deal, subject="Erledigt", due_at=now - timedelta(hours=1), assignee=bob)
    done.mark_done()
    assert send_task_reminders() == 1
    assert send_task_reminders() == 0
    reminder = OutgoingEmail.objects.get()
    assert reminder.to == alice.email and "Angebot anrufen" in reminder.subject and reminder.regarding == due
    due.refresh_from_db()
    assert due.reminder_sent_at is not None


def test_won_and_lost(alice, stages):
    deal = DealFactory(owner=alice, stage=stages["Angebot"])
    services.deal_mark_lost(deal=deal, user=alice, reason="price", note="zu teuer")
    deal.refresh_from_db()
    assert deal.status == Deal.Status.LOST and deal.stage == stages["Verloren"] and deal.probability == 0
    services.deal_reopen(deal=deal, user=alice)
    deal.refresh_from_db()
    assert deal.is_open and deal.lost_reason == ""
    services.deal_mark_won(deal=deal, user=alice)
    deal.refresh_from_db()
    assert deal.status == Deal.Status.WON and deal.closed_at is not None
    assert [c.to_stage.name for c in deal.stage_changes.order_by("changed_at", "pk")] == ["Verloren", "Qualifizierung", "Gewonnen"]
    assert all(c.left_at for c in deal.stage_changes.exclude(to_stage=stages["Gewonnen"]))
