"""The contacts API over real HTTP (Django's test client): the pages' rules, roles and forms
apply (owner / teammate / outsider, duplicate checks), batch upserts, and no N+1 on the list."""

import pytest
from django.urls import reverse

from contacts.models import Activity, Organization, Person, Tag
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory, TaskFactory
from crm.models import ChangeEvent
from crm.roles import Role
from crm.tests.api_client import call, token_for

PEOPLE = "/api/v1/people/"
ORGANIZATIONS = "/api/v1/organizations/"
BATCH = "/api/v1/people/batch/"


def url(name, obj=None):
    return reverse(f"api:{name}-detail", args=[obj.pk]) if obj is not None else reverse(f"api:{name}-list")


# --- people: create, read, update, delete -----------------------------------------------------


def test_it_creates_a_person_with_employments_as_the_form_does(client, alice, write_token):
    org = OrganizationFactory(owner=alice)
    tag = Tag.objects.create(name="VIP")
    body = {"first_name": "Nina", "last_name": "Neu", "email": " Nina@Example.DE ", "phone": "030 1234567",
            "tags": [tag.pk], "employments": [{"organization": org.pk, "position": "Einkauf"}]}
    response = call(client, "post", PEOPLE, body, token=write_token)
    assert response.status_code == 201, response.content
    data = response.json()
    assert response["Location"].endswith(url("person", Person(pk=data["id"])))
    assert data["email"] == "nina@example.de" and data["phone"] == "+49 30 1234567"
    assert data["owner"] == alice.pk  # the form's default: the user who creates it
    assert data["employments"][0] | {"id": None} == {
        "id": None, "organization": org.pk, "organization_name": org.name, "position": "Einkauf", "department": "", "is_primary": True}
    assert data["tags"] == [tag.pk]
    person = Person.objects.get(pk=data["id"])
    assert person.history.count() == 1  # history as on the pages


def test_patch_changes_only_the_named_fields_and_put_replaces(client, alice, write_token):
    person = PersonFactory(owner=alice, first_name="Eva", city="Kiel", email="eva@example.de")
    EmploymentFactory(person=person, position="Chefin")
    response = call(client, "patch", url("person", person), {"city": "Bonn"}, token=write_token)
    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Bonn" and response.json()["first_name"] == "Eva"
    assert [e["position"] for e in response.json()["employments"]] == ["Chefin"]
    response = call(client, "put", url("person", person), {"last_name": "Neu", "preferred_language": "de",
                                                           "lifecycle_stage": "lead", "salutation": "none", "owner": alice.pk}, token=write_token)
    assert response.status_code == 200, response.content
    assert response.json()["city"] == "" and response.json()["first_name"] == ""
    response = call(client, "patch", url("person", person), {"employments": []}, token=write_token)
    assert response.status_code == 200, response.content
    assert response.json()["employments"] == []


def test_the_forms_rules_apply(client, alice, write_token):
    PersonFactory(first_name="Jürgen", last_name="Müller", email="j.mueller@example.de")
    response = call(client, "post", PEOPLE, {"last_name": "Anders", "email": "J.Mueller@example.de"}, token=write_token)
    assert response.status_code == 400
    assert "already has this email address" in response.json()["errors"]["email"][0]
    response = call(client, "post", PEOPLE, {"last_name": "X", "email": "a@example.de", "email_secondary": "a@example.de",
                                             "birthday": "2999-01-01", "phone": "kein Telefon"}, token=write_token)
    assert set(response.json()["errors"]) >= {"email_secondary", "birthday", "phone"} or set(response.json()["errors"]) >= {"phone"}


def test_similar_people_need_a_confirmation(client, alice, write_token):
    org = OrganizationFactory()
    existing = PersonFactory(first_name="Jürgen", last_name="Müller")
    EmploymentFactory(person=existing, organization=org)
    body = {"first_name": "Jürgen", "last_name": "Müller", "employments": [{"organization": org.pk}]}
    response = call(client, "post", PEOPLE, body, token=write_token)
    assert response.status_code == 409, response.content
    assert [s["id"] for s in response.json()["similar"]] == [existing.pk]
    response = call(client, "post", PEOPLE, {**body, "confirm_new": True}, token=write_token)
    assert response.status_code == 201


def test_employment_rules_of_the_formset_apply(client, alice, write_token):
    org = OrganizationFactory()
    rows = [{"organization": org.pk}, {"organization": org.pk}]
    response = call(client, "post", PEOPLE, {"last_name": "Doppelt", "employments": rows}, token=write_token)
    assert response.status_code == 400
    assert "employments" in response.json()["errors"]
    response = call(client, "post", PEOPLE, {"last_name": "Nirgends", "employments": [{"organization": 999999}]},
                    token=write_token)
    assert response.status_code == 400 and "0" in response.json()["errors"]["employments"]
    response = call(client, "post", PEOPLE, {"last_name": "Kaputt", "employments": "nein"}, token=write_token)
    assert response.status_code == 400


def test_external_ids_are_unique_per_system(client, alice, write_token):
    first = call(client, "post", PEOPLE, {"last_name": "A", "external_source": "shop", "external_id": "42"}, token=write_token)
    assert first.status_code == 201, first.content
    clash = call(client, "post", PEOPLE, {"last_name": "B", "external_source": "shop", "external_id": "42"}, token=write_token)
    assert clash.status_code == 400 and "external_id" in clash.json()["errors"]
    other_system = call(client, "post", PEOPLE, {"last_name": "C", "external_source": "erp", "external_id": "42"}, token=write_token)
    assert other_system.status_code == 201
    half = call(client, "post", PEOPLE, {"last_name": "D", "external_id": "43"}, token=write_token)
    assert half.status_code == 400 and "external_source" in half.json()["errors"]


# --- who may do what: the trio of STYLE.md, and the roles --------------------------------------


@pytest.mark.parametrize(("who", "read", "write"), [("alice", 200, 200), ("manager", 200, 200), ("bob", 200, 403), ("charlie", 200, 403)])
def test_owner_and_manager_change_a_record_teammate_and_outsider_only_read(client, alice, bob, manager, charlie, who, read, write):
    person = PersonFactory(owner=alice)
    token = token_for({"alice": alice, "bob": bob, "manager": manager, "charlie": charlie}[who])
    assert call(client, "get", url("person", person), token=token).status_code == read
    assert call(client, "patch", url("person", person), {"city": "Ulm"}, token=token).status_code == write
    expected_delete = 204 if write == 200 else 403
    assert call(client, "delete", url("person", person), token=token).status_code == expected_delete


def test_tags_are_read_by_all_and_changed_by_admins(client, alice, admin_user):
    rep, admin = token_for(alice), token_for(admin_user)
    assert call(client, "post", url("tag"), {"name": "Neu"}, token=rep).status_code == 403
    response = call(client, "post", url("tag"), {"name": "Neu", "color": "success"}, token=admin)
    assert response.status_code == 201, response.content
    assert call(client, "post", url("tag"), {"name": "Neu"}, token=admin).status_code == 400  # unique
    assert call(client, "get", url("tag"), token=rep).json()["results"][0]["name"] == "Neu"


# --- organizations, activities, tasks --------------------------------------------------------


def test_organizations_filter_and_search_as_the_list_page(client, alice, write_token):
    OrganizationFactory(name="Müller Maschinenbau GmbH", relationship="customer")
    OrganizationFactory(name="Schäfer Logistik", relationship="prospect")
    names = lambda query: [o["name"] for o in call(client, "get", ORGANIZATIONS + query, token=write_token).json()["results"]]  # noqa: E731
    assert names("?q=mueller") == ["Müller Maschinenbau GmbH"]  # accent-folded, as the global search
    assert names("?relationship=prospect") == ["Schäfer Logistik"]
    assert names("?ordering=-name") == ["Schäfer Logistik", "Müller Maschinenbau GmbH"]
    response = call(client, "post", ORGANIZATIONS, {"name": "Müller Maschinenbau"}, token=write_token)
    assert response.status_code == 409  # the form's similar-name check


def test_activities_and_tasks(client, alice, charlie, write_token):
    person = PersonFactory(owner=alice)
    note = call(client, "post", url("activity"), {"person": person.pk, "kind": "call", "subject": "Anruf"}, token=write_token)
    assert note.status_code == 201, note.content
    task = call(client, "post", url("task"), {"person": person.pk, "subject": "Angebot", "due_at": "2026-11-20T09:00:00+01:00"},
                token=write_token)
    assert task.status_code == 201, task.content
    assert task.json()["kind"] == "task" and task.json()["assignee"] == alice.pk
    no_due = call(client, "post", url("task"), {"person": person.pk, "subject": "Ohne Termin"}, token=write_token)
    assert no_due.status_code == 400 and "due_at" in no_due.json()["errors"]
    nowhere = call(client, "post", url("activity"), {"subject": "Worüber?"}, token=write_token)
    assert nowhere.status_code == 400
    task_id = task.json()["id"]
    done = call(client, "patch", f"{url('task')}{task_id}/", {"done": True}, token=write_token)
    assert done.status_code == 200 and done.json()["done"] is True and done.json()["done_at"]
    assert call(client, "patch", f"{url('task')}{task_id}/", {"done": True}, token=token_for(charlie)).status_code == 403
    # The task list's FilterSet: by default your open tasks.
    assert call(client, "get", url("task"), token=write_token).json()["results"] == []
    assert [t["id"] for t in call(client, "get", url("task") + "?done=true", token=write_token).json()["results"]] == [task_id]
    timeline = call(client, "get", url("activity") + f"?person={person.pk}", token=write_token).json()["results"]
    assert {a["subject"] for a in timeline} == {"Anruf", "Angebot"}
    assert Activity.objects.count() == 2


# --- batch upsert ------------------------------------------------------------------------------


def test_batch_creates_updates_leaves_alone_and_reports_errors(client, alice, write_token):
    by_id = PersonFactory(owner=alice, last_name="Alt", external_source="shop", external_id="1")
    by_email = PersonFactory(owner=alice, last_name="Mail", email="mail@example.de", city="Kiel")
    same = PersonFactory(owner=alice, last_name="Gleich", email="gleich@example.de")
    records = [
        {"external_source": "shop", "external_id": "1", "last_name": "Neu"},
        {"email": "MAIL@example.de", "city": "Bonn", "external_source": "shop", "external_id": "2"},
        {"email": "gleich@example.de", "last_name": "Gleich"},
        {"last_name": "Frisch", "email": "frisch@example.de"},
        {"email": "kaputt"},
        "no object",
    ]
    before = ChangeEvent.objects.count()
    response = call(client, "post", BATCH, {"records": records}, token=write_token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["updated", "updated", "unchanged", "created", "error", "error"]
    assert (body["created"], body["updated"], body["unchanged"], body["failed"]) == (1, 2, 1, 2)
    assert "email" in body["results"][4]["errors"] and "last_name" in body["results"][4]["errors"]
    by_id.refresh_from_db(), by_email.refresh_from_db(), same.refresh_from_db()
    assert by_id.last_name == "Neu" and by_email.city == "Bonn" and by_email.external_id == "2"
    assert Person.objects.filter(last_name="Frisch").exists()
    assert ChangeEvent.objects.count() - before == 3  # nothing for the unchanged one


def test_an_atomic_batch_stores_nothing_when_one_record_fails(client, alice, write_token):
    response = call(client, "post", BATCH, {"atomic": True, "records": [{"last_name": "Gut"}, {"email": "schlecht"}]},
                    token=write_token)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [r["status"] for r in response.json()["results"]] == ["not_stored", "error"]
    assert not Person.objects.exists()


def test_a_batch_over_1000_records_is_413(client, alice, write_token):
    response = call(client, "post", BATCH, {"records": [{"last_name": "x"}] * 1001}, token=write_token)
    assert response.status_code == 413
    assert not Person.objects.exists()


def test_a_batch_may_not_change_what_the_user_may_not(client, bob, alice):
    PersonFactory(owner=alice, email="alices@example.de")
    response = call(client, "post", BATCH, {"records": [{"email": "alices@example.de", "city": "Ulm"}]}, token=token_for(bob))
    assert response.json()["results"][0]["status"] == "error"


def test_a_retried_batch_creates_nothing_twice(client, alice, write_token):
    body = {"records": [{"last_name": "Einmal"}, {"last_name": "Zweimal", "confirm_new": True}]}
    first = call(client, "post", BATCH, body, token=write_token, Idempotency_Key="b-1")
    again = call(client, "post", BATCH, body, token=write_token, Idempotency_Key="b-1")
    assert first.json() == again.json()
    assert Person.objects.count() == 2


def test_organizations_batch(client, alice, write_token):
    org = OrganizationFactory(owner=alice, name="Acme", external_source="erp", external_id="A-1")
    response = call(client, "post", "/api/v1/organizations/batch/",
                    {"records": [{"external_source": "erp", "external_id": "A-1", "name": "Acme AG"},
                                 {"external_source": "erp", "external_id": "B-2", "name": "Beta KG"}]}, token=write_token)
    assert [r["status"] for r in response.json()["results"]] == ["updated", "created"]
    org.refresh_from_db()
    assert org.name == "Acme AG" and Organization.objects.filter(external_id="B-2").exists()


# --- queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_the_people_list_makes_the_same_few_queries_for_few_and_many(client, alice, write_token, django_assert_max_num_queries, count):
    tag = Tag.objects.create(name="VIP")
    for _ in range(count):
        person = PersonFactory(owner=alice)
        person.tags.add(tag)
        EmploymentFactory(person=person)
    TaskFactory(person=person)
    # token, its touch, roles, people, tags, employments (+ organizations joined), and the throttle's cache
    with django_assert_max_num_queries(7):
        response = call(client, "get", PEOPLE + "?limit=100", token=write_token)
    assert response.status_code == 200 and len(response.json()["results"]) == count


def test_each_role_reads_people_as_on_the_pages(client, role_users):
    PersonFactory()
    for role, user in role_users.items():
        assert call(client, "get", PEOPLE, token=token_for(user)).status_code == 200, role
    assert Role.ADMIN in role_users


def test_a_batch_writes_history_and_the_change_feed_in_order(client, alice, write_token):
    old = PersonFactory(owner=alice, last_name="Alt", external_source="shop", external_id="1")
    before = ChangeEvent.objects.count()
    records = [{"last_name": "Erst", "external_source": "shop", "external_id": "2"},
               {"external_source": "shop", "external_id": "1", "city": "Jena"},
               {"last_name": "Zweit", "email": "zweit@example.de"}]
    response = call(client, "post", BATCH, {"records": records}, token=write_token)
    assert [r["status"] for r in response.json()["results"]] == ["created", "updated", "created"]
    ids = [r["id"] for r in response.json()["results"]]
    events = list(ChangeEvent.objects.order_by("pk").values_list("object_id", "action")[before:])
    assert events == [(ids[0], "created"), (old.pk, "updated"), (ids[2], "created")]
    assert [h.history_type for h in old.history.all()] == ["~", "+"]
    assert old.history.first().city == "Jena" and old.history.first().history_user == alice
    assert Person.objects.get(pk=ids[0]).history.get().history_type == "+"


def test_later_records_of_a_batch_see_the_earlier_ones(client, alice, write_token):
    records = [{"last_name": "Eins", "email": "eins@example.de", "external_source": "shop", "external_id": "7"},
               {"last_name": "Zwei", "email": "eins@example.de"},  # matched by the address the first one took
               {"external_source": "shop", "external_id": "7", "city": "Gera"},
               {"last_name": "Drei", "email": "drei@example.de", "external_source": "shop", "external_id": "8"},
               {"external_source": "shop", "external_id": "7", "email": "drei@example.de"}]  # the address "Drei" took
    response = call(client, "post", BATCH, {"records": records}, token=write_token)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "updated", "updated", "created", "error"], results
    assert results[1]["id"] == results[2]["id"] == results[0]["id"]
    assert "already has this email address" in results[4]["errors"]["email"][0]
    person = Person.objects.get(pk=results[0]["id"])
    assert (person.last_name, person.city) == ("Zwei", "Gera")


def test_a_batch_costs_a_few_queries_per_record(client, alice, write_token, django_assert_max_num_queries):
    Tag.objects.create(name="VIP")
    existing = [PersonFactory(owner=alice, email=f"p{n}@example.de") for n in range(20)]
    records = [{"email": p.email, "city": "Hof"} for p in existing[:10]] + [{"email": p.email} for p in existing[10:]]
    records += [{"last_name": f"Neu{n}", "email": f"neu{n}@example.de"} for n in range(20)]
    # Per saved record its INSERT or UPDATE (no savepoint of its own unless a save fails); the
    # owner and the tags are checked once for the batch; per unchanged record nothing; a fixed few.
    with django_assert_max_num_queries(30 + 25):
        response = call(client, "post", BATCH, {"records": records}, token=write_token)
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["failed"]) == (20, 10, 10, 0), body


@pytest.mark.parametrize("count", [20, 200])
def test_on_postgres_a_batch_writes_its_plain_records_together(client, alice, write_token, count):
    """People without tags or employments are written with one COPY and one UPDATE per 500 rows
    (ids reserved up front): the queries do not grow with the records. One with a tag is saved
    on its own, in the same order of the change feed; history and timestamps as save() makes them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm.tests.processes import require_postgres

    require_postgres("the bulk write of a batch: COPY into reserved ids")
    tag = Tag.objects.create(name="VIP")
    existing = [PersonFactory(owner=alice, email=f"alt{n}@example.de") for n in range(count // 2)]
    records = [{"email": p.email, "city": "Hof", "first_name": " Ute "} for p in existing]
    records += [{"last_name": f"Neu{n}", "email": f"NEU{n}@Example.de"} for n in range(count // 2)]
    records.append({"last_name": "Markiert", "tags": [tag.pk]})
    before = ChangeEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = call(client, "post", BATCH, {"records": records}, token=write_token)
    body = response.json()
    assert (body["created"], body["updated"], body["failed"]) == (count // 2 + 1, count // 2, 0), body
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "COPY"))]
    assert sum(s.startswith('INSERT INTO "contacts_person"') for s in writes) == 1  # the tagged one
    assert sum(s.startswith('UPDATE "contacts_person"') for s in writes) == 1
    assert len(queries.captured_queries) <= 45, [q["sql"][:80] for q in queries.captured_queries]
    ids = [r["id"] for r in body["results"]]
    created = Person.objects.get(pk=ids[count // 2])
    assert (created.email, created.owner, created.name_key != "", created.search_key != "") == (
        "neu0@example.de", alice, True, True)
    assert created.created_at is not None and created.history.get().history_type == "+"
    updated = Person.objects.get(pk=existing[0].pk)
    assert (updated.city, updated.first_name, updated.updated_at > existing[0].updated_at) == ("Hof", "Ute", True)
    assert "hof" in updated.search_key and updated.history.first().city == "Hof"
    assert list(Person.objects.get(pk=ids[-1]).tags.all()) == [tag]
    events = list(ChangeEvent.objects.order_by("pk").values_list("object_id", flat=True)[before:])
    assert events == ids


def test_a_failed_bulk_write_redoes_the_batch_record_by_record(client, alice, write_token, monkeypatch):
    """Had another writer broken a constraint between the checks and the bulk write, the batch is
    done again with a savepoint per record: nothing is lost, nothing is written twice."""
    from django.db import IntegrityError

    from crm.api import batch

    original, failures = batch.BulkWrites.flush, []

    def flush_once(self):
        if self.order and not failures:
            failures.append(len(self.order))
            raise IntegrityError("duplicate key value violates unique constraint")
        return original(self)

    monkeypatch.setattr(batch.BulkWrites, "flush", flush_once)
    before = ChangeEvent.objects.count()
    records = [{"last_name": f"Neu{n}", "email": f"neu{n}@example.de"} for n in range(5)]
    body = call(client, "post", BATCH, {"records": records}, token=write_token).json()
    assert body["created"] == 5 and body["failed"] == 0, body
    assert Person.objects.filter(last_name__startswith="Neu").count() == 5
    assert ChangeEvent.objects.count() - before == 5
    assert failures == [5] or connection_is_sqlite()


def connection_is_sqlite() -> bool:
    from django.db import connection

    return connection.vendor == "sqlite"


def test_an_activity_batch_matches_by_external_id(client, alice, charlie, write_token):
    person = PersonFactory(owner=alice)
    existing = Activity.objects.create(person=person, kind="call", subject="Alt", created_by=alice,
                                       external_source="telefon", external_id="c-1")
    records = [
        {"external_source": "telefon", "external_id": "c-1", "subject": "Rückruf"},
        {"external_source": "telefon", "external_id": "c-2", "person": person.pk, "kind": "call", "subject": "Neu"},
        {"external_source": "telefon", "external_id": "c-2", "subject": "Neu"},
        {"external_source": "telefon", "external_id": "c-3", "subject": "Worüber?"},
    ]
    response = call(client, "post", "/api/v1/activities/batch/", {"records": records}, token=write_token)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "created", "unchanged", "error"], results
    assert "person" in results[3]["errors"]
    existing.refresh_from_db()
    assert existing.subject == "Rückruf"
    created = Activity.objects.get(external_id="c-2")
    assert (created.person, created.kind, created.created_by) == (person, "call", alice)
    # Someone else's activity is read, not changed, by an outsider.
    outsider = call(client, "post", "/api/v1/activities/batch/", {"records": records[:1]}, token=token_for(charlie))
    assert outsider.json()["results"][0]["status"] == "error"
