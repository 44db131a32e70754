import pytest
from django.contrib import admin
from django.urls import reverse

from contacts.tests.factories import ActivityFactory, EmploymentFactory, OrganizationFactory


@pytest.fixture
def data(db):
    employment = EmploymentFactory()
    ActivityFactory(person=employment.person, organization=employment.organization)
    return employment


@pytest.mark.parametrize("model_admin", list(admin.site._registry.values()), ids=lambda m: m.model._meta.label)
def test_every_admin_changelist_and_add_page_opens(data, admin_user, client_for, model_admin):
    opts = model_admin.model._meta
    client = client_for(admin_user)
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    if model_admin.has_add_permission(type("R", (), {"user": admin_user})()):
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_admin_search_uses_indexed_lookups(data, admin_user, client_for):
    response = client_for(admin_user).get(reverse("admin:contacts_person_changelist"), {"q": data.person.last_name})
    assert data.person.last_name in response.content.decode()


def test_changelist_does_not_count_the_whole_table(data, admin_user, client_for):
    for _ in range(5):
        OrganizationFactory()
    response = client_for(admin_user).get(reverse("admin:contacts_organization_changelist"))
    assert response.context["cl"].show_full_result_count is False


def test_non_staff_users_are_kept_out(role_users, client_for):
    response = client_for(role_users["sales_rep"]).get(reverse("admin:contacts_person_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_admin_search_is_accent_insensitive_like_the_global_search(db, admin_user, client_for):
    from contacts.tests.factories import PersonFactory

    PersonFactory(first_name="Jürgen", last_name="Müller")
    PersonFactory(first_name="Karl", last_name="Weber")
    body = client_for(admin_user).get(reverse("admin:contacts_person_changelist"), {"q": "mueller"}).content.decode()
    assert "Müller" in body and "Weber" not in body
