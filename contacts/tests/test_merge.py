"""Merging two people or two organizations: the services and the merge pages."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.forms.merge import version
from contacts.models import Activity, Attachment, Employment, MergeRecord, Organization, OrganizationAddress, Person
from contacts.services.duplicates import merge_relations, organization_merge, person_merge
from contacts.tests.factories import (
    ActivityFactory,
    EmploymentFactory,
    OrganizationFactory,
    PersonFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def attach(**about):
    return Attachment.objects.create(file=SimpleUploadedFile("angebot.txt", b"Angebot"), name="angebot.txt", **about)


def person_url(survivor, other):
    return reverse("contacts:person_merge", args=[survivor.pk, other.pk])


def organization_url(survivor, other):
    return reverse("contacts:organization_merge", args=[survivor.pk, other.pk])


def notes_about(person=None, organization=None):
    return list(Activity.objects.about(person=person, organization=organization).values_list("subject", flat=True))


# --- the services ---


def contacts_relations(model) -> set[str]:
    """Other apps add their own relations (deals, tickets ...); those are tested in those apps."""
    return {r.name for r in merge_relations(model) if r.model._meta.app_label == "contacts"}


def test_every_relation_to_people_and_organizations_is_found():
    assert contacts_relations(Person) == {"employments", "activities", "attachments", "tags"}
    assert contacts_relations(Organization) == {
        "addresses", "employments", "activities", "attachments", "tags",
    }


def test_person_merge_moves_everything_to_the_survivor(alice):
    survivor = PersonFactory(owner=alice, first_name="Hans", last_name="Meier", email="hans@firma.de")
    other = PersonFactory(owner=alice, first_name="Hans", last_name="Meier", email="h.meier@firma.de")
    activities = ActivityFactory.create_batch(3, person=other)
    attachment = attach(person=other)
    employment = EmploymentFactory(person=other, position="Einkauf")
    survivor.tags.add(TagFactory(name="VIP"))
    other.tags.add(TagFactory(name="VIP"), TagFactory(name="Messe"))

    result = person_merge(survivor=survivor, other=other, user=alice)

    assert result.pk == survivor.pk
    assert not Person.objects.filter(pk=other.pk).exists()
    assert set(Activity.objects.filter(pk__in=[a.pk for a in activities]).values_list("person_id", flat=True)) == {survivor.pk}
    attachment.refresh_from_db()
    assert attachment.person_id == survivor.pk
    employment.refresh_from_db()
    assert employment.person_id == survivor.pk
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["Messe", "VIP"]


def test_a_shared_organization_keeps_one_employment_with_the_blanks_filled(alice):
    organization = OrganizationFactory()
    survivor = PersonFactory(owner=alice)
    other = PersonFactory(owner=alice)
    kept = EmploymentFactory(person=survivor, organization=organization, position="", department="Einkauf")
    EmploymentFactory(person=other, organization=organization, position="Leiterin Einkauf", department="Vertrieb")
    elsewhere = EmploymentFactory(person=other, position="Beirat")

    person_merge(survivor=survivor, other=other, user=alice)

    assert Employment.objects.filter(person=survivor).count() == 2
    kept.refresh_from_db()
    assert (kept.position, kept.department) == ("Leiterin Einkauf", "Einkauf")
    elsewhere.refresh_from_db()
    assert elsewhere.person_id == survivor.pk


def test_empty_fields_are_filled_from_the_other_record(alice):
    survivor = PersonFactory(owner=alice, city="", phone="", street="Hauptstr. 1", email="hans@firma.de")
    other = PersonFactory(owner=alice, city="Köln", phone="+49 221 123456", street="Ringstr. 5", email="x@firma.de")
    person_merge(survivor=survivor, other=other, user=alice)
    survivor.refresh_from_db()
    assert survivor.city == "Köln"
    assert survivor.phone.as_e164 == "+49221123456"
    assert survivor.street == "Hauptstr. 1"


def test_field_values_choose_which_record_wins(alice):
    survivor = PersonFactory(owner=alice, city="Berlin", first_name="Hans", last_name="Meier", lifecycle_stage=Person.Lifecycle.LEAD)
    other = PersonFactory(owner=alice, city="Köln", first_name="Hans", last_name="Mayer", lifecycle_stage=Person.Lifecycle.CUSTOMER)
    person_merge(
        survivor=survivor,
        other=other,
        user=alice,
        field_values={"city": "other", "last_name": "survivor", "lifecycle_stage": "other"},
    )
    survivor.refresh_from_db()
    assert (survivor.city, survivor.last_name, survivor.lifecycle_stage) == ("Köln", "Meier", Person.Lifecycle.CUSTOMER)
    assert "koln" in survivor.search_key
    assert survivor.name_key == "hans meier"


def test_unknown_field_values_are_refused_before_anything_changes(alice):
    survivor, other = PersonFactory(owner=alice), PersonFactory(owner=alice)
    ActivityFactory(person=other)
    with pytest.raises(ValueError):
        person_merge(survivor=survivor, other=other, user=alice, field_values={"password": "other"})
    assert Person.objects.filter(pk=other.pk).exists()
    assert Activity.objects.filter(person=other).count() == 1


def test_both_email_addresses_are_kept(alice):
    survivor = PersonFactory(owner=alice, email="hans@firma.de", email_secondary="")
    other = PersonFactory(owner=alice, email="hans.privat@web.de", email_secondary="hans@firma.de")
    person_merge(survivor=survivor, other=other, user=alice)
    survivor.refresh_from_db()
    assert (survivor.email, survivor.email_secondary) == ("hans@firma.de", "hans.privat@web.de")


def test_a_merge_record_keeps_what_the_other_held(alice):
    survivor = PersonFactory(owner=alice)
    other = PersonFactory(owner=alice, first_name="Jürgen", last_name="Weiß", email="jw@firma.de", birthday="1970-05-01")
    other.tags.add(TagFactory(name="Messe"))
    ActivityFactory.create_batch(2, person=other)
    attach(person=other)

    person_merge(survivor=survivor, other=other, user=alice)

    record = MergeRecord.objects.get()
    assert (record.kind, record.survivor_id, record.merged_id) == ("person", survivor.pk, other.pk)
    assert record.merged_label == "Jürgen Weiß"
    assert record.merged_by == alice
    assert record.merged_data["email"] == "jw@firma.de"
    assert record.merged_data["birthday"] == "1970-05-01"
    assert record.merged_data["tags"] == ["Messe"]
    assert record.moved == {"activities": 2, "attachments": 1, "tags": 1}
    json.dumps(record.merged_data)


def test_the_survivors_timeline_tells_of_the_merge_and_the_history_stays(alice):
    survivor = PersonFactory(owner=alice)
    other = PersonFactory(owner=alice, first_name="Jürgen", last_name="Weiß")
    other_id = other.pk
    person_merge(survivor=survivor, other=other, user=alice)
    note = Activity.objects.about(person=survivor).get()
    assert note.subject == "Merged with Jürgen Weiß"
    assert note.created_by == alice
    assert note.kind == Activity.Kind.NOTE
    history = Person.history.filter(id=other_id)
    assert history.filter(history_type="+").exists()
    assert history.get(history_type="-").history_user == alice


def test_a_record_cannot_be_merged_with_itself(alice):
    person = PersonFactory(owner=alice)
    with pytest.raises(ValidationError):
        person_merge(survivor=person, other=Person.objects.get(pk=person.pk), user=alice)
    assert Person.objects.filter(pk=person.pk).exists()


def test_the_service_refuses_a_user_who_may_not_edit_both(alice, charlie):
    mine, theirs = PersonFactory(owner=alice), PersonFactory(owner=charlie)
    ActivityFactory(person=theirs)
    with pytest.raises(PermissionDenied):
        person_merge(survivor=mine, other=theirs, user=alice)
    assert Activity.objects.filter(person=theirs).count() == 1
    assert MergeRecord.objects.count() == 0


def test_organization_merge_moves_people_addresses_activities_and_tags(alice):
    survivor = OrganizationFactory(owner=alice, name="Müller Maschinenbau GmbH", website="")
    other = OrganizationFactory(owner=alice, name="Mueller Maschinenbau AG", website="https://mueller.example")
    both = PersonFactory()
    EmploymentFactory(person=both, organization=survivor, position="")
    EmploymentFactory(person=both, organization=other, position="Geschäftsführer")
    only_other = EmploymentFactory(organization=other).person
    address = OrganizationAddress.objects.create(organization=other, street="Ringstr. 5", postal_code="50667", city="Köln")
    activity = ActivityFactory(person=None, organization=other)
    attachment = attach(organization=other)
    other.tags.add(TagFactory(name="Kunde"))

    organization_merge(survivor=survivor, other=other, user=alice)

    assert not Organization.objects.filter(pk=other.pk).exists()
    survivor.refresh_from_db()
    assert survivor.website == "https://mueller.example"
    assert set(survivor.people.values_list("pk", flat=True)) == {both.pk, only_other.pk}
    assert Employment.objects.get(person=both).position == "Geschäftsführer"
    for row in (address, activity, attachment):
        row.refresh_from_db()
        assert row.organization_id == survivor.pk
    assert list(survivor.tags.values_list("name", flat=True)) == ["Kunde"]
    assert MergeRecord.objects.get().moved == {"addresses": 1, "employments": 2, "activities": 1, "attachments": 1, "tags": 1}
    assert "Merged with Mueller Maschinenbau AG" in notes_about(organization=survivor)


# --- the merge pages ---


def test_the_merge_page_compares_the_two_records(client_for, alice):
    survivor = PersonFactory(owner=alice, first_name="Hans", last_name="Meier", city="Berlin")
    other = PersonFactory(owner=alice, first_name="Hans", last_name="Meier", city="Köln")
    ActivityFactory.create_batch(2, person=other)
    response = client_for(alice).get(person_url(survivor, other))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="field_city" value="survivor"' in body and 'name="field_city" value="other"' in body
    assert 'name="field_first_name"' not in body  # equal values need no choice
    assert "Köln" in body and "Berlin" in body
    assert [(m.relation.name, m.count) for m in response.context["moves"]] == [("activities", 2)]
    assert person_url(other, survivor) in body  # swap
    assert [c.label for c in response.context["breadcrumbs"]] == ["People", "Duplicates", "Merge"]


def test_the_merge_page_runs_a_fixed_number_of_queries(client_for, alice, django_assert_max_num_queries):
    survivor, other = PersonFactory(owner=alice), PersonFactory(owner=alice)
    ActivityFactory(person=other)
    client = client_for(alice)
    client.get(person_url(survivor, other))
    # One count per relation: other apps' relations to people add to the fixed number.
    with django_assert_max_num_queries(12 + len(merge_relations(Person))) as few:
        assert client.get(person_url(survivor, other)).status_code == 200
    ActivityFactory.create_batch(20, person=other)
    EmploymentFactory.create_batch(5, person=other)
    other.tags.add(TagFactory(), TagFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(person_url(survivor, other)).status_code == 200


def test_posting_merges_and_goes_to_the_survivor(client_for, alice):
    survivor = PersonFactory(owner=alice, first_name="Hans", last_name="Meier", city="Berlin")
    other = PersonFactory(owner=alice, first_name="Hans", last_name="Meyer", city="Köln")
    client = client_for(alice)
    form = client.get(person_url(survivor, other)).context["form"]
    response = client.post(
        person_url(survivor, other),
        {
            "survivor_version": version(survivor),
            "other_version": version(other),
            "field_city": "other",
            "field_last_name": "survivor",
            **{name: "survivor" for name in form.choice_names if name not in {"field_city", "field_last_name"}},
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == survivor.get_absolute_url()
    assert "“Hans Meyer” was merged into “Hans Meier”." in [str(m) for m in response.context["messages"]]
    survivor.refresh_from_db()
    assert (survivor.city, survivor.last_name) == ("Köln", "Meier")
    assert not Person.objects.filter(pk=other.pk).exists()


def test_a_missing_choice_is_a_form_error_not_a_merge(client_for, alice):
    survivor, other = PersonFactory(owner=alice, city="Berlin"), PersonFactory(owner=alice, city="Köln")
    response = client_for(alice).post(
        person_url(survivor, other),
        {"survivor_version": version(survivor), "other_version": version(other), "field_city": "both"},
    )
    assert response.status_code == 400
    assert Person.objects.filter(pk=other.pk).exists()


def test_a_record_changed_meanwhile_is_not_merged(client_for, alice):
    survivor, other = PersonFactory(owner=alice), PersonFactory(owner=alice)
    stale = version(other)
    other.city = "Köln"
    other.save()
    response = client_for(alice).post(
        person_url(survivor, other), {"survivor_version": version(survivor), "other_version": stale}
    )
    assert response.status_code == 200
    assert "changed since this page was opened" in response.content.decode()
    assert Person.objects.filter(pk=other.pk).exists()


def test_merging_a_record_with_itself_shows_an_error(client_for, alice):
    person = PersonFactory(owner=alice)
    response = client_for(alice).post(person_url(person, person), follow=True)
    assert response.status_code == 200
    assert "A record cannot be merged with itself" in response.content.decode()
    assert Person.objects.filter(pk=person.pk).exists()


def test_rep_cannot_merge_a_record_of_someone_outside_their_team(client_for, alice, charlie):
    mine, theirs = PersonFactory(owner=alice), PersonFactory(owner=charlie)
    client = client_for(alice)
    assert client.get(person_url(mine, theirs)).status_code == 403
    assert client.post(person_url(theirs, mine)).status_code == 403
    assert Person.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_a_teammate_cannot_merge_but_the_team_manager_can(client_for, alice, bob, manager):
    first, second = PersonFactory(owner=alice), PersonFactory(owner=alice)
    assert client_for(bob).get(person_url(first, second)).status_code == 403
    assert client_for(manager).get(person_url(first, second)).status_code == 200


def test_a_missing_record_is_404(client_for, alice):
    person = PersonFactory(owner=alice)
    assert client_for(alice).get(reverse("contacts:person_merge", args=[person.pk, 999999])).status_code == 404
    assert client_for(alice).get(reverse("contacts:organization_merge", args=[999999, 999998])).status_code == 404


def test_users_without_a_role_are_refused_and_anonymous_users_must_log_in(client, client_for, nobody, alice):
    first, second = PersonFactory(owner=alice), PersonFactory(owner=alice)
    assert client.get(person_url(first, second)).status_code == 302
    assert client_for(nobody).get(person_url(first, second)).status_code == 403


def test_the_organization_merge_page_merges(client_for, alice):
    survivor = OrganizationFactory(owner=alice, name="Müller GmbH")
    other = OrganizationFactory(owner=alice, name="Mueller AG")
    EmploymentFactory(organization=other)
    client = client_for(alice)
    page = client.get(organization_url(survivor, other))
    assert page.status_code == 200
    assert [c.label for c in page.context["breadcrumbs"]] == ["Organizations", "Duplicates", "Merge"]
    data = {"survivor_version": version(survivor), "other_version": version(other)}
    data.update({name: "survivor" for name in page.context["form"].choice_names})
    response = client.post(organization_url(survivor, other), data)
    assert response.status_code == 302
    assert response["Location"] == survivor.get_absolute_url()
    assert survivor.employments.count() == 1
    assert not Organization.objects.filter(pk=other.pk).exists()
