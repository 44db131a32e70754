"""Data quality figures against a small data set counted by hand, their links, scope and cost."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.scope import Scope
from analytics.services.quality import data_quality
from contacts.models import Organization, Person
from contacts.tests.factories import ActivityFactory, EmploymentFactory, OrganizationFactory, PersonFactory

URL = reverse("analytics:data_quality")


@pytest.fixture
def dataset(alice, bob):
    """Alice: 4 people, 2 organizations; bob: 2 people, 1 organization; 1 person and 1 org without owner.

    people without email: p2 (alice), p6 (bob)                      -> 2 of 7
    without phone: all but p1 (alice, has mobile) and p5 (bob)         -> 5 of 7
    without organization: all but p1 and p2 (employed at acme)         -> 5 of 7
    without owner: p7                                                  -> 1 of 7
    stale (old, no recent activity): p3 (old, old activity), p4 (old)  -> 2; p1 old but recent note
    organizations without owner: o4 -> 1 of 4; stale organizations: o2 -> 1
    shared email: p3 and p5 share "same@example.de" -> 1 group; org names "Acme GmbH"/"ACME AG" -> 1 group
    """
    old = timezone.now() - timedelta(days=400)
    acme = OrganizationFactory(name="Acme GmbH", owner=alice)
    o2 = OrganizationFactory(name="Zeta KG", owner=alice)
    OrganizationFactory(name="ACME AG", owner=bob)
    OrganizationFactory(name="Herrenlos e.V.", owner=None)
    p1 = PersonFactory(email="p1@example.de", mobile="+49 171 1234567", owner=alice)
    p2 = PersonFactory(email="", owner=alice)
    p3 = PersonFactory(email="same@example.de", owner=alice)
    p4 = PersonFactory(email="p4@example.de", owner=alice)
    PersonFactory(email="same@example.de", phone="+49 30 1234567", owner=bob)  # p5
    PersonFactory(email="", owner=bob)  # p6
    PersonFactory(email="p7@example.de", owner=None)  # p7
    EmploymentFactory(person=p1, organization=acme)
    EmploymentFactory(person=p2, organization=acme)
    ActivityFactory(person=p1, occurred_at=timezone.now() - timedelta(days=3))
    ActivityFactory(person=p3, occurred_at=old)
    # updated_at is auto_now: age records with a queryset update.
    Person.objects.filter(pk__in=[p1.pk, p3.pk, p4.pk]).update(updated_at=old)
    Organization.objects.filter(pk=o2.pk).update(updated_at=old)
    return {"alice": alice, "bob": bob}


def values(figures):
    return {f.key: (f.value, f.total) for f in figures}


def test_figures_equal_the_hand_count(dataset, admin_user):
    figures = values(data_quality(user=admin_user, scope=Scope(None, None, None, "")))
    assert figures == {
        "people_without_email": (2, 7),
        "people_without_phone": (5, 7),
        "people_without_organization": (5, 7),
        "people_without_owner": (1, 7),
        "organizations_without_owner": (1, 4),
        "stale_people": (2, 7),
        "stale_organizations": (1, 4),
        "duplicate_emails": (1, None),
        "duplicate_organizations": (1, None),
    }


def test_scope_narrows_to_the_owner(dataset, admin_user):
    scope = Scope(frozenset({dataset["alice"].pk}), None, None, "Alice")
    figures = values(data_quality(user=admin_user, scope=scope))
    assert figures["people_without_email"] == (1, 4)
    assert figures["people_without_phone"] == (3, 4)
    assert figures["stale_people"] == (2, 4)
    assert figures["duplicate_emails"] == (0, None)  # p5 is bob's
    assert figures["organizations_without_owner"] == (0, 2)


def test_each_figure_links_to_a_list_with_the_same_count(dataset, admin_user, client):
    client.force_login(admin_user)
    for figure in data_quality(user=admin_user, scope=Scope(None, None, None, "")):
        if not figure.url or figure.total is None:
            continue
        response = client.get(figure.url)
        assert response.status_code == 200, figure.key
        assert response.context["paginator"].count == figure.value, figure.key


def test_page_shows_the_figures_and_runs_constant_queries(dataset, alice, client, django_assert_max_num_queries):
    client.force_login(alice)
    with django_assert_max_num_queries(20) as few:
        response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="people_without_email"' in html and "quality-chart" in html
    PersonFactory.create_batch(20, email="", owner=alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(URL)


def test_csv_export_has_every_figure(dataset, alice, client):
    client.force_login(alice)
    response = client.get(URL, {"format": "csv", "owner": dataset["alice"].pk})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) == 1 + 9
    by_label = {row[0]: row for row in rows[1:]}
    assert by_label["People without email"][1:4] == ["1", "4", "25.0"]


def test_user_without_role_is_refused(nobody, client):
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_bad_filter_values_fall_back_to_everything(dataset, alice, client):
    client.force_login(alice)
    response = client.get(URL, {"owner": "x'; drop", "team": "999999"})
    assert response.status_code == 200
