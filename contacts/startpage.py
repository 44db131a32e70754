"""Start page widgets of contacts: my tasks (today and overdue), my organizations, my team's tasks."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from contacts.models import Activity, Organization
from crm.models import managed_user_ids

WIDGET_ROWS = 10


def _end_of_today():
    today = timezone.localdate()
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def my_tasks(user) -> dict:
    qs = (
        Activity.objects.visible_to(user)
        .open_tasks()
        .filter(assignee=user, due_at__lt=_end_of_today())
        .select_related("person", "organization")
        .order_by("due_at")
    )
    tasks = list(qs[: WIDGET_ROWS + 1])
    return {"tasks": tasks[:WIDGET_ROWS], "more": len(tasks) > WIDGET_ROWS, "now": timezone.now()}


def my_organizations(user) -> dict:
    qs = Organization.objects.visible_to(user).owned_by(user).order_by("-updated_at")
    rows = list(qs.only("id", "name", "relationship", "updated_at")[: WIDGET_ROWS + 1])
    return {"organizations": rows[:WIDGET_ROWS], "more": len(rows) > WIDGET_ROWS}


def team_tasks(user) -> dict:
    """Overdue tasks of the people this manager leads."""
    members = managed_user_ids(user) - {user.pk}
    qs = (
        Activity.objects.visible_to(user)
        .open_tasks()
        .filter(assignee_id__in=members, due_at__lt=timezone.now())
        .select_related("person", "organization", "assignee")
        .order_by("due_at")
    )
    rows = list(qs[: WIDGET_ROWS + 1])
    return {"tasks": rows[:WIDGET_ROWS], "more": len(rows) > WIDGET_ROWS, "now": timezone.now(), "team_size": len(members)}
