"""Start page widget of membership: the register at a glance, and the applications waiting."""

from django.db.models import Count, Q
from django.utils import timezone

from membership.models import Member

WIDGET_ROWS = 5


def membership_overview(user) -> dict:
    """Two queries: the counts by status (and resignations taking effect), the oldest applications."""
    members = Member.objects.visible_to(user)
    counts = members.aggregate(
        active=Count("pk", filter=Q(status=Member.Status.ACTIVE)),
        applicants=Count("pk", filter=Q(status=Member.Status.APPLICANT)),
        ending=Count("pk", filter=Q(status=Member.Status.ACTIVE, end_date__gte=timezone.localdate())),
    )
    waiting = list(
        members.filter(status=Member.Status.APPLICANT).select_related("person", "organization", "membership_type")
        .order_by("applied_on", "pk")[:WIDGET_ROWS]
    )
    return {**counts, "waiting": waiting}
