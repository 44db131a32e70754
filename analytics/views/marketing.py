from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics.services.marketing import marketing_scope
from analytics.views import common
from crm.access import role_required
from crm.roles import Role

MARKETING_DASHBOARD_ROLES = (Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER)


@role_required(*MARKETING_DASHBOARD_ROLES)
def marketing_dashboard_view(request):
    form, scope = marketing_scope(request.GET)
    figures = common.load(request, "marketing", form)
    dashboard = figures.data
    title = _("Marketing")
    if common.wants_csv(request):
        return common.csv_long(title, scope.label, dashboard.csv_rows())
    consent = dashboard.consent
    charts = {
        "funnel": common.chart(dashboard.funnel, "value", _("Campaign members and sales")),
        "channels": common.chart(dashboard.channels, "won_revenue", _("Won revenue"), extra=("cost", _("Cost"))),
        "consent": common.chart(consent, "granted", _("Granted"), extra=("withdrawn", _("Withdrawn"))),
        "unsubscribes": common.chart(consent, "unsubscribed", _("Unsubscribed by link")),
    }
    return render(
        request, "analytics/marketing.html",
        common.context(request, title=title, form=form, snapshot=figures, scope=scope, dashboard=dashboard, charts=charts),
    )
