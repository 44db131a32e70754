from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics.services.service import service_scope
from analytics.views import common
from crm.access import role_required
from crm.roles import Role

# Sales roles may read some tickets (those of their customers) but the service dashboard is about
# the work of the service teams: it is for service staff and admins only.
SERVICE_DASHBOARD_ROLES = (Role.ADMIN, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT)


@role_required(*SERVICE_DASHBOARD_ROLES)
def service_dashboard_view(request):
    form, scope = service_scope(request.GET)
    figures = common.load(request, "service", form)
    dashboard = figures.data
    title = _("Service")
    if common.wants_csv(request):
        return common.csv_long(title, scope.label, dashboard.csv_rows())
    days = [{**row, "label": row["day"].strftime("%d.%m.")} for row in dashboard.volume_by_day]
    charts = {
        "volume": common.chart(days, "count", _("Tickets created")),
        "categories": common.chart(dashboard.categories, "count", _("Tickets created")),
        "channels": common.chart(dashboard.channels, "count", _("Tickets created")),
        "sla": common.chart(dashboard.sla, "response_share", _("First response in time in %"), percent=True,
                            extra=("resolution_share", _("Resolution in time in %"))),
        "backlog": common.chart(dashboard.backlog, "count", _("Open tickets")),
        "agents": common.chart(dashboard.agents, "handled", _("Resolved tickets")),
        "satisfaction": common.chart(dashboard.satisfaction, "average", _("Average satisfaction")),
        "tags": common.chart(dashboard.tags, "count", _("Tickets created")),
        "complaints": common.chart(dashboard.complaints, "count", _("Complaints")),
    }
    return render(
        request, "analytics/service.html",
        common.context(request, title=title, form=form, snapshot=figures, scope=scope, dashboard=dashboard, charts=charts),
    )
