"""The pipeline board: one column per stage, cards dragged between columns (SortableJS + htmx)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.lists import int_param
from crm.money import format_money
from crm.roles import has_role
from sales import money, services
from sales.filters import BoardFilter
from sales.models import Deal, Pipeline, Stage
from sales.views.common import SALES_WRITERS

CARDS_PER_COLUMN = 150
# Won and lost columns are for reference: their newest few.
CLOSED_CARDS_PER_COLUMN = 25
# The won and lost columns show what closed recently, not every deal ever closed.
CLOSED_COLUMN_DAYS = 30


def column_totals(queryset) -> dict:
    """Count and sum per stage: open deals, and deals closed in the last CLOSED_COLUMN_DAYS. The
    sum is in the company currency (sales.money: each deal at the rate of its close date);
    `unconverted` counts the deals left out for lack of a rate. Two queries that each read only
    deal_board_totals_idx (an OR of both would read the table)."""
    cutoff = timezone.now() - timezone.timedelta(days=CLOSED_COLUMN_DAYS)
    parts = [
        queryset.filter(status=Deal.Status.OPEN),
        queryset.filter(status__in=[Deal.Status.WON, Deal.Status.LOST], closed_at__gte=cutoff),
    ]
    totals = {}
    for part in parts:
        rows = part.values("stage_id").annotate(
            count=Count("stage_id"), total=Sum(money.converted()), unconverted=money.unconverted()
        )
        for row in rows.order_by():
            totals[row["stage_id"]] = row
    return totals


def _column_stats(totals: dict, stage_id: int) -> dict:
    stats = totals.get(stage_id, {})
    return {
        "stage_id": stage_id, "count": stats.get("count", 0), "unconverted": stats.get("unconverted", 0),
        "total_label": format_money(stats.get("total") or 0, whole=True),
    }


def _pipeline(request):
    pipelines = list(Pipeline.objects.filter(is_active=True).order_by("position", "name"))
    chosen = int_param(request, "pipeline")
    pipeline = next((p for p in pipelines if p.pk == chosen), pipelines[0] if pipelines else None)
    return pipelines, pipeline


@role_required()
def board(request):
    """Open deals by stage, with column totals; won and lost columns show the last closed ones."""
    pipelines, pipeline = _pipeline(request)
    filterset = BoardFilter.for_board(request, Deal.objects.visible_to(request.user))
    columns = []
    if pipeline is not None:
        stages = list(pipeline.stages.order_by("order", "pk"))
        totals = column_totals(filterset.qs.filter(pipeline=pipeline))
        now = timezone.now()
        cutoff = timezone.now() - timezone.timedelta(days=CLOSED_COLUMN_DAYS)
        detail_url = reverse("sales:deal_detail", args=[0])
        base = filterset.qs.filter(pipeline=pipeline)
        for stage in stages:
            if stage.is_closed:
                column = base.filter(stage=stage, status__in=[Deal.Status.WON, Deal.Status.LOST], closed_at__gte=cutoff)
                order = ("-closed_at", "-pk")
            else:
                column = base.filter(stage=stage, status=Deal.Status.OPEN)
                order = ("-amount", "-pk")
            limit = CLOSED_CARDS_PER_COLUMN if stage.is_closed else CARDS_PER_COLUMN
            cards = list(column.with_board_fields().order_by(*order)[:limit])
            for card in cards:
                card.stale = card.is_open and card.last_activity_at < now - timezone.timedelta(days=pipeline.stale_after_days)
                # Labels made here: per-card template filters cost milliseconds on a full board.
                card.url = detail_url.replace("/0/", f"/{card.pk}/")
                card.amount_label = format_money(card.amount, card.currency, whole=True)
                card.close_label = card.expected_close_date.strftime("%d.%m.%Y") if card.expected_close_date else ""
                card.owner_label = (card.owner.get_full_name() or card.owner.username) if card.owner else ""
                card.days = max(0, (now - card.stage_entered_at).days)
            columns.append({"stage": stage, "cards": cards, "limit": limit, **_column_stats(totals, stage.pk)})
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "columns": columns,
        "filterset": filterset,
        "can_move": has_role(request.user, *SALES_WRITERS),
        "cards_per_column": CARDS_PER_COLUMN,
        "days_title": _("Days in stage"),
        "days_unit": _("days"),
        "stale_label": _("stale"),
        "move_label": _("Move"),
        "unconverted": sum(column["unconverted"] for column in columns),
        "unconverted_url": reverse("sales:deal_list") + f"?no_rate=on&pipeline={pipeline.pk}" if pipeline else "",
        "breadcrumbs": [crumb(_("Deals"), "sales:deal_list"), crumb(_("Board"))],
    }
    return render(request, "sales/board.html", context)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_move(request, pk: int):
    """Move a card; 200 with the new column totals (out-of-band), 409 with the reason it was refused."""
    deal = get_visible_or_404(Deal, request.user, pk=pk)
    stage_id = request.POST.get("stage", "")
    if not stage_id.isdigit() or len(stage_id) > 18:
        return render(request, "sales/partials/board_message.html", {"error": _("Unknown stage.")}, status=409)
    stage = get_object_or_404(Stage, pk=int(stage_id))
    old_stage_id = deal.stage_id
    try:
        deal = services.deal_move(deal=deal, stage=stage, user=request.user)
    except PermissionDenied:
        return render(
            request, "sales/partials/board_message.html", {"error": _("You may not move this deal: it belongs to someone else.")}, status=409
        )
    except ValidationError as exc:
        return render(request, "sales/partials/board_message.html", {"error": " ".join(exc.messages)}, status=409)
    filterset = BoardFilter.for_board(request, Deal.objects.visible_to(request.user))
    totals = column_totals(filterset.qs.filter(pipeline_id=deal.pipeline_id, stage_id__in=[old_stage_id, stage.pk]))
    changed = [_column_stats(totals, sid) for sid in {old_stage_id, stage.pk}]
    return render(
        request,
        "sales/partials/board_message.html",
        {"success": _("“%(deal)s” moved to %(stage)s.") % {"deal": deal.name, "stage": stage.name}, "changed": changed},
    )
