"""Finding duplicates: the keys, the checks on entry, the groups of the duplicates page, and the page."""

import pytest
from django.db import connection
from django.urls import reverse

from contacts.dedupe import organization_name_key, person_name_key
from contacts.services.duplicates import (
    Reason,
    email_duplicate_groups,
    find_similar_organizations,
    find_similar_people,
    name_duplicate_groups,
    organization_duplicate_groups,
)
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from crm.roles import Role

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram similarity exists on Postgres only"
)


def reasons(candidates):
    return {(c.record.pk, c.reason) for c in candidates}


# --- keys ---


def test_organization_key_ignores_legal_form_case_and_umlaut_spelling():
    assert organization_name_key("Müller Maschinenbau GmbH") == organization_name_key("MUELLER maschinenbau AG")
    assert organization_name_key("Müller & Söhne GmbH & Co. KG") == organization_name_key("Muller und Sohne")
    assert organization_name_key("Müller Maschinenbau") != organization_name_key("Müller Holzbau")
    assert organization_name_key("GmbH") == ""


def test_person_key_ignores_titles_order_and_umlaut_spelling():
    assert person_name_key("Jürgen", "Weiß") == person_name_key("Juergen", "Weiss")
    assert person_name_key("Dr. Hans", "Meier") == person_name_key("Meier", "Hans")
    assert person_name_key("Hans", "Meier") != person_name_key("Hans", "Maier")


def test_name_key_is_stored_on_save():
    person = PersonFactory(first_name="Jürgen", last_name="Weiß")
    organization = OrganizationFactory(name="Bäckerei Groß GmbH")
    assert person.name_key == "jurgen weiss"
    assert organization.name_key == "backerei gross"


# --- checking one record on entry ---


def test_it_finds_a_person_with_the_same_email_whatever_the_case():
    existing = PersonFactory(email="hans.meier@example.de")
    found = find_similar_people(email="  Hans.Meier@EXAMPLE.de ", first_name="Johann", last_name="Anders")
    assert reasons(found) == {(existing.pk, Reason.SAME_EMAIL)}
    assert found[0].reason_label == "Same email address"


def test_it_finds_a_person_whose_second_email_is_the_address_entered():
    existing = PersonFactory(email="privat@example.de", email_secondary="hans@firma.de")
    assert reasons(find_similar_people(email="hans@firma.de")) == {(existing.pk, Reason.SAME_EMAIL)}


def test_organization_ids_may_be_organizations_or_strings():
    organization = OrganizationFactory()
    existing = EmploymentFactory(person__first_name="Eva", person__last_name="Adler", organization=organization).person
    for ids in ([organization], [str(organization.pk), "", None, "x"]):
        found = find_similar_people(first_name="Eva", last_name="Adler", organization_ids=ids)
        assert reasons(found) == {(existing.pk, Reason.SAME_NAME_AT_ORGANIZATION)}


def test_it_does_not_find_the_record_being_edited():
    existing = PersonFactory(email="hans@firma.de")
    assert find_similar_people(email="hans@firma.de", exclude_pk=existing.pk) == []


def test_different_people_with_different_emails_are_no_duplicates():
    organization = OrganizationFactory()
    hans = EmploymentFactory(person__first_name="Hans", person__last_name="Meier", person__email="hans@a.de", organization=organization).person
    EmploymentFactory(person__first_name="Petra", person__last_name="Schulz", person__email="petra@a.de", organization=organization)
    found = find_similar_people(
        email="karl@a.de", first_name="Karl", last_name="Krause", organization_ids=[organization.pk]
    )
    assert found == []
    assert find_similar_people(email=hans.email, exclude_pk=hans.pk) == []


def test_it_finds_the_same_name_at_the_same_organization_only():
    organization, elsewhere = OrganizationFactory(), OrganizationFactory()
    existing = EmploymentFactory(person__first_name="Jürgen", person__last_name="Weiß", organization=organization).person
    EmploymentFactory(person__first_name="Jürgen", person__last_name="Weiß", organization=elsewhere)
    found = find_similar_people(first_name="Juergen", last_name="Weiss", organization_ids=[organization.pk])
    assert reasons(found) == {(existing.pk, Reason.SAME_NAME_AT_ORGANIZATION)}
    assert find_similar_people(first_name="Juergen", last_name="Weiss") == []


def test_an_email_match_and_a_name_match_are_listed_once():
    organization = OrganizationFactory()
    existing = EmploymentFactory(
        person__first_name="Hans", person__last_name="Meier", person__email="hans@firma.de", organization=organization
    ).person
    found = find_similar_people(
        email="hans@firma.de", first_name="Hans", last_name="Meier", organization_ids=[organization.pk]
    )
    assert reasons(found) == {(existing.pk, Reason.SAME_EMAIL)}


@needs_postgres
def test_it_finds_a_similar_name_at_the_same_organization_on_postgres():
    organization = OrganizationFactory()
    existing = EmploymentFactory(person__first_name="Johannes", person__last_name="Schmidt", organization=organization).person
    EmploymentFactory(person__first_name="Karin", person__last_name="Vogel", organization=organization)
    found = find_similar_people(first_name="Johannes", last_name="Schmitt", organization_ids=[organization.pk])
    assert reasons(found) == {(existing.pk, Reason.SIMILAR_NAME_AT_ORGANIZATION)}
    assert found[0].similarity >= 0.6
    assert find_similar_people(first_name="Johannes", last_name="Schmitt", organization_ids=[organization.pk], fuzzy=False) == []


def test_it_finds_an_organization_with_the_same_name_in_another_legal_form():
    existing = OrganizationFactory(name="Müller Maschinenbau GmbH")
    OrganizationFactory(name="Müller Holzbau GmbH")
    found = find_similar_organizations(name="Mueller Maschinenbau AG")
    assert reasons(found) == {(existing.pk, Reason.SAME_ORGANIZATION_NAME)}
    assert find_similar_organizations(name="Müller Maschinenbau", exclude_pk=existing.pk) == []
    assert find_similar_organizations(name="GmbH") == []


@needs_postgres
def test_it_finds_an_organization_with_a_similar_name_on_postgres():
    existing = OrganizationFactory(name="Schmidt Maschinenbau GmbH")
    OrganizationFactory(name="Vogel Logistik GmbH")
    found = find_similar_organizations(name="Schmitt Maschinenbau")
    assert reasons(found) == {(existing.pk, Reason.SIMILAR_ORGANIZATION_NAME)}
    assert find_similar_organizations(name="Schmitt Maschinenbau", fuzzy=False) == []


def test_it_only_finds_records_the_user_may_see(nobody):
    PersonFactory(email="hans@firma.de")
    assert find_similar_people(email="hans@firma.de", user=nobody) == []


# --- groups for the duplicates page ---


def test_email_groups_hold_people_sharing_an_address_in_either_field(alice):
    first = PersonFactory(email="info@firma.de")
    second = PersonFactory(email="info@firma.de")
    third = PersonFactory(email="hans@firma.de", email_secondary="info@firma.de")
    crossed_a = PersonFactory(email="petra@firma.de")
    crossed_b = PersonFactory(email="privat@web.de", email_secondary="petra@firma.de")
    PersonFactory(email="alone@firma.de")

    page = email_duplicate_groups(user=alice)

    groups = {g.key: [p.pk for p in g.members] for g in page.groups}
    assert groups == {
        "info@firma.de": [first.pk, second.pk, third.pk],
        "petra@firma.de": [crossed_a.pk, crossed_b.pk],
    }
    assert {g.key: g.size for g in page.groups} == {"info@firma.de": 3, "petra@firma.de": 2}
    assert page.next_cursor == ""


def test_email_groups_are_paged_by_cursor_without_overlap(alice):
    for n in range(7):
        PersonFactory.create_batch(2, email=f"shared{n:02}@firma.de")
    first = email_duplicate_groups(user=alice, page_size=5)
    assert [g.key for g in first.groups] == [f"shared{n:02}@firma.de" for n in range(5)]
    assert first.next_cursor == "shared04@firma.de"
    second = email_duplicate_groups(user=alice, after=first.next_cursor, page_size=5)
    assert [g.key for g in second.groups] == ["shared05@firma.de", "shared06@firma.de"]
    assert second.next_cursor == ""


def test_a_large_group_shows_a_bounded_number_of_members(alice):
    PersonFactory.create_batch(12, email="info@firma.de")
    (group,) = email_duplicate_groups(user=alice).groups
    assert group.size == 12
    assert len(group.members) == 10
    assert group.hidden_count == 2


def test_name_groups_hold_people_with_the_same_name_at_one_organization(alice):
    organization, elsewhere = OrganizationFactory(), OrganizationFactory()
    hans = EmploymentFactory(person__first_name="Hans", person__last_name="Müller", organization=organization).person
    hans_again = EmploymentFactory(person__first_name="Hans", person__last_name="Mueller", organization=organization).person
    EmploymentFactory(person__first_name="Hans", person__last_name="Müller", organization=elsewhere)
    EmploymentFactory(person__first_name="Petra", person__last_name="Müller", organization=organization)

    page = name_duplicate_groups(user=alice)

    (group,) = page.groups
    assert [p.pk for p in group.members] == [hans.pk, hans_again.pk]
    assert group.organization == organization
    assert group.size == 2


def test_name_groups_are_paged_by_cursor(alice):
    organization = OrganizationFactory()
    for last_name in ["Adler", "Becker", "Conrad"]:
        EmploymentFactory.create_batch(2, person__first_name="Eva", person__last_name=last_name, organization=organization)
    first = name_duplicate_groups(user=alice, page_size=2)
    assert [g.label for g in first.groups] == ["Eva Adler", "Eva Becker"]
    second = name_duplicate_groups(user=alice, after=first.next_cursor, page_size=2)
    assert [g.label for g in second.groups] == ["Eva Conrad"]
    assert second.next_cursor == ""


def test_a_broken_cursor_starts_from_the_beginning(alice):
    organization = OrganizationFactory()
    EmploymentFactory.create_batch(2, person__first_name="Eva", person__last_name="Adler", organization=organization)
    assert len(name_duplicate_groups(user=alice, after="no|cursor|x").groups) == 1
    assert email_duplicate_groups(user=alice, after="\x00<script>").groups == []
    assert len(name_duplicate_groups(user=alice, after="a\x00|1").groups) == 1
    assert organization_duplicate_groups(user=alice, after="\x00").groups == []
    assert find_similar_people(email="a\x00@b.de", first_name="\x00", last_name="x", organization_ids=[organization.pk]) == []
    assert find_similar_organizations(name="M\x00ller") == []


def test_organization_groups_hold_organizations_with_the_same_name_key(alice):
    first = OrganizationFactory(name="Müller Maschinenbau GmbH")
    second = OrganizationFactory(name="Mueller Maschinenbau AG")
    OrganizationFactory(name="Müller Holzbau GmbH")
    (group,) = organization_duplicate_groups(user=alice).groups
    assert [o.pk for o in group.members] == [first.pk, second.pk]
    assert group.label == "Müller Maschinenbau GmbH"


def test_people_without_a_crm_role_get_no_groups(nobody):
    PersonFactory.create_batch(2, email="info@firma.de")
    OrganizationFactory.create_batch(2, name="Müller GmbH")
    assert email_duplicate_groups(user=nobody).groups == []
    assert organization_duplicate_groups(user=nobody).groups == []


# --- the duplicates page ---


def list_url():
    return reverse("contacts:duplicate_list")


@pytest.mark.parametrize("role", list(Role.values))
def test_every_crm_role_may_open_the_page(client_for, role_users, role):
    response = client_for(role_users[role]).get(list_url())
    assert response.status_code == 200
    assert response.context["breadcrumbs"][-1].label == "Duplicates"


def test_people_without_a_role_are_refused(client_for, nobody):
    assert client_for(nobody).get(list_url()).status_code == 403


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(list_url())
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_lists_groups_with_links_to_records_and_merge(client_for, alice):
    mine = PersonFactory(email="info@firma.de", owner=alice)
    also_mine = PersonFactory(email="info@firma.de", owner=alice)
    response = client_for(alice).get(list_url())
    body = response.content.decode()
    assert mine.get_absolute_url() in body
    assert reverse("contacts:person_merge", args=[mine.pk, also_mine.pk]) in body


def test_merge_links_show_only_for_records_the_user_may_edit(client_for, alice, charlie):
    mine = PersonFactory(email="info@firma.de", owner=alice)
    theirs = PersonFactory(email="info@firma.de", owner=charlie)
    body = client_for(alice).get(list_url()).content.decode()
    assert theirs.get_absolute_url() in body
    assert reverse("contacts:person_merge", args=[mine.pk, theirs.pk]) not in body


@pytest.mark.parametrize("tab", ["email", "names", "organizations"])
def test_each_tab_renders(client_for, alice, tab):
    organization = OrganizationFactory(name="Müller GmbH", owner=alice)
    OrganizationFactory(name="Mueller AG", owner=alice)
    EmploymentFactory.create_batch(2, person__first_name="Eva", person__last_name="Adler", person__email="eva@x.de", organization=organization)
    response = client_for(alice).get(list_url(), {"tab": tab})
    assert response.status_code == 200
    assert response.context["tab"] == tab
    assert len(response.context["page"].groups) == 1


def test_an_htmx_request_gets_only_the_groups(client_for, alice):
    PersonFactory.create_batch(2, email="info@firma.de", owner=alice)
    response = client_for(alice).get(
        list_url(), {"tab": "email"}, headers={"HX-Request": "true", "HX-Target": "duplicate-groups"}
    )
    body = response.content.decode()
    assert "info@firma.de" in body
    assert "<html" not in body


def test_an_unknown_tab_shows_the_first(client_for, alice):
    response = client_for(alice).get(list_url(), {"tab": "<b>", "after": "x" * 5000})
    assert response.status_code == 200
    assert response.context["tab"] == "email"


def test_the_next_page_link_carries_the_cursor(client_for, alice, settings):
    for n in range(27):
        PersonFactory.create_batch(2, email=f"shared{n:02}@firma.de", owner=alice)
    response = client_for(alice).get(list_url())
    assert len(response.context["page"].groups) == 25
    assert "after=shared24%40firma.de" in response.content.decode()
    second = client_for(alice).get(list_url(), {"after": "shared24@firma.de"})
    assert [g.key for g in second.context["page"].groups] == ["shared25@firma.de", "shared26@firma.de"]


def _make_groups(count, owner):
    for n in range(count):
        organization = OrganizationFactory(name=f"Firma {n:03} GmbH", owner=owner)
        OrganizationFactory(name=f"Firma {n:03} AG", owner=owner)
        for _ in range(2):
            EmploymentFactory(
                person__first_name="Eva",
                person__last_name=f"Name{n:03}",
                person__email=f"shared{n:03}@firma.de",
                person__owner=owner,
                organization=organization,
            )


@pytest.mark.parametrize("tab", ["email", "names", "organizations"])
def test_the_page_runs_the_same_number_of_queries_for_5_and_30_groups(
    client_for, alice, django_assert_max_num_queries, tab
):
    client = client_for(alice)
    _make_groups(5, alice)
    client.get(list_url(), {"tab": tab})  # warm the session and the user's caches
    with django_assert_max_num_queries(12) as few:
        response = client.get(list_url(), {"tab": tab})
    assert len(response.context["page"].groups) == 5
    _make_groups(25, alice)  # 30 groups: a full page of 25 and a next page
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(list_url(), {"tab": tab})
    assert len(response.context["page"].groups) == 25
    assert len(many.captured_queries) == len(few.captured_queries)
