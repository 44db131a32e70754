"""A role that may not export may not page through whole lists through the API either: it reads
at most CRM_API_READ_LIMIT_WITHOUT_EXPORT records per window (crm.api.throttling.ReadBudget)."""

import pytest

from contacts.models import Tag
from contacts.tests.factories import PersonFactory
from crm.tests.api_client import call, token_for

PEOPLE = "/api/v1/people/"


@pytest.fixture
def five_records(settings):
    settings.CRM_API_READ_LIMIT_WITHOUT_EXPORT = 5
    settings.CRM_API_READ_WINDOW = 3600


def test_a_rep_reads_up_to_the_budget_then_gets_429(client, alice, five_records):
    people = [PersonFactory(owner=alice) for _ in range(8)]
    token = token_for(alice)
    first = call(client, "get", PEOPLE + "?limit=3", token=token)
    assert len(first.json()["results"]) == 3
    second = call(client, "get", first.json()["next"], token=token)
    assert len(second.json()["results"]) == 2  # cut to what is left, never overdrawn
    third = call(client, "get", second.json()["next"], token=token)
    assert third.status_code == 429
    assert third["Retry-After"] == "3600" and third["Content-Type"] == "application/problem+json"
    assert "export" in third.json()["detail"]
    assert call(client, "get", f"{PEOPLE}{people[0].pk}/", token=token).status_code == 429
    # Another token of the same user shares the budget.
    assert call(client, "get", PEOPLE, token=token_for(alice, scope="read")).status_code == 429


def test_single_records_count_too(client, alice, five_records):
    person = PersonFactory(owner=alice)
    token = token_for(alice)
    assert [call(client, "get", f"{PEOPLE}{person.pk}/", token=token).status_code for _ in range(6)] == [200] * 5 + [429]


def test_a_role_that_may_export_has_no_budget(client, manager, five_records):
    PersonFactory.create_batch(8)
    token = token_for(manager)
    assert len(call(client, "get", PEOPLE + "?limit=8", token=token).json()["results"]) == 8
    assert call(client, "get", PEOPLE, token=token).status_code == 200


def test_tags_and_writes_do_not_count(client, alice, five_records):
    Tag.objects.create(name="VIP")
    token = token_for(alice)
    for _ in range(7):
        assert call(client, "get", "/api/v1/tags/", token=token).status_code == 200
    for n in range(6):
        assert call(client, "post", PEOPLE, {"last_name": f"Neu{n}", "confirm_new": True}, token=token).status_code == 201
    assert len(call(client, "get", PEOPLE + "?limit=10", token=token).json()["results"]) == 5


def test_the_budget_is_per_user(client, alice, bob, five_records):
    PersonFactory.create_batch(6, owner=alice)
    assert len(call(client, "get", PEOPLE + "?limit=10", token=token_for(alice)).json()["results"]) == 5
    assert len(call(client, "get", PEOPLE + "?limit=10", token=token_for(bob)).json()["results"]) == 5
