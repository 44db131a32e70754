"""Automation rules and task reminders: what runs in Celery, each once.

A rule run is claimed by inserting its (rule, event key) row before the action; a second delivery of
the same event finds the row and skips. A reminder is claimed by an UPDATE ... WHERE
reminder_sent_at IS NULL; only the process whose update hit the row queues the email (crm.outbox),
in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Activity
from crm import outbox
from crm.links import absolute_url
from crm.models import Team
from sales.models import AutomationRule, AutomationRun, Deal, Lead


def _claim(rule: AutomationRule, event_key: str, **target) -> AutomationRun | None:
    try:
        with transaction.atomic():
            return AutomationRun.objects.create(rule=rule, event_key=event_key[:100], **target)
    except IntegrityError:
        return None


def task_create(*, record, subject: str, due_at, assignee, created_by=None, organization=None, person=None) -> Activity:
    """A task about a deal or lead (through the activity's `regarding`) or a person/organization."""
    task = Activity(
        kind=Activity.Kind.TASK,
        subject=subject[:200],
        due_at=due_at,
        assignee=assignee,
        created_by=created_by,
        organization=organization,
        person=person,
        occurred_at=timezone.now(),
    )
    if record is not None:
        task.regarding_type = ContentType.objects.get_for_model(record)
        task.regarding_id = record.pk
    task.full_clean(exclude=["created_by", "assignee"])
    task.save()
    return task


def _manager_emails(user) -> list[str]:
    if user is None:
        return []
    return list(
        Team.objects.filter(members=user, manager__isnull=False)
        .exclude(manager__email="")
        .values_list("manager__email", flat=True)
        .distinct()
    )


def _execute(rule: AutomationRule, record) -> str:
    owner = record.owner
    label = str(record)
    if rule.action == AutomationRule.Action.CREATE_TASK:
        task_create(
            record=record,
            subject=rule.task_subject,
            due_at=timezone.now() + timedelta(days=rule.task_due_days),
            assignee=owner,
            organization=getattr(record, "organization", None),
        )
        return _("Task created for %(user)s.") % {"user": owner or "-"}
    if rule.action in (AutomationRule.Action.NOTIFY_OWNER, AutomationRule.Action.NOTIFY_MANAGER):
        recipients = [owner.email] if rule.action == AutomationRule.Action.NOTIFY_OWNER and owner and owner.email else []
        if rule.action == AutomationRule.Action.NOTIFY_MANAGER:
            recipients = _manager_emails(owner)
        if not recipients:
            return _("Nobody to notify.")
        url = absolute_url(record.get_absolute_url())
        for recipient in recipients:
            outbox.email_queue(to=recipient, subject=rule.task_subject or rule.name, body=f"{rule.name}: {label}\n{url}",
                               regarding=record)
        return _("Email queued for %(to)s.") % {"to": ", ".join(recipients)}
    if rule.action == AutomationRule.Action.SET_FIELD:
        field = record._meta.get_field(rule.field_name)
        setattr(record, rule.field_name, field.to_python(rule.field_value))
        record.full_clean(exclude=["utm", "converted_deal"] if isinstance(record, Lead) else None)
        type(record).objects.filter(pk=record.pk).update(**{rule.field_name: getattr(record, rule.field_name)})
        return _("%(field)s set to %(value)s.") % {"field": rule.field_name, "value": rule.field_value}
    return ""


def _run_rules(rules, record, event_key: str, **target) -> int:
    ran = 0
    for rule in rules:
        run = _claim(rule, event_key, **target)
        if run is None:
            continue
        try:
            with transaction.atomic():
                run.message = _execute(rule, record)
            run.status = AutomationRun.Status.DONE
        except Exception as exc:  # noqa: BLE001 - the log shows what failed; the event is not retried
            run.status = AutomationRun.Status.FAILED
            run.message = str(exc)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        ran += 1
    return ran


def deal_stage_event_process(*, deal_id: int, stage_id: int, event_key: str) -> int:
    """Run the active rules for 'deal enters stage'; returns how many ran now."""
    deal = Deal.objects.select_related("owner", "organization").filter(pk=deal_id).first()
    if deal is None:
        return 0
    rules = AutomationRule.objects.filter(is_active=True, trigger=AutomationRule.Trigger.DEAL_STAGE, stage_id=stage_id)
    return _run_rules(rules, deal, event_key, deal=deal)


def lead_status_event_process(*, lead_id: int, status: str, event_key: str) -> int:
    lead = Lead.objects.select_related("owner").filter(pk=lead_id).first()
    if lead is None:
        return 0
    rules = AutomationRule.objects.filter(is_active=True, trigger=AutomationRule.Trigger.LEAD_STATUS, lead_status=status)
    return _run_rules(rules, lead, event_key, lead=lead)


def _reminders_due(now):
    return Activity.objects.filter(kind=Activity.Kind.TASK, done=False, reminder_sent_at__isnull=True, due_at__lte=now)


def reminders_mark_sent(*, now=None) -> int:
    """Record the reminders of every task that is due as sent, without sending them: for demo
    data, whose overdue tasks would otherwise all be reminded of when beat starts."""
    now = now or timezone.now()
    return _reminders_due(now).update(reminder_sent_at=now)


def reminders_send(*, now=None) -> int:
    """Email the assignee of every open task that is due and not yet reminded; each task once."""
    now = now or timezone.now()
    due = (
        _reminders_due(now)
        .select_related("assignee")
        .order_by("due_at")[:500]
    )
    sent = 0
    for task in due:
        # The claim and the stored reminder commit together: a reminder is queued exactly once.
        with transaction.atomic():
            claimed = Activity.objects.filter(pk=task.pk, reminder_sent_at__isnull=True).update(reminder_sent_at=now)
            if not claimed or task.assignee is None or not task.assignee.email:
                continue
            outbox.email_queue(
                to=task.assignee.email,
                subject=_("Reminder: %(subject)s") % {"subject": task.subject},
                body=_("The task “%(subject)s” is due at %(due)s.")
                % {"subject": task.subject, "due": timezone.localtime(task.due_at).strftime("%d.%m.%Y %H:%M")},
                regarding=task,
            )
        sent += 1
    return sent
