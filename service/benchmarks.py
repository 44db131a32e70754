"""The service pages measured by `manage.py benchmark`: the queues, filtered, sorted and deep."""

from urllib.parse import urlencode

from django.urls import reverse

from crm.benchmarks import Endpoint, register
from crm.roles import Role

DEEP_PAGE = 50


def _queue(params: dict):
    def url(user, rng) -> str:
        return f"{reverse('service:ticket_list')}?{urlencode(params)}"

    return url


def _deep_page(user, rng) -> str:
    """Page 50 of the agent's team queue, or its last page on a smaller data set."""
    from django.conf import settings

    from service.models import Ticket, service_team_ids

    count = Ticket.objects.open().filter(team_id__in=service_team_ids(user)).count()
    last_page = max(1, -(-count // settings.CRM_LIST_PAGE_SIZE))
    return f"{reverse('service:ticket_list')}?{urlencode({'scope': 'team', 'page': min(DEEP_PAGE, last_page)})}"


def _ticket(user, rng) -> str:
    from django.db.models import Max, Min

    from service.models import Ticket

    bounds = Ticket.objects.aggregate(low=Min("pk"), high=Max("pk"))
    start = rng.randint(bounds["low"] or 0, bounds["high"] or 0)
    pk = Ticket.objects.filter(pk__gte=start).order_by("pk").values_list("pk", flat=True).first() or 0
    return reverse("service:ticket_detail", args=[pk])


ENDPOINTS = [
    Endpoint("ticket_queue_mine", _queue({"scope": "mine"}), role=Role.SUPPORT_AGENT),
    Endpoint("ticket_queue_team", _queue({"scope": "team"}), role=Role.SUPPORT_AGENT),
    Endpoint("ticket_queue_all_filtered", _queue({"scope": "all", "priority": "high", "sort": "-updated"}), role=Role.SUPPORT_LEAD),
    Endpoint("ticket_queue_deep_page", _deep_page, role=Role.SUPPORT_AGENT),
    Endpoint("ticket_detail", _ticket, role=Role.ADMIN),
]
for endpoint in ENDPOINTS:
    register(endpoint)
