"""Start page widgets of sales: my stale deals, my open leads; for managers their team's pipeline
and this month's forecast against quota."""

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from crm.models import Team, managed_user_ids
from sales import money, services
from sales.models import Deal, Lead

ZERO = Decimal("0.00")

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


def team_pipeline(user) -> dict:
    """Open deals of the people this manager leads, count and value per stage of each active
    pipeline, in the company currency (sales.money). Two queries: the teams, the grouped deals."""
    team_ids = list(Team.objects.filter(manager=user).order_by("name").values_list("pk", flat=True))
    owners = managed_user_ids(user) - {user.pk}
    rows = (
        Deal.objects.visible_to(user).open().filter(owner_id__in=owners, pipeline__is_active=True)
        .values("pipeline_id", "pipeline__name", "stage_id", "stage__name")
        .annotate(count=Count("pk"), total=Sum(money.converted()), unconverted=money.unconverted())
        .order_by("pipeline__position", "pipeline__name", "stage__order", "stage_id")
    )
    pipelines: list[dict] = []
    for row in rows:
        if not pipelines or pipelines[-1]["id"] != row["pipeline_id"]:
            pipelines.append({"id": row["pipeline_id"], "name": row["pipeline__name"], "stages": [], "total": ZERO, "count": 0})
        pipeline = pipelines[-1]
        pipeline["stages"].append(
            {"id": row["stage_id"], "name": row["stage__name"], "count": row["count"],
             "total": row["total"] or ZERO, "unconverted": row["unconverted"]}
        )
        pipeline["total"] += row["total"] or ZERO
        pipeline["count"] += row["count"]
    for pipeline in pipelines:
        largest = max((stage["total"] for stage in pipeline["stages"]), default=ZERO)
        for stage in pipeline["stages"]:
            stage["share"] = round(stage["total"] * 100 / largest) if largest else 0
    return {
        "pipelines": pipelines,
        "leads_team": bool(team_ids),
        # The deal list filters by one team: its links name the team when the manager leads one.
        "team_id": team_ids[0] if len(team_ids) == 1 else None,
        "unconverted": sum(stage["unconverted"] for pipeline in pipelines for stage in pipeline["stages"]),
    }


def team_forecast(user) -> dict:
    """This month's forecast against quota for the people this manager leads (sales.services.forecast)."""
    data = services.forecast(user_ids=services.forecast_user_ids(user), period="month", day=timezone.localdate())
    total = data["total"]
    total["bar"] = min(total["attainment"] or 0, 100)
    return {"forecast": data, "total": total}
