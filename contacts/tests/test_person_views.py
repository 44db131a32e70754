import pytest
from django.urls import reverse

from contacts.models import Employment, Person
from contacts.tests.factories import ActivityFactory, EmploymentFactory, OrganizationFactory, PersonFactory


@pytest.fixture
def person(alice):
    return PersonFactory(first_name="Jürgen", last_name="Müller", email="j.mueller@example.de", owner=alice)


def _person_data(**overrides):
    data = {
        "salutation": "mr", "academic_title": "", "first_name": "Max", "last_name": "Mustermann",
        "email": "Max@Example.de", "phone": "+49 30 1234567", "mobile": "0171 1234567", "country": "DE",
        "preferred_language": "de", "lifecycle_stage": "lead", "source": "website", "owner": "",
        "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_list_shows_main_organization(person, alice, client_for):
    org = OrganizationFactory(name="Müller Maschinenbau GmbH")
    EmploymentFactory(person=person, organization=org, position="Einkauf")
    body = client_for(alice).get(reverse("contacts:person_list")).content.decode()
    assert "Jürgen Müller" in body and "Müller Maschinenbau GmbH" in body


def test_list_filters_by_organization(person, alice, client_for):
    org = OrganizationFactory()
    EmploymentFactory(person=person, organization=org)
    PersonFactory(last_name="Außenstehend")
    body = client_for(alice).get(reverse("contacts:person_list"), {"organization": org.pk}).content.decode()
    assert "Jürgen Müller" in body and "Außenstehend" not in body


@pytest.mark.parametrize("rows", [3, 40])
def test_list_query_count_is_constant(alice, client_for, django_assert_max_num_queries, rows):
    for _ in range(rows):
        EmploymentFactory()
    client = client_for(alice)
    with django_assert_max_num_queries(12):
        client.get(reverse("contacts:person_list"))


def test_detail_query_count_is_constant(person, alice, client_for, django_assert_max_num_queries):
    """Constant in the length of the timeline; the budget includes the cards other apps add."""
    ActivityFactory.create_batch(2, person=person)
    client = client_for(alice)
    with django_assert_max_num_queries(30) as few:
        assert client.get(person.get_absolute_url()).status_code == 200
    ActivityFactory.create_batch(38, person=person)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(person.get_absolute_url()).status_code == 200


def test_create_with_organization_normalises_phone_and_email(alice, client_for):
    org = OrganizationFactory()
    data = _person_data(**{
        "owner": alice.pk,
        "rows-TOTAL_FORMS": "1", "rows-0-organization": str(org.pk), "rows-0-position": "Geschäftsführer",
        "rows-0-is_primary": "on",
    })
    response = client_for(alice).post(reverse("contacts:person_create"), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    person = Person.objects.get(last_name="Mustermann")
    assert person.email == "max@example.de"
    assert person.phone.as_e164 == "+49301234567"
    assert person.mobile.as_e164 == "+491711234567"
    assert Employment.objects.get(person=person).organization == org
    assert person.owner == alice


def test_duplicate_email_is_refused_with_a_pointer(person, alice, client_for):
    response = client_for(alice).post(reverse("contacts:person_create"), _person_data(email="J.Mueller@example.de"))
    assert response.status_code == 200
    assert "Jürgen Müller" in str(response.context["form"].errors["email"])


def test_invalid_phone_and_future_birthday_are_explained(alice, client_for):
    response = client_for(alice).post(
        reverse("contacts:person_create"), _person_data(phone="123", birthday="2999-01-01", last_name="")
    )
    errors = response.context["form"].errors
    assert {"phone", "birthday", "last_name"} <= set(errors)


def test_same_organization_twice_is_refused(alice, client_for):
    org = OrganizationFactory()
    data = _person_data(**{
        "rows-TOTAL_FORMS": "2", "rows-0-organization": str(org.pk), "rows-1-organization": str(org.pk),
    })
    response = client_for(alice).post(reverse("contacts:person_create"), data)
    assert response.status_code == 200
    assert not Person.objects.exists()


def test_unknown_organization_id_is_a_field_error(alice, client_for):
    data = _person_data(**{"rows-TOTAL_FORMS": "1", "rows-0-organization": "99999999"})
    response = client_for(alice).post(reverse("contacts:person_create"), data)
    assert response.status_code == 200
    assert not Person.objects.exists()


def test_teammate_reads_but_cannot_edit(person, bob, manager, charlie, client_for):
    assert client_for(bob).get(person.get_absolute_url()).status_code == 200
    assert client_for(bob).get(reverse("contacts:person_update", args=[person.pk])).status_code == 403
    assert client_for(charlie).post(reverse("contacts:person_delete", args=[person.pk])).status_code == 403
    assert client_for(manager).get(reverse("contacts:person_update", args=[person.pk])).status_code == 200


def test_support_agent_reads_the_shared_customer_view(person, role_users, client_for):
    agent = role_users["support_agent"]
    assert client_for(agent).get(person.get_absolute_url()).status_code == 200
    assert client_for(agent).get(reverse("contacts:person_update", args=[person.pk])).status_code == 403


def test_history_lists_changes(person, alice, client_for):
    person.city = "München"
    person.save()
    body = client_for(alice).get(reverse("contacts:person_history", args=[person.pk])).content.decode()
    assert "München" in body


def test_breadcrumbs_lead_through_the_main_organization(person, alice, client_for):
    org = OrganizationFactory(name="Müller Maschinenbau GmbH")
    EmploymentFactory(person=person, organization=org)
    body = client_for(alice).get(person.get_absolute_url()).content.decode()
    trail = body[body.index('data-testid="breadcrumbs"'):body.index("</nav>", body.index('data-testid="breadcrumbs"'))]
    assert org.get_absolute_url() in trail and "Jürgen Müller" in trail


def test_same_name_in_same_organization_asks_for_confirmation(person, alice, client_for):
    org = OrganizationFactory()
    EmploymentFactory(person=person, organization=org)
    data = _person_data(**{
        "first_name": "Jürgen", "last_name": "Mueller", "email": "",
        "rows-TOTAL_FORMS": "1", "rows-0-organization": str(org.pk),
    })
    client = client_for(alice)
    response = client.post(reverse("contacts:person_create"), data)
    assert response.status_code == 200 and person.get_absolute_url() in response.content.decode()
    assert client.post(reverse("contacts:person_create"), {**data, "confirm_new": "on"}).status_code == 302


def test_extra_position_row_is_not_pre_ticked_as_main(person, alice, client_for):
    EmploymentFactory(person=person, is_primary=True)
    formset = client_for(alice).get(reverse("contacts:person_update", args=[person.pk])).context["formset"]
    assert formset.forms[0].initial.get("is_primary", True) is True
    assert formset.forms[-1].initial["is_primary"] is False
