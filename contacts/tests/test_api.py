"""The contacts API over real HTTP (Django's test client): people, organizations, tags,
activities and tasks, with the pages' rules."""

import json

import pytest
from django.urls import reverse

from contacts.models import Person
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from crm.api import tokens


def api(client, method, url, body=None, token=None, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data=data, content_type="application/json", **extra)


@pytest.fixture
def alice_token(alice):
    return tokens.token_create(user=alice, name="Shop", scope="read_write").secret


def test_it_lists_people(client, alice, alice_token):
    PersonFactory(last_name="Müller", owner=alice)
    response = api(client, "get", reverse("api:person-list"), token=alice_token)
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["last_name"] == "Müller"


def test_it_creates_a_person(client, alice, alice_token):
    org = OrganizationFactory(owner=alice)
    body = {"last_name": "Neu", "first_name": "Nina", "email": "nina@example.de", "employments": [{"organization": org.pk, "position": "CEO"}]}
    response = api(client, "post", reverse("api:person-list"), body, token=alice_token)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["employments"][0]["position"] == "CEO"
    person = Person.objects.get(pk=data["id"])
    assert person.owner is None or person.owner == alice
    response = api(client, "patch", reverse("api:person-detail", args=[person.pk]), {"city": "Kiel"}, token=alice_token)
    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Kiel"
    assert response.json()["employments"][0]["position"] == "CEO"


def test_smoke_everything(client, alice, alice_token):
    person = PersonFactory(owner=alice)
    EmploymentFactory(person=person)
    for name in ["api:person-list", "api:organization-list", "api:tag-list", "api:activity-list", "api:task-list", "api:change-list"]:
        response = api(client, "get", reverse(name), token=alice_token)
        assert response.status_code == 200, (name, response.content)
    response = api(client, "get", reverse("api:person-detail", args=[person.pk]), token=alice_token)
    assert response.status_code == 200 and response["ETag"]
    response = api(client, "post", reverse("api:activity-list"), {"person": person.pk, "subject": "Anruf", "kind": "call"}, token=alice_token)
    assert response.status_code == 201, response.content
    response = api(client, "post", reverse("api:task-list"), {"person": person.pk, "subject": "Rückruf", "due_at": "2026-12-01T10:00:00+01:00"}, token=alice_token)
    assert response.status_code == 201, response.content
    response = api(client, "get", reverse("api:change-list"), token=alice_token)
    print(response.json())
