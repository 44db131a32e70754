"""A client mirrors all people through the change feed while another client changes them at the
same time; after a final catch-up the mirror equals the database.

Both talk to a live server over HTTP (pytest-django's live_server, on 127.0.0.1): the mirror
pages through /api/v1/changes/ with the cursor and reads each created or updated person; the
writer, in a thread of its own, creates, updates and deletes people through the API and merges,
erases and tags them through the services and the ORM (as the pages do). Postgres, because the
server thread, the writer thread and the test share the database."""

import os
import random
import threading
import time

import pytest
import requests
from django.db import connection

from contacts.models import Person, Tag
from contacts.services.duplicates import person_merge
from crm import privacy
from crm.models import PrivacyRequest
from crm.tests.api_client import token_for

pytestmark = [
    pytest.mark.services, pytest.mark.real_clock, pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OPERATIONS = 80  # bounded: the writer stops after this many changes or WRITER_SECONDS
WRITER_SECONDS = 60
MIRROR_PAGE = 25  # small pages, so the mirror really pages with the cursor
FIELDS = ("first_name", "last_name", "email", "city", "tags")


def _fields(data: dict) -> dict:
    return {name: sorted(data[name]) if name == "tags" else data[name] for name in FIELDS}


class Mirror:
    """What a syncing system keeps: people by id, from the feed alone."""

    def __init__(self, base: str, token: str):
        self.base, self.people, self.since, self.pages = base, {}, 0, 0
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str) -> requests.Response:
        for _ in range(5):
            response = self.session.get(f"{self.base}{path}", timeout=30)
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    def catch_up(self) -> bool:
        """One page of the feed applied; whether more is waiting."""
        response = self.get(f"/api/v1/changes/?since={self.since}&limit={MIRROR_PAGE}&kind=person")
        assert response.status_code == 200, response.text
        page = response.json()
        for entry in page["results"]:
            pk = entry["object_id"]
            if entry["action"] in ("created", "updated"):
                record = self.get(f"/api/v1/people/{pk}/")
                if record.status_code == 200:
                    self.people[pk] = _fields(record.json())
                else:  # gone since: its deletion or merge follows in the feed
                    assert record.status_code == 404, record.text
                    self.people.pop(pk, None)
            else:  # deleted (an erasure too: reason "erased") or merged into entry["survivor_id"]
                self.people.pop(pk, None)
        self.since, self.pages = page["since"], self.pages + 1
        return page["more"]


class Writer(threading.Thread):
    """Creates, updates, tags, merges, erases and deletes people, at random, as another client."""

    def __init__(self, base: str, token: str, admin, seed: int):
        super().__init__(daemon=True)
        self.base, self.admin, self.rng = base, admin, random.Random(seed)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.alive: list[int] = []
        self.done = {"create": 0, "update": 0, "tag": 0, "merge": 0, "erase": 0, "delete": 0}
        self.error: BaseException | None = None

    def call(self, method: str, path: str, body=None) -> requests.Response:
        response = self.session.request(method, f"{self.base}{path}", json=body, timeout=30)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response

    def run(self):
        try:
            deadline = time.monotonic() + WRITER_SECONDS
            tags = [Tag.objects.create(name=f"Sync {n}") for n in range(3)]
            for number in range(OPERATIONS):
                if time.monotonic() > deadline:
                    break
                self.step(number, tags)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            connection.close()  # this thread's own connection

    def step(self, number: int, tags) -> None:
        rng = self.rng
        operation = "create" if len(self.alive) < 4 else rng.choice(
            ["create", "create", "update", "update", "tag", "merge", "erase", "delete"])
        if operation == "create":
            body = {"first_name": f"Vor{number}", "last_name": f"Sync{number}x{rng.randrange(10**6)}",
                    "email": f"sync{number}@example.org", "city": rng.choice(["Kiel", "Ulm"]), "confirm_new": True}
            self.alive.append(self.call("post", "/api/v1/people/", body).json()["id"])
        elif operation == "update":
            self.call("patch", f"/api/v1/people/{rng.choice(self.alive)}/", {"city": f"Stadt {number}"})
        elif operation == "tag":  # a many-to-many change outside a save of the person
            Person.objects.get(pk=rng.choice(self.alive)).tags.add(rng.choice(tags))
        elif operation == "merge":
            survivor, other = rng.sample(self.alive, 2)
            person_merge(survivor=Person.objects.get(pk=survivor), other=Person.objects.get(pk=other), user=self.admin)
            self.alive.remove(other)
        elif operation == "erase":
            pk = self.alive.pop(rng.randrange(len(self.alive)))
            privacy.erase_person(Person.objects.get(pk=pk), by=self.admin)
        else:
            pk = self.alive.pop(rng.randrange(len(self.alive)))
            self.call("delete", f"/api/v1/people/{pk}/")
        self.done[operation] += 1


def _require_postgres():
    if connection.vendor != "postgresql":
        message = "the sync test needs Postgres (a live server and a writer thread share the database)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


def test_a_mirror_through_the_change_feed_equals_the_database(live_server, admin_user):
    _require_postgres()
    for n in range(5):  # some people before the mirror starts: it begins at the start of the feed
        Person.objects.create(first_name="Alt", last_name=f"Bestand{n}", city="Bonn")
    mirror = Mirror(live_server.url, token_for(admin_user, scope="read"))
    writer = Writer(live_server.url, token_for(admin_user), admin_user, seed=19)
    writer.start()
    started = time.monotonic()
    while writer.is_alive():  # the mirror follows while the writer writes
        if not mirror.catch_up():
            time.sleep(0.05)
        assert time.monotonic() - started < WRITER_SECONDS + 60, "the mirror does not keep up"
    writer.join(timeout=10)
    assert writer.error is None, repr(writer.error)
    while mirror.catch_up():  # the final catch-up
        pass

    erased = set(PrivacyRequest.objects.filter(kind=PrivacyRequest.Kind.ERASURE).values_list("person_id", flat=True))
    expected = {
        person.pk: _fields({"first_name": person.first_name, "last_name": person.last_name, "email": person.email,
                            "city": person.city, "tags": [tag.pk for tag in person.tags.all()]})
        for person in Person.objects.exclude(pk__in=erased).prefetch_related("tags")
    }
    assert mirror.people == expected
    # The run did what it is for: every kind of change, more than one page, all while mirroring.
    assert all(writer.done[operation] for operation in ("create", "update", "tag", "merge", "erase", "delete")), writer.done
    assert mirror.pages > 2
