import pytest
from django.urls import reverse

from contacts.models import Organization
from contacts.tests.factories import ActivityFactory, EmploymentFactory, OrganizationFactory


@pytest.fixture
def org(alice):
    return OrganizationFactory(name="Müller Maschinenbau GmbH", owner=alice)


def test_list_shows_organizations(org, bob, client_for):
    response = client_for(bob).get(reverse("contacts:organization_list"))
    assert response.status_code == 200
    assert "Müller Maschinenbau GmbH" in response.content.decode()


def test_list_filters_and_sorts(alice, client_for):
    OrganizationFactory(name="Alpha AG", relationship=Organization.Relationship.PARTNER)
    OrganizationFactory(name="Zeta GmbH", relationship=Organization.Relationship.CUSTOMER)
    client = client_for(alice)
    body = client.get(reverse("contacts:organization_list"), {"relationship": "partner"}).content.decode()
    assert "Alpha AG" in body and "Zeta GmbH" not in body
    body = client.get(reverse("contacts:organization_list"), {"sort": "-name"}).content.decode()
    assert body.index("Zeta GmbH") < body.index("Alpha AG")


def test_list_search_box_is_accent_insensitive(org, alice, client_for):
    body = client_for(alice).get(reverse("contacts:organization_list"), {"q": "mueller"}).content.decode()
    assert "Müller Maschinenbau GmbH" in body


def test_htmx_gets_only_the_table(org, alice, client_for):
    response = client_for(alice).get(
        reverse("contacts:organization_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-table"
    )
    body = response.content.decode()
    assert "<html" not in body and "Müller Maschinenbau GmbH" in body


def test_bad_filter_values_do_not_break_the_list(org, alice, client_for):
    client = client_for(alice)
    for params in [{"owner": "abc"}, {"relationship": "nonsense"}, {"sort": "password"}, {"page": "999"}, {"page": "x"}]:
        assert client.get(reverse("contacts:organization_list"), params).status_code in (200, 404)


@pytest.mark.parametrize("rows", [3, 30])
def test_list_query_count_is_constant(alice, client_for, django_assert_max_num_queries, rows):
    for _ in range(rows):
        OrganizationFactory()
    client = client_for(alice)
    with django_assert_max_num_queries(12):
        client.get(reverse("contacts:organization_list"))


@pytest.mark.parametrize("rows", [2, 40])
def test_detail_query_count_is_constant(org, alice, client_for, django_assert_max_num_queries, rows):
    for _ in range(rows):
        ActivityFactory(person=None, organization=org)
        EmploymentFactory(organization=org)
    client = client_for(alice)
    # 25: the timeline also reads the campaign history of the organization's people (four queries);
    # the custom fields' definitions are one.
    with django_assert_max_num_queries(25):
        response = client.get(org.get_absolute_url())
    assert response.status_code == 200


def test_detail_shows_timeline_newest_first(org, alice, client_for):
    ActivityFactory(person=None, organization=org, subject="Erstkontakt", occurred_at="2026-01-01T10:00:00+01:00")
    ActivityFactory(person=None, organization=org, subject="Angebot geschickt", occurred_at="2026-03-01T10:00:00+01:00")
    body = client_for(alice).get(org.get_absolute_url()).content.decode()
    assert body.index("Angebot geschickt") < body.index("Erstkontakt")


def test_owner_creates_with_addresses(alice, client_for):
    data = {
        "name": "Neue Firma GmbH", "legal_form": "gmbh", "relationship": "prospect", "industry": "it",
        "country": "DE", "phone": "030 1234567", "owner": alice.pk,
        "rows-TOTAL_FORMS": "1", "rows-INITIAL_FORMS": "0",
        "rows-0-kind": "main", "rows-0-street": "Hauptstr. 1", "rows-0-postal_code": "10115", "rows-0-city": "Berlin",
        "rows-0-country": "DE",
    }
    response = client_for(alice).post(reverse("contacts:organization_create"), data)
    assert response.status_code == 302
    org = Organization.objects.get(name="Neue Firma GmbH")
    assert org.phone.as_e164 == "+49301234567"
    assert org.addresses.get().city == "Berlin"
    assert org.history.count() == 1


def test_bad_input_is_explained_next_to_the_field(alice, client_for):
    data = {"name": "", "relationship": "prospect", "phone": "12", "website": "nicht eine url", "employees": "-5",
            "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0"}
    response = client_for(alice).post(reverse("contacts:organization_create"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert {"name", "phone", "website", "employees"} <= set(form.errors)
    assert not Organization.objects.exists()


def test_owner_and_manager_may_edit_teammate_and_outsider_may_not(org, alice, bob, manager, charlie, client_for):
    url = reverse("contacts:organization_update", args=[org.pk])
    assert client_for(alice).get(url).status_code == 200
    assert client_for(manager).get(url).status_code == 200
    assert client_for(bob).get(url).status_code == 403
    assert client_for(charlie).get(url).status_code == 403


def test_everyone_with_a_role_reads_and_nobody_else(org, role_users, nobody, client_for):
    for user in role_users.values():
        assert client_for(user).get(org.get_absolute_url()).status_code == 200
    assert client_for(nobody).get(org.get_absolute_url()).status_code == 404


def test_edit_is_recorded_in_history(org, alice, client_for):
    data = {"name": "Müller Maschinenbau AG", "relationship": "customer", "country": "DE", "owner": alice.pk,
            "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0", "version": org.updated_at.isoformat()}
    assert client_for(alice).post(reverse("contacts:organization_update", args=[org.pk]), data).status_code == 302
    body = client_for(alice).get(reverse("contacts:organization_history", args=[org.pk])).content.decode()
    assert "Müller Maschinenbau GmbH" in body and "Müller Maschinenbau AG" in body


def test_delete_needs_edit_rights(org, alice, charlie, client_for):
    url = reverse("contacts:organization_delete", args=[org.pk])
    assert client_for(charlie).post(url).status_code == 403
    assert Organization.objects.filter(pk=org.pk).exists()
    assert client_for(alice).post(url).status_code == 302
    assert not Organization.objects.filter(pk=org.pk).exists()


def test_missing_record_is_404(alice, client_for):
    assert client_for(alice).get(reverse("contacts:organization_detail", args=[999999])).status_code == 404


def test_similar_name_on_entry_asks_for_confirmation(org, alice, client_for):
    client = client_for(alice)
    data = {"name": "Mueller Maschinenbau AG", "relationship": "prospect", "country": "DE", "owner": alice.pk,
            "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0"}
    response = client.post(reverse("contacts:organization_create"), data)
    assert response.status_code == 200
    assert org.get_absolute_url() in response.content.decode()
    assert Organization.objects.count() == 1
    response = client.post(reverse("contacts:organization_create"), {**data, "confirm_new": "on"})
    assert response.status_code == 302
    assert Organization.objects.count() == 2


def test_concurrent_edit_is_not_silently_overwritten(org, alice, manager, client_for):
    opened = org.updated_at.isoformat()
    org.description = "Vom Manager ergänzt"
    org.save()
    data = {"name": "Müller Maschinenbau AG", "relationship": "customer", "country": "DE", "owner": alice.pk,
            "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0", "version": opened}
    client = client_for(alice)
    response = client.post(reverse("contacts:organization_update", args=[org.pk]), data)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    org.refresh_from_db()
    assert org.name == "Müller Maschinenbau GmbH" and org.description == "Vom Manager ergänzt"
    # Saving again from the re-shown form is a deliberate decision and goes through.
    data["version"] = response.context["version"]
    assert client.post(reverse("contacts:organization_update", args=[org.pk]), data).status_code == 302
