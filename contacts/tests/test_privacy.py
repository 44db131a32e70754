"""GDPR: the data export holds everything stored about a person; erasure empties it everywhere,
history and search included, logs it without the name, and happens completely or not at all."""

import json
import os

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from contacts.models import Activity, Attachment, Person
from contacts.tests.factories import ActivityFactory, EmploymentFactory, OrganizationFactory, PersonFactory
from crm import privacy
from crm.models import PrivacyRequest
from crm.search import search as global_search


@pytest.fixture
def subject(admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    organization = OrganizationFactory(name="Bäckerei Sommer", owner=admin_user)
    person = PersonFactory(first_name="Gudrun", last_name="Wendeltreppe", email="gudrun@example.de",
                           mobile="+49 171 7654321", street="Lindenweg 3", city="Kassel", owner=admin_user)
    EmploymentFactory(person=person, organization=organization)
    person.first_name = "Gudrun Maria"
    person.save()  # a second history row with the name in it
    private = ActivityFactory(person=person, subject="Privates Gespräch", body="Tochter krank")
    shared = ActivityFactory(person=person, organization=organization, subject="Angebot Brötchen", body="mit Gudrun")
    attachment = Attachment.objects.create(
        file=ContentFile(b"Ausweis", name="ausweis.txt"), name="ausweis.txt", size=7, person=person, uploaded_by=admin_user
    )
    return {"person": person, "organization": organization, "private": private, "shared": shared, "attachment": attachment}


def test_export_holds_the_persons_data_and_is_logged(subject, admin_user, client):
    client.force_login(admin_user)
    person = subject["person"]
    response = client.get(reverse("contacts:person_data_export", args=[person.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    record = data["sections"]["contacts.person"]["data"][0]
    assert record["email"] == "gudrun@example.de" and record["city"] == "Kassel"
    assert {a["subject"] for a in record["activities"]} == {"Privates Gespräch", "Angebot Brötchen"}
    assert record["files"][0]["name"] == "ausweis.txt"
    assert record["organizations"][0]["organization"] == "Bäckerei Sommer"
    assert len(record["changes"]) == 2
    log = PrivacyRequest.objects.get()
    assert log.kind == PrivacyRequest.Kind.EXPORT and log.person_id == person.pk and log.performed_by == admin_user
    assert "Wendeltreppe" not in json.dumps(log.summary)


def test_erasure_empties_the_person_everywhere(subject, admin_user, client):
    client.force_login(admin_user)
    person = subject["person"]
    file_path = subject["attachment"].file.path
    assert any(hits for _provider, hits in global_search(admin_user, "Wendeltreppe"))
    response = client.post(reverse("contacts:person_erase", args=[person.pk]), {"confirm": str(person.pk)})
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.first_name, person.email, str(person.mobile), person.street, person.city) == ("", "", "", "", "")
    assert "Wendeltreppe" not in person.last_name
    # Notes only about the person are gone; those also about the organization stay, without the person.
    assert not Activity.objects.filter(pk=subject["private"].pk).exists()
    shared = Activity.objects.get(pk=subject["shared"].pk)
    assert shared.person_id is None and shared.organization == subject["organization"] and shared.body == ""
    assert not Attachment.objects.filter(pk=subject["attachment"].pk).exists()
    assert not os.path.exists(file_path)
    # No history row and no search result still holds the old values.
    old_values = {"Gudrun", "Wendeltreppe", "gudrun@example.de", "Privates Gespräch", "Tochter krank"}
    for row in list(Person.history.filter(id=person.pk).values()) + list(Activity.history.values()):
        assert not old_values & {str(v) for v in row.values()}, row
    assert not any(hits for _provider, hits in global_search(admin_user, "Wendeltreppe"))
    log = PrivacyRequest.objects.get(kind=PrivacyRequest.Kind.ERASURE)
    assert log.person_id == person.pk and log.summary["contacts.person"] >= 3


def test_wrong_confirmation_erases_nothing(subject, admin_user, client):
    client.force_login(admin_user)
    person = subject["person"]
    response = client.post(reverse("contacts:person_erase", args=[person.pk]), {"confirm": "nein"})
    assert response.status_code == 200
    assert "Type the record number" in response.content.decode()
    person.refresh_from_db()
    assert person.email == "gudrun@example.de" and not PrivacyRequest.objects.exists()


def test_erasure_is_all_or_nothing(subject, admin_user):
    def failing(person):
        raise RuntimeError("storage down")

    privacy.register(privacy.PrivacyProvider("zz.failing", "Failing", export=lambda p: [], erase=failing, order=999))
    try:
        with pytest.raises(RuntimeError):
            privacy.erase_person(subject["person"], by=admin_user)
    finally:
        privacy._providers.pop("zz.failing")
    subject["person"].refresh_from_db()
    assert subject["person"].email == "gudrun@example.de"
    assert Activity.objects.filter(pk=subject["private"].pk).exists()
    assert not PrivacyRequest.objects.exists()


@pytest.mark.parametrize("name", ["contacts:person_data_export", "contacts:person_erase"])
def test_only_admins_may(subject, role_users, client, name):
    person = subject["person"]
    for role, user in role_users.items():
        if role == "admin":
            continue
        client.force_login(user)
        assert client.get(reverse(name, args=[person.pk])).status_code == 403, role
        assert client.post(reverse(name, args=[person.pk]), {"confirm": str(person.pk)}).status_code == 403, role
    person.refresh_from_db()
    assert person.email == "gudrun@example.de"


def test_person_page_offers_the_actions_to_admins_only(subject, admin_user, alice, client):
    url = reverse("contacts:person_detail", args=[subject["person"].pk])
    client.force_login(admin_user)
    assert reverse("contacts:person_erase", args=[subject["person"].pk]) in client.get(url).content.decode()
    client.force_login(alice)
    assert reverse("contacts:person_erase", args=[subject["person"].pk]) not in client.get(url).content.decode()


def test_delete_and_erasure_are_apart_from_the_everyday_actions(subject, admin_user, client):
    """One row of everyday actions (Edit first); deleting and the GDPR erasure only in the marked
    place below, each with what it does."""
    import re

    person = subject["person"]
    client.force_login(admin_user)
    html = client.get(reverse("contacts:person_detail", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    row = re.search(r'data-testid="record-actions">(.*?)\n</div>', html, re.S).group(1)
    danger = re.search(r'data-testid="danger-zone">(.*?)</section>', html, re.S).group(1)
    erase, delete = reverse("contacts:person_erase", args=[person.pk]), reverse("contacts:person_delete", args=[person.pk])
    assert row.lstrip().startswith('<a class="btn btn-primary"') and "Bearbeiten" in row.split("</a>")[0]
    assert erase not in row and delete not in row
    assert erase in danger and delete in danger and "Löschen oder entfernen" in danger
    assert "DSGVO" in danger and "Deals und Tickets bleiben" in danger
