"""The contacts pages measured by `manage.py benchmark` (see crm.benchmarks).

Each URL function picks a different row or query per request where that matters, so the
benchmark does not measure one cached page over and over.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Max, Min
from django.urls import reverse

from contacts.models import Organization, Person
from crm.benchmarks import Endpoint, register
from crm.roles import Role

DEEP_PAGE = 200
SUGGEST_QUERIES = ["müller", "schmi", "gmbh"]  # and, in turn, a random last name
PERSON_FILTERS = [
    {"lifecycle_stage": Person.Lifecycle.CUSTOMER, "sort": "name"},
    {"source": Person.Source.TRADE_FAIR, "sort": "-updated"},
    {"country": "DE", "lifecycle_stage": Person.Lifecycle.LEAD, "sort": "city"},
]


def random_row(model, rng, *fields):
    """The fields of a random row: an indexed lookup from a random id, not ORDER BY random()."""
    bounds = model.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return None
    start = rng.randint(bounds["low"], bounds["high"])
    return model.objects.filter(pk__gte=start).order_by("pk").values_list(*fields).first()


def _with_query(name: str, params: dict) -> str:
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def _search_query(rng) -> str:
    turn = rng.randrange(len(SUGGEST_QUERIES) + 1)
    if turn < len(SUGGEST_QUERIES):
        return SUGGEST_QUERIES[turn]
    row = random_row(Person, rng, "last_name")
    return row[0] if row else "meyer"


def _deep_page(user, rng) -> str:
    """Page 200 of the people list, or the last page of a smaller data set."""
    last_page = max(1, -(-Person.objects.count() // settings.CRM_LIST_PAGE_SIZE))
    return _with_query("contacts:person_list", {"page": min(DEEP_PAGE, last_page)})


def _detail(model, name: str):
    def url(user, rng) -> str:
        row = random_row(model, rng, "pk")
        return reverse(name, args=[row[0] if row else 0])

    return url


ENDPOINTS = [
    Endpoint("people_list", lambda user, rng: reverse("contacts:person_list"), role=Role.SALES_REP),
    Endpoint(
        "people_list_filtered_sorted",
        lambda user, rng: _with_query("contacts:person_list", rng.choice(PERSON_FILTERS)),
        role=Role.SALES_REP,
    ),
    Endpoint("people_list_deep_page", _deep_page, role=Role.SALES_REP),
    Endpoint("organization_list", lambda user, rng: reverse("contacts:organization_list"), role=Role.SALES_MANAGER),
    Endpoint(
        "search_suggest",
        lambda user, rng: _with_query("search_suggest", {"q": _search_query(rng)}),
        role=Role.SALES_REP,
    ),
    Endpoint(
        "search_page", lambda user, rng: _with_query("search", {"q": _search_query(rng)}), role=Role.SUPPORT_AGENT
    ),
    Endpoint("person_detail", _detail(Person, "contacts:person_detail"), role=Role.SALES_REP),
    Endpoint("organization_detail", _detail(Organization, "contacts:organization_detail"), role=Role.SALES_REP),
]

for endpoint in ENDPOINTS:
    register(endpoint)
