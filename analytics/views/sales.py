from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics.services.sales import sales_scope
from analytics.views import common
from crm.access import role_required
from crm.roles import Role

SALES_DASHBOARD_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)


@role_required(*SALES_DASHBOARD_ROLES)
def sales_dashboard_view(request):
    form, scope = sales_scope(request.GET)
    figures = common.load(request, "sales", form)
    dashboard = figures.data
    title = _("Sales")
    if common.wants_csv(request):
        return common.csv_long(title, scope.label, dashboard.csv_rows())
    reps = dashboard.forecast["reps"]
    charts = {
        "stages": common.chart(dashboard.stages, "amount", _("Amount of open deals")),
        "forecast": common.chart(reps, "closed_won", _("Closed won"), extra=("quota", _("Quota"))),
        "funnel": common.chart(dashboard.funnel, "share", _("Share of new deals in %"), percent=True),
        "time_in_stage": common.chart(dashboard.time_in_stage, "days", _("Days on average")),
        "sources": common.chart(dashboard.sources, "count", _("New deals")),
        "leaderboard": common.chart(dashboard.leaderboard, "amount", _("Won amount")),
    }
    return render(
        request, "analytics/sales.html",
        common.context(request, title=title, form=form, snapshot=figures, scope=scope, dashboard=dashboard, charts=charts),
    )
