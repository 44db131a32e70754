from django.shortcuts import render
from django.utils.translation import gettext as _

from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.roles import Role, has_role
from crm.settingspages import settings_crumb
from sales.models import Territory
from sales.views.common import SALES_WRITERS


@role_required(*SALES_WRITERS)
def territory_list(request):
    """Territories with their rules and reps; sales managers change their own team's, admins all."""
    territories = list(
        Territory.objects.select_related("manager", "last_assigned").prefetch_related("rules", "reps").order_by("priority", "name")
    )
    can_set_up = has_role(request.user, Role.ADMIN, Role.SALES_MANAGER)
    editable = set(Territory.objects.editable_by(request.user).values_list("pk", flat=True)) if can_set_up else set()
    first = settings_crumb() if can_set_up else crumb(_("Deals"), "sales:deal_list")
    return render(request, "sales/territory_list.html", {
        "territories": [(territory, territory.pk in editable) for territory in territories],
        "can_set_up": can_set_up, "breadcrumbs": [first, crumb(_("Territories"))],
    })
