"""What every dashboard view shares: its figures from a snapshot (analytics.snapshots), the
context of the page frame (filters, freshness, CSV link, breadcrumbs) and the CSV export."""

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

from analytics import snapshots
from analytics.scope import Period
from crm.breadcrumbs import crumb
from crm.downloads import csv_response


def load(request, name: str, form) -> snapshots.Figures:
    """The figures of dashboard `name` for the request's user and filter; `?refresh=1` recomputes."""
    params = snapshots.normalised(request.GET, form.fields)
    return snapshots.figures(name, request.user, params, fresh=request.GET.get("refresh") == "1")


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def csv_long(title: str, scope_label: str, rows) -> StreamingHttpResponse:
    """One number per line: (figure, item, measure, value) and the filter it was computed for."""
    header = [_("Figure"), _("Item"), _("Measure"), _("Value"), _("Scope")]
    lines = ([figure, item, measure, "" if value is None else value, scope_label] for figure, item, measure, value in rows)
    return csv_response(title, header, lines)


def chart(rows, key: str, label: str, *, percent: bool = False, extra: tuple[str, str] | None = None) -> dict:
    """Chart.js data for static/js/dashboard.js: one series of `key` over the rows' labels, and
    with `extra` (key, label) a second one. `empty` when no series has a figure other than 0:
    the page says so instead of drawing an empty grid (analytics/partials/chart.html)."""
    data = {
        "labels": [str(r["label"]) for r in rows],
        "values": _series(rows, key),
        "label": str(label),
        "percent": percent,
    }
    series = [data["values"]]
    if extra is not None:
        data["extra"] = {"values": _series(rows, extra[0]), "label": str(extra[1])}
        series.append(data["extra"]["values"])
    data["empty"] = not any(value for values in series for value in values)
    return data


def _series(rows, key: str) -> list:
    return [None if r[key] is None else float(r[key]) for r in rows]


def _longer_period(request, scope) -> dict | None:
    """The link a chart without figures offers: the same dashboard over a longer period."""
    longer = Period.LONGER.get(getattr(scope, "period", ""))
    if longer is None:
        return None
    query = request.GET.copy()
    for name in ("refresh", "format"):
        query.pop(name, None)
    query["period"] = longer
    return {"label": dict(Period.CHOICES)[longer], "url": f"?{query.urlencode()}"}


def context(request, *, title: str, form, snapshot: snapshots.Figures, **extra) -> dict:
    csv_query = request.GET.copy()
    csv_query.pop("refresh", None)
    csv_query["format"] = "csv"
    refresh_query = request.GET.copy()
    refresh_query.pop("format", None)
    refresh_query["refresh"] = "1"
    return {
        "form": form,
        "longer_period": _longer_period(request, extra.get("scope")),
        "computed_at": snapshot.computed_at,
        "computed_live": snapshot.live,
        "recomputing": snapshot.refreshing,
        "refresh_minutes": settings.ANALYTICS_SNAPSHOT_REFRESH // 60,
        "refresh_url": f"?{refresh_query.urlencode()}",
        "csv_url": f"?{csv_query.urlencode()}",
        "breadcrumbs": [crumb(_("Analytics")), crumb(title)],
        **extra,
    }
