"""Dashboards: each view reads figures from analytics.services for the user's scope and renders
them as cards, a chart with the same numbers as a table, and a CSV export."""

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from analytics.scope import scope_from
from analytics.services.quality import data_quality
from analytics.services.sales import sales_dashboard
from contacts.services.exporting import csv_lines
from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.roles import Role
from sales.models import Territory

SALES_DASHBOARD_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)


def _csv(title: str, scope_label: str, figures) -> StreamingHttpResponse:
    header = [_("Figure"), _("Count"), _("Out of"), _("Share in %"), _("Scope")]
    rows = ([f.label, f.value, "" if f.total is None else f.total, "" if f.share is None else f.share, scope_label]
            for f in figures)
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(title)}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


@role_required()
def data_quality_dashboard(request):
    form, scope = scope_from(request, with_period=False)
    figures = data_quality(user=request.user, scope=scope)
    title = _("Data quality")
    if request.GET.get("format") == "csv":
        return _csv(title, scope.label or _("All records"), figures)
    chart = {
        "labels": [str(f.label) for f in figures if f.share is not None],
        "values": [f.share for f in figures if f.share is not None],
        "label": _("Share of records in %"),
        "percent": True,
    }
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "analytics/data_quality.html",
        {
            "form": form,
            "figures": figures,
            "chart": chart,
            "scope": scope,
            "computed_at": timezone.now(),
            "csv_url": f"?{csv_query.urlencode()}",
            "breadcrumbs": [crumb(_("Analytics")), crumb(title)],
        },
    )


def _csv_long(title: str, scope_label: str, rows) -> StreamingHttpResponse:
    header = [_("Figure"), _("Item"), _("Measure"), _("Value"), _("Scope")]
    lines = ([figure, item, measure, "" if value is None else value, scope_label] for figure, item, measure, value in rows)
    response = StreamingHttpResponse(csv_lines(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(title)}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


def _chart(rows, key: str, label: str) -> dict:
    return {"labels": [str(r["label"]) for r in rows], "values": [r[key] for r in rows], "label": str(label)}


@role_required(*SALES_DASHBOARD_ROLES)
def sales_dashboard_view(request):
    form, scope = scope_from(request, territories=Territory.objects.filter(is_active=True).order_by("priority", "name"))
    dashboard = sales_dashboard(user=request.user, scope=scope)
    title = _("Sales")
    if request.GET.get("format") == "csv":
        return _csv_long(title, scope.label, dashboard.csv_rows())
    charts = {
        "stages": _chart(dashboard.stages, "amount", _("Amount of open deals")),
        "forecast": {
            "labels": [r["label"] for r in dashboard.forecast["reps"]],
            "values": [float(r["closed_won"]) for r in dashboard.forecast["reps"]],
            "label": _("Closed won"),
            "extra": {"values": [float(r["quota"]) if r["quota"] is not None else None for r in dashboard.forecast["reps"]],
                      "label": _("Quota")},
        },
        "funnel": _chart(dashboard.funnel, "share", _("Share of new deals in %")),
        "time_in_stage": _chart(dashboard.time_in_stage, "days", _("Days on average")),
        "sources": _chart(dashboard.sources, "count", _("New deals")),
        "leaderboard": _chart(dashboard.leaderboard, "amount", _("Won amount")),
    }
    charts["funnel"]["percent"] = True
    for chart in charts.values():
        chart["values"] = [float(v) if v is not None else None for v in chart["values"]]
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "analytics/sales.html",
        {
            "form": form,
            "dashboard": dashboard,
            "charts": charts,
            "scope": scope,
            "computed_at": timezone.now(),
            "csv_url": f"?{csv_query.urlencode()}",
            "breadcrumbs": [crumb(_("Analytics")), crumb(title)],
        },
    )
