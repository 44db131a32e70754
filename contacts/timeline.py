"""The contacts part of the timeline: activities about a person or organization."""

from django.urls import reverse

from contacts.models import Activity
from crm.models import managed_user_ids
from crm.roles import Role, has_role
from crm.timeline import TimelineEntry


def activity_entries(*, user, person=None, organization=None, before=None, limit: int):
    qs = Activity.objects.visible_to(user).about(person=person, organization=organization)
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    qs = qs.select_related("created_by", "assignee", "person", "organization", "synced_email").order_by("-occurred_at", "-pk")[:limit]
    is_admin = has_role(user, Role.ADMIN)
    managed = managed_user_ids(user)
    entries = []
    for activity in qs:
        can_change = is_admin or activity.created_by_id in managed or activity.assignee_id in managed
        entries.append(
            TimelineEntry(
                when=activity.occurred_at,
                kind=f"activity-{activity.kind}",
                kind_label=activity.get_kind_display(),
                icon=activity.icon,
                title=activity.subject,
                body=activity.body,
                actor=activity.created_by.get_full_name() or activity.created_by.username if activity.created_by else "",
                extra={
                    "activity": activity,
                    "can_change": can_change,
                    "toggle_url": reverse("contacts:activity_toggle_done", args=[activity.pk]),
                    "delete_url": reverse("contacts:activity_delete", args=[activity.pk]),
                },
            )
        )
    return entries
