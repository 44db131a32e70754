from django.shortcuts import render
from django.utils.translation import gettext as _

from crm.access import role_required
from crm.breadcrumbs import crumb
from sales.models import Territory
from sales.views.common import SALES_WRITERS


@role_required(*SALES_WRITERS)
def territory_list(request):
    """Territories with their rules and reps (admins change them in the admin)."""
    territories = list(
        Territory.objects.select_related("manager", "last_assigned").prefetch_related("rules", "reps").order_by("priority", "name")
    )
    return render(
        request,
        "sales/territory_list.html",
        {"territories": territories, "breadcrumbs": [crumb(_("Deals"), "sales:deal_list"), crumb(_("Territories"))]},
    )
