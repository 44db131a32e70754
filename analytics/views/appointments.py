from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics.services.appointments import appointments_scope
from analytics.views import common
from crm.access import role_required
from crm.roles import Role

APPOINTMENTS_DASHBOARD_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT)


@role_required(*APPOINTMENTS_DASHBOARD_ROLES)
def appointments_dashboard_view(request):
    form, scope = appointments_scope(request.GET)
    # The owner of an appointment is its host (the bound field keeps the label it was validated with).
    form.fields["owner"].label = form["owner"].label = _("Host")
    figures = common.load(request, "appointments", form)
    dashboard = figures.data
    title = _("Appointments")
    if common.wants_csv(request):
        return common.csv_long(title, scope.label, dashboard.csv_rows())
    weeks = dashboard.weeks
    charts = {
        "weeks": common.chart(weeks, "scheduled", _("Scheduled"), extra=("booked", _("Booked"))),
        "types": common.chart(dashboard.types, "scheduled", _("Scheduled in the period")),
        "hosts": common.chart(dashboard.hosts, "scheduled", _("Scheduled in the period")),
    }
    return render(
        request, "analytics/appointments.html",
        common.context(request, title=title, form=form, snapshot=figures, scope=scope, dashboard=dashboard, charts=charts),
    )
