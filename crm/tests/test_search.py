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
    # roles and teams, plus one prefetch of the people's organizations; every app adds a provider,
    # so the bound follows the providers, and the count must not grow with the hits.
    from django.contrib.auth import get_user_model

    PersonFactory(last_name="Müller")
    user = get_user_model().objects.get(pk=alice.pk)
    with django_assert_max_num_queries(5 + 2 * len(search.providers())) as few:
        search.search(user, "müller", limit=50)
    for _ in range(30):
        PersonFactory(last_name="Müller")
    user = get_user_model().objects.get(pk=alice.pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        search.search(user, "müller", limit=50)


@pytest.fixture
def mueller_crowd(db):
    """The README's Jürgen Müller among 60 people whose names or mail only start with or contain
    "mueller", created before him so that an unranked first page would hold only them."""
    from contacts.models import Employment

    for index in range(20):
        PersonFactory(first_name=f"Mia{index}", last_name=f"Muellerstein{index}", email=f"m{index}@example.de")
        PersonFactory(first_name=f"Max{index}", last_name="Schmüller", email=f"s{index}@example.de")
        PersonFactory(first_name=f"Moritz{index}", last_name="Weber", email=f"mueller{index}@example.de")
    juergen = PersonFactory(first_name="Jürgen", last_name="Müller", email="j.m@example.de")
    Employment.objects.create(person=juergen, organization=OrganizationFactory(name="Müller Maschinenbau GmbH"))
    return juergen


@pytest.mark.parametrize("query", ["mueller", "Müller", "muller", "jürgen mueller"])
def test_exact_name_matches_come_before_prefix_and_inner_matches(mueller_crowd, alice, query):
    people = dict(search.search(alice, query, kinds=["person"]))
    hits = next(iter(people.values()))
    assert hits[0].title == "Jürgen Müller"


def test_prefix_matches_come_before_inner_matches(db, alice):
    for index in range(30):
        PersonFactory(first_name=f"Max{index}", last_name="Schmüller")
    PersonFactory(first_name="Nina", last_name="Müllerstein")
    hits = search.search_queryset(search.providers()[0].queryset(alice), "mueller", 5)
    assert str(hits[0]) == "Nina Müllerstein"


def test_suggest_shows_the_organization_beside_a_person(mueller_crowd, alice, client_for):
    body = client_for(alice).get(reverse("search_suggest"), {"q": "jürgen müller"}, HTTP_HX_REQUEST="true").content.decode()
    person_hit = body[body.index("Jürgen Müller"):]
    assert person_hit.index("Müller Maschinenbau GmbH") < person_hit.index("</a>")


def test_suggest_options_are_inside_the_listbox_and_the_rest_outside(mueller_crowd, alice, client_for):
    from html.parser import HTMLParser

    class Roles(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.options_outside, self.links_inside = [], 0, 0

        def handle_starttag(self, tag, attrs):
            role = dict(attrs).get("role")
            in_listbox = "listbox" in self.stack
            if role == "option" and not in_listbox:
                self.options_outside += 1
            if tag == "a" and role != "option" and in_listbox:
                self.links_inside += 1
            self.stack.append(role or tag)

        def handle_endtag(self, tag):
            self.stack.pop()

    parser = Roles()
    body = client_for(alice).get(reverse("search_suggest"), {"q": "mueller"}, HTTP_HX_REQUEST="true").content.decode()
    parser.feed(body)
    assert 'role="option"' in body and reverse("search") + "?q=mueller" in body
    assert parser.options_outside == 0 and parser.links_inside == 0


def test_suggest_query_count_does_not_grow_with_people_and_organizations(db, alice, client_for, django_assert_max_num_queries):
    from contacts.models import Employment

    client = client_for(alice)
    PersonFactory(last_name="Müller")
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("search_suggest"), {"q": "müller"})
    for index in range(10):
        person = PersonFactory(last_name="Müller")
        Employment.objects.create(person=person, organization=OrganizationFactory(name=f"Müller {index} KG"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("search_suggest"), {"q": "müller"})


def test_two_letter_queries_still_rank_what_they_fetch(db, alice):
    for index in range(3):
        PersonFactory(first_name=f"Max{index}", last_name="Schmüller")
    PersonFactory(first_name="Ute", last_name="Mu")
    hits = search.search_queryset(search.providers()[0].queryset(alice), "mu", 5)
    assert str(hits[0]) == "Ute Mu"
