import pytest
from django.db import connection
from django.urls import reverse

from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm import search
from crm.roles import Role


@pytest.fixture
def people(db):
    return {
        "mueller": PersonFactory(first_name="Jürgen", last_name="Müller", email="j.mueller@example.de"),
        "schmidt": PersonFactory(first_name="Anna", last_name="Schmidt", email="anna@example.de"),
        "other": PersonFactory(first_name="Karl", last_name="Weber", email="weber@example.de"),
    }


def _kinds_and_titles(user, query):
    return {(kind.kind, hit.title) for kind, hits in search.search(user, query) for hit in hits}


@pytest.mark.parametrize("query", ["mueller", "Muller", "Müller", "MÜLLER", "jürgen müller", "j.mueller@example"])
def test_every_spelling_finds_mueller(people, alice, query):
    assert ("person", "Jürgen Müller") in _kinds_and_titles(alice, query)


def test_it_does_not_find_unrelated_people(people, alice):
    titles = _kinds_and_titles(alice, "mueller")
    assert ("person", "Karl Weber") not in titles


@pytest.mark.skipif(connection.vendor != "postgresql", reason="typo tolerance is Postgres-only (pg_trgm)")
def test_schmitt_finds_schmidt_on_postgres(people, alice):
    assert ("person", "Anna Schmidt") in _kinds_and_titles(alice, "Schmitt")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is Postgres-only")
def test_german_stemming_finds_plural_on_postgres(db, alice):
    OrganizationFactory(name="Berliner Maschinen AG")
    assert ("organization", "Berliner Maschinen AG") in _kinds_and_titles(alice, "maschine")


def test_it_finds_organizations(db, alice):
    OrganizationFactory(name="Bäckerei Schäfer GmbH")
    assert ("organization", "Bäckerei Schäfer GmbH") in _kinds_and_titles(alice, "baeckerei")


def test_user_without_role_cannot_search(people, nobody, client_for):
    response = client_for(nobody).get(reverse("search_suggest"), {"q": "mueller"})
    assert response.status_code == 403
    assert search.search(nobody, "mueller") == []


def test_anonymous_is_sent_to_login(client, people):
    response = client.get(reverse("search"), {"q": "mueller"})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("role", Role.values)
def test_every_hit_opens_for_the_user_who_saw_it(people, role_users, client_for, role):
    user = role_users[role]
    client = client_for(user)
    groups = search.search(user, "example")
    assert groups, "the fixture people must be found"
    for _provider, hits in groups:
        for hit in hits:
            assert client.get(hit.url).status_code == 200, hit.url


def test_suggest_groups_hits_by_kind(people, alice, client_for):
    OrganizationFactory(name="Müller Maschinenbau GmbH")
    response = client_for(alice).get(reverse("search_suggest"), {"q": "müller"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Jürgen Müller") < body.index("Müller Maschinenbau GmbH")
    assert 'data-kind="person"' in body and 'data-kind="organization"' in body


def test_short_or_odd_queries_get_a_message_not_an_error(people, alice, client_for):
    client = client_for(alice)
    for query in ["a", "", "%%%", "' OR 1=1 --", "<script>", "x" * 5000, "\x00"]:
        assert client.get(reverse("search_suggest"), {"q": query}).status_code == 200
        assert client.get(reverse("search"), {"q": query}).status_code == 200
    assert "is-invalid" in client.get(reverse("search"), {"q": "a"}).content.decode()


def test_results_page_filters_by_kind(people, alice, client_for):
    OrganizationFactory(name="Müller Maschinenbau GmbH")
    body = client_for(alice).get(reverse("search"), {"q": "müller", "kind": "organization"}).content.decode()
    assert "Müller Maschinenbau GmbH" in body
    assert "Jürgen Müller" not in body


def test_search_query_count_does_not_grow_with_hits(db, alice, django_assert_max_num_queries):
    # Per search provider one query (two on Postgres: the typo-tolerant pass), plus the user's
    # roles and teams; every app adds a provider, so the bound follows the providers, and the
    # count must not grow with the hits.
    from django.contrib.auth import get_user_model

    PersonFactory(last_name="Müller")
    user = get_user_model().objects.get(pk=alice.pk)
    with django_assert_max_num_queries(4 + 2 * len(search.providers())) as few:
        search.search(user, "müller", limit=50)
    for _ in range(30):
        PersonFactory(last_name="Müller")
    user = get_user_model().objects.get(pk=alice.pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        search.search(user, "müller", limit=50)
