"""Pieces shared by the sales pages."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from crm.breadcrumbs import crumb
from crm.history import history_rows
from crm.lists import int_param
from crm.roles import Role

# Who works in sales: creates and changes deals and leads.
SALES_WRITERS = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)


def render_history(request, record, trail: list):
    offset = int_param(request, "offset")
    rows, has_more = history_rows(record, offset=offset)
    return render(
        request,
        "sales/history.html",
        {
            "object": record,
            "rows": rows,
            "has_more": has_more,
            "next_offset": offset + len(rows),
            "breadcrumbs": [*trail, crumb(str(record), url=record.get_absolute_url()), crumb(_("History"))],
        },
    )
