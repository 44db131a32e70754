"""Start page widgets of sales: my stale deals, my open leads."""

from django.utils import timezone

from sales.models import Deal, Lead

WIDGET_ROWS = 10


def my_stale_deals(user) -> dict:
    qs = (
        Deal.objects.filter(owner=user)
        .stale()
        .select_related("organization", "pipeline")
        .only("id", "name", "last_activity_at", "amount", "currency", "organization__name", "pipeline__stale_after_days")
        .order_by("last_activity_at")
    )
    rows = list(qs[: WIDGET_ROWS + 1])
    now = timezone.now()
    for deal in rows:
        deal.idle_days = (now - deal.last_activity_at).days
    return {"deals": rows[:WIDGET_ROWS], "more": len(rows) > WIDGET_ROWS}


def my_new_leads(user) -> dict:
    qs = Lead.objects.filter(owner=user, status=Lead.Status.NEW).only("id", "first_name", "last_name", "company", "created_at")
    rows = list(qs.order_by("-created_at")[: WIDGET_ROWS + 1])
    return {"leads": rows[:WIDGET_ROWS], "more": len(rows) > WIDGET_ROWS}
