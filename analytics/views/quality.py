from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics.services.quality import quality_scope
from analytics.views import common
from crm.access import role_required


@role_required()
def data_quality_dashboard(request):
    form, scope = quality_scope(request.GET)
    figures = common.load(request, "data_quality", form)
    items = figures.data
    title = _("Data quality")
    if common.wants_csv(request):
        header = [_("Figure"), _("Count"), _("Out of"), _("Share in %"), _("Scope")]
        label = scope.label or _("All records")
        rows = ([f.label, f.value, "" if f.total is None else f.total, "" if f.share is None else f.share, label] for f in items)
        return common.csv_response(title, header, rows)
    chart = {
        "labels": [str(f.label) for f in items if f.share is not None],
        "values": [f.share for f in items if f.share is not None],
        "label": _("Share of records in %"),
        "percent": True,
    }
    return render(
        request, "analytics/data_quality.html",
        common.context(request, title=title, form=form, snapshot=figures, scope=scope, chart=chart, figures=items),
    )
