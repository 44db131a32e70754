"""The API's fast representation (crm.api.representation) shows exactly what DRF's own
Serializer.to_representation shows: every list of the API, read as an admin with one of every
kind of record (and people with tags, employments, umlauts and empty fields), compared both ways."""

import json

import pytest
from django.urls import NoReverseMatch, get_resolver, reverse
from rest_framework import serializers

from contacts.tests.factories import EmploymentFactory, PersonFactory, TagFactory
from crm.api import representation
from crm.tests.api_client import call, token_for
from crm.tests.test_page_frame import records  # noqa: F401  (a fixture)


def api_list_urls() -> list[str]:
    api = get_resolver().namespace_dict["api"][1]
    urls = []
    for name in sorted({n for n in api.reverse_dict if isinstance(n, str) and n.endswith("-list")}):
        try:
            urls.append(reverse(f"api:{name}"))
        except NoReverseMatch:  # a list below a record (a segment's members): not here
            continue
    return urls


@pytest.fixture
def people(db):
    tag = TagFactory(name="Größe")
    person = PersonFactory(first_name="Jürgen", last_name="Müller", phone="", birthday=None)
    person.tags.add(tag)
    EmploymentFactory(person=person)
    EmploymentFactory(person=person, is_primary=False)
    return [person, PersonFactory(email_secondary="zweite@example.com")]


def test_every_list_shows_the_same_as_drf(records, people, admin_user, client, monkeypatch):  # noqa: F811
    token = token_for(admin_user)
    urls = api_list_urls()
    assert len(urls) >= 15 and reverse("api:person-list") in urls
    fast = {url: call(client, "get", url + "?limit=100", token=token) for url in urls}
    monkeypatch.setattr(representation.FastRepresentationMixin, "to_representation",
                        serializers.Serializer.to_representation)
    drf = {url: call(client, "get", url + "?limit=100", token=token) for url in urls}
    compared = 0
    for url in urls:
        assert fast[url].status_code == drf[url].status_code, url
        if fast[url].status_code != 200:
            continue
        assert json.loads(fast[url].content) == json.loads(drf[url].content), url
        compared += len(json.loads(fast[url].content).get("results", []))
    assert compared >= 20
    person = next(p for p in json.loads(fast[reverse("api:person-list")].content)["results"] if p["id"] == people[0].pk)
    assert person["tags"] == [people[0].tags.get().pk] and len(person["employments"]) == 2 and person["phone"] == ""
    assert person["birthday"] is None and person["full_name"] == "Jürgen Müller"
