"""Segments of chosen organizations (`organization_ids`): made by `segment_create_for_organizations`
from a list elsewhere (the customers dashboard), kept when the segment's form is saved."""

import pytest
from django.urls import reverse

from contacts.tests.factories import EmploymentFactory, OrganizationFactory
from marketing import services
from marketing.segments import describe, people_matching
from marketing.tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db


def test_organization_ids_select_the_people_working_there():
    first, second, other = OrganizationFactory(), OrganizationFactory(), OrganizationFactory()
    at_first = EmploymentFactory(organization=first).person
    at_second = EmploymentFactory(organization=second).person
    EmploymentFactory(organization=other)
    both = EmploymentFactory(organization=first).person
    EmploymentFactory(person=both, organization=second, is_primary=False)
    people = people_matching({"organization_ids": [first.pk, second.pk]})
    assert set(people) == {at_first, at_second, both}
    assert people.count() == 3  # no duplicates for a person at two of them


def test_an_empty_or_broken_organization_list_selects_nobody():
    EmploymentFactory()
    assert list(people_matching({"organization_ids": []})) == []
    assert list(people_matching({"organization_ids": "1,2"})) == []
    assert list(people_matching({"organization_ids": ["x", None, -3]})) == []


def test_other_conditions_still_apply_with_organization_ids():
    organization = OrganizationFactory()
    customer = EmploymentFactory(organization=organization, person__lifecycle_stage="customer").person
    EmploymentFactory(organization=organization, person__lifecycle_stage="lead")
    assert list(people_matching({"organization_ids": [organization.pk], "lifecycle_stages": ["customer"]})) == [customer]


def test_the_service_makes_a_segment_of_the_organizations(role_users):
    organization = OrganizationFactory()
    person = EmploymentFactory(organization=organization).person
    segment = services.segment_create_for_organizations(
        name="Rückgewinnung", organization_ids=[organization.pk, organization.pk], owner=role_users["marketing"],
        description="Aus dem Kunden-Dashboard",
    )
    assert segment.definition == {"organization_ids": [organization.pk]}
    assert list(segment.people()) == [person]
    assert "Works at one of the chosen organizations (1)" in describe(segment.definition)


def test_saving_the_form_keeps_the_chosen_organizations(client, marketer):
    organization = OrganizationFactory()
    segment = SegmentFactory(definition={"organization_ids": [organization.pk]})
    client.force_login(marketer)
    response = client.post(
        reverse("marketing:segment_update", args=[segment.pk]),
        {"name": "Top-Kunden", "f-email_consent": "on"},
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.definition == {"email_consent": True, "organization_ids": [organization.pk]}
    assert client.get(reverse("marketing:segment_detail", args=[segment.pk])).status_code == 200
