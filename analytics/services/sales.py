"""Sales figures: pipeline by stage, forecast against quota, win rate, deal size, sales cycle,
stage funnel, time in stage, deals by source and the rep leaderboard.

Every figure counts only deals the user may see (`Deal.objects.visible_to(user)`), narrowed to the
scope's owners and territory. A fixed number of aggregate queries whatever the number of deals:
stages (1), open deals by stage (1), deals closed in the period (1), leaderboard (1), deals by
source (1), funnel base and reach (2), time in stage (1), forecast reps (1) and the forecast (3).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from analytics.figures import Figure, money_rows
from analytics.scope import Period, Scope, scope_from
from analytics.snapshots import serializable
from crm.models import managed_user_ids
from crm.roles import Role, has_role
from sales import money
from sales import services as sales_services
from sales.models import Deal, Lead, Stage, StageChange, Territory, deals_visible_to_everyone

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DAY = timedelta(days=1)
LEADERBOARD_SIZE = 10


def cents(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def days(value: timedelta | None) -> Decimal | None:
    """A duration in days with one decimal; None when nothing was measured."""
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 86400).quantize(TENTH)


def percent(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@serializable
@dataclass
class SalesDashboard:
    cards: list[Figure]
    stages: list[dict]
    stage_totals: dict
    forecast: dict
    funnel: list[dict]
    time_in_stage: list[dict]
    sources: list[dict]
    leaderboard: list[dict]
    notes: dict = field(default_factory=dict)

    def csv_rows(self) -> Iterator[tuple]:
        """(figure, item, measure, value): every number of the page, one per row."""
        yield from money_rows(self.notes)
        for card in self.cards:
            yield card.label, "", _("Value"), card.value
            if card.total is not None:
                yield card.label, "", _("Out of"), card.total
                yield card.label, "", _("Share in %"), card.share
        section = _("Pipeline by stage")
        for row in [*self.stages, self.stage_totals]:
            yield section, row["label"], _("Deals"), row["count"]
            yield section, row["label"], _("Amount"), row["amount"]
            yield section, row["label"], _("Weighted amount"), row["weighted"]
        section = _("Forecast against quota")
        for row in [*self.forecast["reps"], self.forecast["total"]]:
            label = row["label"]
            for key, measure in FORECAST_MEASURES:
                yield section, label, measure, "" if row[key] is None else row[key]
        section = _("Stage funnel")
        for row in self.funnel:
            yield section, row["label"], _("Deals that reached the stage"), row["reached"]
            yield section, row["label"], _("Share in %"), "" if row["share"] is None else row["share"]
        section = _("Average time in stage")
        for row in self.time_in_stage:
            yield section, row["label"], _("Stays"), row["stays"]
            yield section, row["label"], _("Days on average"), row["days"]
        section = _("New deals by source")
        for row in self.sources:
            yield section, row["label"], _("Deals"), row["count"]
            yield section, row["label"], _("Amount"), row["amount"]
            yield section, row["label"], _("Won so far"), row["won"]
        section = _("Rep leaderboard")
        for row in self.leaderboard:
            yield section, row["label"], _("Won deals"), row["count"]
            yield section, row["label"], _("Won amount"), row["amount"]


FORECAST_MEASURES = [
    ("closed_won", _("Closed won")),
    ("commit", _("Commit")),
    ("best_case", _("Best case")),
    ("weighted", _("Weighted pipeline")),
    ("quota", _("Quota")),
    ("attainment", _("Attainment in %")),
]


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(scope.start, time.min), tz)
    end = timezone.make_aware(datetime.combine(scope.end + DAY, time.min), tz)
    return start, end


def _deal_list_url(scope: Scope, **query) -> str:
    """The deal list filtered like the scope (owner or team, territory) and by `query`."""
    if scope.owner_ids is not None and len(scope.owner_ids) == 1:
        query["owner"] = next(iter(scope.owner_ids))
    elif scope.team_id:
        query["team"] = scope.team_id
    if scope.territory_id:
        query["territory"] = scope.territory_id
    return f"{reverse('sales:deal_list')}?{urlencode(query)}"


def scoped_deals(*, user, scope: Scope):
    deals = scope.owned(Deal.objects.visible_to(user))
    if scope.territory_id:
        deals = deals.filter(territory_id=scope.territory_id)
    return deals


def forecast_user_ids(*, user, scope: Scope) -> set[int]:
    """Whose forecast and quota the user may see: admins (or everyone, when deals are visible to
    everyone) all sales users, managers their teams, reps themselves; narrowed to the scope."""
    if has_role(user, Role.ADMIN) or deals_visible_to_everyone(user):
        ids = set(
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=[Role.SALES_MANAGER, Role.SALES_REP])
            .values_list("pk", flat=True)
        )
    elif has_role(user, Role.SALES_MANAGER):
        ids = set(managed_user_ids(user))
    else:
        ids = {user.pk}
    return ids if scope.owner_ids is None else ids & set(scope.owner_ids)


def forecast_period(scope: Scope) -> tuple[str, object]:
    """Quota periods are months and quarters: the month of a month filter, else the quarter
    (of the chosen quarter, or today's for a year or 12 months)."""
    if scope.period in (Period.THIS_MONTH, Period.LAST_MONTH):
        return "month", scope.start
    if scope.period == Period.THIS_QUARTER:
        return "quarter", scope.start
    return "quarter", timezone.localdate()


def _user_label(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def sales_scope(params):
    """The sales dashboard's filter form (owner, team, territory, period) and its scope."""
    return scope_from(params, territories=Territory.objects.filter(is_active=True).order_by("priority", "name"))


def compute(user, params) -> SalesDashboard:
    """For analytics.snapshots: the dashboard of `user` for the filter `params`."""
    return sales_dashboard(user=user, scope=sales_scope(params)[1])


def sales_dashboard(*, user, scope: Scope) -> SalesDashboard:
    deals = scoped_deals(user=user, scope=scope)
    start_at, end_at = _bounds(scope)
    stages = list(Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline__name", "order", "pk"))
    several_pipelines = len({stage.pipeline_id for stage in stages}) > 1

    def stage_label(stage: Stage) -> str:
        return f"{stage.pipeline.name} · {stage.name}" if several_pipelines else stage.name

    # Open deals by stage: count, amount, weighted amount (amount × probability). Amounts are in
    # the company currency (sales.money); `unconverted` counts the deals left out for lack of a rate.
    amount = money.converted()
    by_stage = {
        row["stage_id"]: row
        for row in deals.filter(status=Deal.Status.OPEN)
        .values("stage_id")
        .annotate(
            count=Count("pk"), sum_amount=Sum(amount), sum_weighted=Sum(money.weighted()),
            unconverted=money.unconverted(),
        )
        .order_by()
    }
    stage_rows = []
    for stage in stages:
        if stage.is_closed:
            continue
        row = by_stage.get(stage.pk, {})
        stage_rows.append({
            "label": stage_label(stage), "stage_id": stage.pk, "count": row.get("count", 0),
            "amount": cents(row.get("sum_amount")), "weighted": cents(row.get("sum_weighted")),
            "unconverted": row.get("unconverted", 0),
            "url": _deal_list_url(scope, status=Deal.Status.OPEN, stage=stage.pk),
        })
    stage_totals = {
        "label": _("All open deals"),
        "count": sum(r["count"] for r in stage_rows),
        "amount": sum((r["amount"] for r in stage_rows), Decimal("0.00")),
        "weighted": sum((r["weighted"] for r in stage_rows), Decimal("0.00")),
        "unconverted": sum(r["unconverted"] for r in stage_rows),
        "url": _deal_list_url(scope, status=Deal.Status.OPEN),
    }

    # Deals closed in the period: win rate, average won deal size, sales cycle.
    won = Q(status=Deal.Status.WON)
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    closed = deals.filter(
        status__in=[Deal.Status.WON, Deal.Status.LOST], closed_at__gte=start_at, closed_at__lt=end_at
    ).aggregate(
        won_count=Count("pk", filter=won),
        lost_count=Count("pk", filter=Q(status=Deal.Status.LOST)),
        won_amount=Sum(amount, filter=won),
        won_average=Avg(amount, filter=won),
        won_unconverted=money.unconverted(filter=won),
        cycle=Avg(cycle, filter=won),
    )
    won_count, lost_count = closed["won_count"], closed["lost_count"]
    won_url = _deal_list_url(scope, status=Deal.Status.WON, sort="-close")
    cards = [
        Figure("open_pipeline", _("Open pipeline"), stage_totals["amount"], None, stage_totals["url"],
               _("Amount of all open deals, whatever their expected close date.")),
        Figure("won_amount", _("Won in the period"), cents(closed["won_amount"]), None, won_url,
               _("Amount of the deals won in the period.")),
        Figure("win_rate", _("Win rate"), won_count, won_count + lost_count, "",
               _("Won deals out of the deals won or lost in the period.")),
        Figure("average_deal_size", _("Average won deal"), cents(closed["won_average"]), None, won_url,
               _("Average amount of the deals won in the period.")),
        Figure("sales_cycle", _("Sales cycle in days"), days(closed["cycle"]) if won_count else None, None, "",
               _("Average days from creating a deal to winning it, for the deals won in the period.")),
    ]

    # Rep leaderboard: won amount in the period.
    leaders = (
        deals.filter(won, closed_at__gte=start_at, closed_at__lt=end_at, owner__isnull=False)
        .values("owner_id", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(
            count=Count("pk"), sum_amount=Coalesce(Sum(amount), Decimal("0")), unconverted=money.unconverted()
        )
        .order_by("-sum_amount", "owner__username")[:LEADERBOARD_SIZE]
    )
    leaderboard = [
        {"label": _user_label(r["owner__first_name"], r["owner__last_name"], r["owner__username"]),
         "count": r["count"], "amount": cents(r["sum_amount"]), "unconverted": r["unconverted"],
         "url": _deal_list_url(scope, status=Deal.Status.WON, owner=r["owner_id"], sort="-close")}
        for r in leaders
    ]

    # New deals of the period by source (and how many of them are won by now).
    source_labels = dict(Lead.Source.choices)
    created = deals.filter(created_at__gte=start_at, created_at__lt=end_at)
    source_rows = (
        created.values("source").annotate(
            count=Count("pk"), sum_amount=Sum(amount), won=Count("pk", filter=won), unconverted=money.unconverted()
        )
        .order_by("-count", "source")
    )
    sources = [
        {"label": str(source_labels.get(r["source"], r["source"])) if r["source"] else _("No source"),
         "count": r["count"], "amount": cents(r["sum_amount"]), "won": r["won"], "unconverted": r["unconverted"]}
        for r in source_rows
    ]

    # Funnel: of the deals created in the period, the share that reached each stage (or a later
    # one) by its stage changes; a lost deal counts for the stages before it was lost.
    base = dict(created.values_list("pipeline_id").annotate(n=Count("pk")).order_by())
    funnel_stages = [stage for stage in stages if not stage.is_lost and stage.pipeline_id in base]
    # One query: each deal's furthest (non-lost) stage order, then the number of deals per pipeline
    # and furthest order; "reached stage N" = furthest order >= N. A deal's stage changes happen
    # after it was created (the day before the period bounds the index range scan).
    furthest = (
        StageChange.objects.filter(
            deal__in=created.values("pk"), to_stage__is_lost=False, changed_at__gte=start_at - DAY
        )
        .annotate(pipe=F("to_stage__pipeline_id"))
        .values("deal_id", "pipe")
        .annotate(furthest=Max("to_stage__order"))
        .order_by()
    )
    sql, params = furthest.query.sql_with_params()
    with connection.cursor() as cursor:
        # The inner SQL is the ORM's own, with its values as parameters: no user text in the string.
        cursor.execute(f"SELECT pipe, furthest, COUNT(*) FROM ({sql}) AS deals GROUP BY pipe, furthest", params)  # nosec B608
        furthest_counts = cursor.fetchall()
    reach = {}
    for stage in funnel_stages:
        reach[f"s{stage.pk}"] = sum(
            n for pipe, order, n in furthest_counts if pipe == stage.pipeline_id and order >= stage.order
        )
    funnel = []
    for stage in funnel_stages:
        reached = reach.get(f"s{stage.pk}") or 0
        funnel.append({"label": stage_label(stage), "reached": reached, "base": base[stage.pipeline_id],
                       "share": percent(reached, base[stage.pipeline_id])})

    # Time in stage: stays that ended in the period (the deal left the stage), averaged per stage.
    stay = ExpressionWrapper(F("left_at") - F("changed_at"), output_field=DurationField())
    stays = {
        r["to_stage_id"]: r
        for r in StageChange.objects.filter(deal__in=deals.values("pk"), left_at__gte=start_at, left_at__lt=end_at)
        .values("to_stage_id").annotate(stays=Count("pk"), average=Avg(stay)).order_by()
    }
    time_in_stage = [
        {"label": stage_label(stage), "stays": stays[stage.pk]["stays"], "days": days(stays[stage.pk]["average"])}
        for stage in stages if stage.pk in stays
    ]

    # Forecast against quota (sales' own forecast), for the reps the user may see.
    period, day = forecast_period(scope)
    data = sales_services.forecast(
        user_ids=forecast_user_ids(user=user, scope=scope), period=period, day=day, territory_id=scope.territory_id
    )
    last_day = data["end"] - DAY
    for rep in data["reps"]:
        rep_user = rep.pop("user")
        rep["user_id"] = rep_user.pk
        rep["label"] = _user_label(rep_user.first_name, rep_user.last_name, rep_user.username)
        rep["url"] = _deal_list_url(
            scope, status=Deal.Status.OPEN, owner=rep_user.pk, close_from=data["start"].isoformat(),
            close_to=last_day.isoformat(),
        )
    data["total"]["label"] = _("Total")
    data["last_day"] = last_day
    # Open deals and deals won in the period that the amounts leave out for lack of an exchange rate.
    notes = {
        "unconverted": stage_totals["unconverted"] + closed["won_unconverted"],
        "unconverted_url": _deal_list_url(scope, no_rate="on"),
    }
    return SalesDashboard(cards, stage_rows, stage_totals, data, funnel, time_in_stage, sources, leaderboard, notes)
