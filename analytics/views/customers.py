from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analytics.services.customers import LIST_KEYS, customers_scope, list_label, list_organization_ids
from analytics.views import common
from crm.access import role_required
from crm.roles import Role
from marketing import services as marketing_services
from marketing.models import can_edit_marketing
from marketing.segments import MAX_ORGANIZATION_IDS

CUSTOMERS_DASHBOARD_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING)


@role_required(*CUSTOMERS_DASHBOARD_ROLES)
def customers_dashboard_view(request):
    form, scope = customers_scope(request.GET)
    figures = common.load(request, "customers", form)
    dashboard = figures.data
    title = _("Customers")
    if common.wants_csv(request):
        return common.csv_long(title, scope.label, dashboard.csv_rows())
    charts = {
        "top": common.chart(dashboard.top_customers[:10], "revenue", _("Revenue in the period")),
        "rfm": common.chart(dashboard.rfm, "count", _("Customers")),
        "tiers": common.chart(dashboard.tiers, "count", _("Customers")),
        "lifetime": common.chart(dashboard.top_lifetime, "lifetime", _("Lifetime revenue")),
    }
    filter_fields = [(name, request.GET.get(name, "")) for name in form.fields if request.GET.get(name)]
    return render(
        request, "analytics/customers.html",
        common.context(
            request, title=title, form=form, snapshot=figures, scope=scope, dashboard=dashboard, charts=charts,
            can_make_segments=can_edit_marketing(request.user), filter_fields=filter_fields,
        ),
    )


@require_POST
@role_required(*CUSTOMERS_DASHBOARD_ROLES)
def customers_segment_create(request):
    """Make a marketing segment of the people at the organizations of one list of the dashboard
    (computed again now, with the filter of the page), then open it."""
    if not can_edit_marketing(request.user):
        raise PermissionDenied
    key = request.POST.get("list", "")
    if key not in LIST_KEYS:
        raise Http404
    form, scope = customers_scope(request.POST)
    ids = list_organization_ids(key, user=request.user, scope=scope, limit=MAX_ORGANIZATION_IDS)
    name = f"{list_label(key)} – {scope.label}" if scope.label else list_label(key)
    segment = marketing_services.segment_create_for_organizations(
        name=name, organization_ids=ids, owner=request.user,
        description=_("Made from the customers dashboard; the organizations of the list as it was then."),
    )
    messages.success(request, _("Segment “%(name)s” was made from %(count)s organizations.") % {"name": segment.name, "count": len(ids)})
    return HttpResponseRedirect(segment.get_absolute_url())
