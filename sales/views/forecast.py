"""Forecast against quota: reps see their own, managers their teams', admins everyone's."""

from datetime import date

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.lists import int_param
from crm.models import Team
from crm.roles import Role, has_role
from sales import services
from sales.models import Territory
from sales.views.common import SALES_WRITERS


def _month(raw: str) -> date:
    try:
        year, month = (int(part) for part in raw.split("-")[:2])
        return date(year, month, 1)
    except (ValueError, TypeError):
        return timezone.localdate().replace(day=1)


@role_required(*SALES_WRITERS)
def forecast(request):
    period = "quarter" if request.GET.get("period") == "quarter" else "month"
    day = _month(request.GET.get("month", ""))
    team_id = int_param(request, "team")
    territory_id = int_param(request, "territory")
    user_ids = services.forecast_user_ids(request.user, team_id=team_id)
    data = services.forecast(user_ids=user_ids, period=period, day=day, territory_id=territory_id or None)
    is_manager = has_role(request.user, Role.ADMIN, Role.SALES_MANAGER)
    teams = []
    if has_role(request.user, Role.ADMIN):
        teams = list(Team.objects.order_by("name"))
    elif is_manager:
        teams = list(Team.objects.filter(manager=request.user).order_by("name"))
    context = {
        "data": data,
        "period": period,
        "month_value": day.strftime("%Y-%m"),
        "teams": teams,
        "team_id": team_id,
        "territories": list(Territory.objects.filter(is_active=True)),
        "territory_id": territory_id,
        "is_manager": is_manager,
        "breadcrumbs": [crumb(_("Deals"), "sales:deal_list"), crumb(_("Forecast"))],
    }
    return render(request, "sales/forecast.html", context)
