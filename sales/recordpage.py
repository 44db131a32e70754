"""Sales on the pages of people and organizations: a "New deal" button and an "Open deals" card."""

from django.urls import reverse

from crm.roles import has_role
from sales.models import Deal
from sales.views.common import SALES_WRITERS

PANEL_ROWS = 10


def new_deal_url(obj, user):
    if not has_role(user, *SALES_WRITERS):
        return None
    if obj._meta.model_name == "organization":
        return reverse("sales:deal_create") + f"?organization={obj.pk}"
    return reverse("sales:deal_create")


def deals_panel(request, obj):
    deals = Deal.objects.visible_to(request.user).open().select_related("stage").only(
        "id", "name", "amount", "currency", "stage__name"
    )
    if obj._meta.model_name == "organization":
        deals = deals.filter(organization=obj)
        list_url = reverse("sales:deal_list") + f"?organization={obj.pk}&status=open"
    else:
        deals = deals.filter(deal_contacts__person=obj)
        list_url = ""
    rows = list(deals.order_by("expected_close_date", "pk")[: PANEL_ROWS + 1])
    return {"deals": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS and bool(list_url), "list_url": list_url}
