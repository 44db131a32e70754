"""The contacts pages measured by `manage.py benchmark` (see crm.benchmarks).

Each URL function picks a different row or query per request where that matters, so the
benchmark does not measure one cached page over and over.
"""

import json
import time
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Max, Min
from django.test import Client
from django.urls import reverse

from contacts.models import Organization, Person
from crm.api.tokens import token_create
from crm.benchmarks import Endpoint, Throughput, register, register_throughput
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
    # The API: a sync client's page of 100 people (session-authenticated here, the same queries), as
    # a role that may export (the others have a read budget, crm.api.throttling.ReadBudget).
    Endpoint("api_people_list_100", lambda user, rng: "/api/v1/people/?limit=100", role=Role.SALES_MANAGER),
]

BATCH_SIZE = 1000
CITIES = ["Kiel", "Bonn", "Ulm", "Jena", "Gera", "Hof"]


def _api_client(user) -> tuple[Client, dict]:
    secret = token_create(user=user, name="benchmark", scope="read_write").secret
    return Client(raise_request_exception=True), {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _batch_upsert(user, rng) -> list[tuple[int, float]]:
    """A sync of 1,000 people as a shop sends it: first all new (created, each checked for a
    duplicate email and similar names), then the same 1,000 again with half of them changed
    (matched by external id: updated or unchanged)."""
    client, headers = _api_client(user)
    run = rng.randrange(10**9)
    records = [
        {"external_source": "benchmark", "external_id": f"{run}-{n}", "first_name": f"Bench{n}",
         "last_name": f"Sync{run}x{n}", "email": f"sync{run}.{n}@example.org", "city": rng.choice(CITIES)}
        for n in range(BATCH_SIZE)
    ]
    again = [{**record, "city": record["city"] + " Nord"} if n % 2 else record for n, record in enumerate(records)]
    calls = []
    for batch, expected in ((records, "created"), (again, None)):
        body = json.dumps({"records": batch})
        start = time.perf_counter()
        response = client.post("/api/v1/people/batch/", data=body, content_type="application/json", secure=True, **headers)
        calls.append((len(batch), time.perf_counter() - start))
        failed = response.json().get("failed") if response.status_code == 200 else None
        if response.status_code != 200 or failed or expected and response.json()["created"] != len(batch):
            raise RuntimeError(f"batch upsert: {response.status_code} {response.content[:500]!r}")
    return calls


def _change_feed(user, rng) -> list[tuple[int, float]]:
    """Pages of 1,000 entries of the change feed from the start, as a new mirror reads it (at
    most 20 pages). A seeded data set has no feed (seeding writes none): one entry per person
    is added first, not measured, and rolled back with the rest."""
    from crm import changefeed
    from crm.models import ChangeEvent

    missing = 20 * 1000 - ChangeEvent.objects.count()
    if missing > 0:
        changefeed.record_created(Person, list(Person.objects.order_by("pk").values_list("pk", flat=True)[:missing]))
    client, headers = _api_client(user)
    calls, since = [], 0
    for _ in range(20):
        start = time.perf_counter()
        response = client.get(f"/api/v1/changes/?since={since}&limit=1000", secure=True, **headers)
        seconds = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"change feed: {response.status_code} {response.content[:500]!r}")
        page = response.json()
        calls.append((len(page["results"]), seconds))
        since = page["since"]
        if not page["more"]:
            break
    return calls

EVENT_WRITES = 500


def _event_write(user, rng) -> list[tuple[int, float]]:
    """What reporting a change adds to the request that makes it: the change feed's entry and,
    with an endpoint subscribed, the webhook event with the person as the API shows it (its
    employments and tags read from the database) and its delivery row, for 500 random people.
    Records per second here: 500/s is 2 ms per change."""
    from django.test.utils import override_settings

    from crm import changefeed, webhooks
    from crm.models import WebhookEndpoint

    with override_settings(CRM_WEBHOOK_ALLOW_LOOPBACK=True):
        webhooks.endpoint_save(WebhookEndpoint(url="http://127.0.0.1:9/benchmark", event_types=["person.updated"]), user=user)
    people = []
    while len(people) < EVENT_WRITES:
        row = random_row(Person, rng, "pk")
        if row is None:
            break
        people.append(Person.objects.get(pk=row[0]))  # as a request holds it after its save
    calls = []
    for person in people:
        start = time.perf_counter()
        changefeed.record_saved(person, created=False)
        calls.append((1, time.perf_counter() - start))
    return calls


for endpoint in ENDPOINTS:
    register(endpoint)
register_throughput(Throughput("api_batch_upsert_people", _batch_upsert, role=Role.ADMIN))
register_throughput(Throughput("api_change_feed", _change_feed, role=Role.SALES_REP))
register_throughput(Throughput("api_event_write", _event_write, role=Role.ADMIN))


MAILBOX_MESSAGES = 1000


def _mailbox_sync(user, rng) -> list[tuple[int, float]]:
    """A mailbox of 1,000 messages (INBOX and Sent; 4 in 5 with a known person, every tenth with
    an attachment, every tenth HTML only) in a private Dovecot on 127.0.0.1, synced onto the
    timelines from the start: messages seen per second, from logging in to the last commit.
    Needs Debian's dovecot-imapd (as the tests do)."""
    import tempfile

    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from contacts.mailboxes import sync
    from contacts.models import Activity
    from contacts.tests.mail import benchmark_messages
    from crm.tests import dovecot

    if not dovecot.available():
        raise RuntimeError("the mailbox sync benchmark needs Dovecot (apt-get install dovecot-imapd)")
    address, password = "benchmark@crm.test", "Benchmark-Passwört"
    server = dovecot.start(users={address: password})
    try:
        run = rng.randrange(10**9)
        people = Person.objects.bulk_create([
            Person(first_name=f"Mail{n}", last_name=f"Bench{run}", email=f"mail{run}.{n}@kunde.example") for n in range(200)
        ])
        messages = benchmark_messages(MAILBOX_MESSAGES, known=[p.email for p in people], own=address, rng=rng)
        for folder in ("INBOX", "Gesendet"):
            server.append(address, folder, *[raw for f, raw in messages if f == folder])
        owner = get_user_model().objects.create(username=f"mailbox-benchmark-{run}", email=address)
        with tempfile.TemporaryDirectory() as media, override_settings(
            CRM_MAILBOX_SSL_CAFILE=str(server.certificate.cert), MEDIA_ROOT=media,
        ):
            connection = sync.mailbox_connect(user=owner, host=server.host, port=server.port, security="tls",
                                              username=address, password=password)
            start = time.perf_counter()
            report = sync.mailbox_sync(connection=connection)
            seconds = time.perf_counter() - start
        if report is None or report.error or report.seen != MAILBOX_MESSAGES:
            raise RuntimeError(f"mailbox sync: {report}")
        stored = Activity.objects.filter(synced_email__connection=connection).values("synced_email").distinct().count()
        if stored != report.stored:
            raise RuntimeError(f"mailbox sync stored {report.stored} but {stored} are on the timelines")
        return [(report.seen, seconds)]
    finally:
        server.stop()


register_throughput(Throughput("mailbox_sync", _mailbox_sync, role=Role.SALES_REP))
