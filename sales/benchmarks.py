"""The sales pages measured by `manage.py benchmark`: the board and the deal list."""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from crm.benchmarks import Endpoint, register
from crm.roles import Role
from sales.models import Deal

DEAL_FILTERS = [
    {"status": "open", "sort": "-amount"},
    {"status": "won", "sort": "-close"},
    {"stale": "on"},
    {"sort": "name"},
]


def _deep_page(user, rng) -> str:
    """Page 200 of the deal list, or the last page of a smaller data set."""
    last_page = max(1, -(-Deal.objects.count() // settings.CRM_LIST_PAGE_SIZE))
    return f"{reverse('sales:deal_list')}?page={min(200, last_page)}"


def _deal_list_filtered(user, rng) -> str:
    return f"{reverse('sales:deal_list')}?{urlencode(rng.choice(DEAL_FILTERS))}"


ENDPOINTS = [
    Endpoint("sales_board", lambda user, rng: reverse("sales:board"), role=Role.SALES_MANAGER),
    Endpoint("sales_board_admin", lambda user, rng: reverse("sales:board"), role=Role.ADMIN),
    Endpoint("deal_list", lambda user, rng: reverse("sales:deal_list"), role=Role.SALES_REP),
    Endpoint("deal_list_filtered_sorted", _deal_list_filtered, role=Role.SALES_MANAGER),
    Endpoint("deal_list_deep_page", _deep_page, role=Role.ADMIN),
]

for endpoint in ENDPOINTS:
    register(endpoint)
