"""Attachments over the API: listed per record, uploaded with the record page's checks (a file
too big is 413 with the field's error), downloaded as the file itself, deleted as the page
allows (the uploader, their managers, admins)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Attachment
from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm.tests.api_client import call, token_for

ATTACHMENTS = "/api/v1/attachments/"


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def upload(client, token, **data):
    return client.post(ATTACHMENTS, data=data, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_it_uploads_lists_downloads_and_deletes(client, alice, write_token):
    person = PersonFactory(owner=alice)
    response = upload(client, write_token, person=person.pk,
                      file=SimpleUploadedFile("Angebot 2027.pdf", b"%PDF-1.4 test", content_type="application/pdf"))
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["name"], data["size"], data["content_type"], data["person"]) == ("Angebot 2027.pdf", 13, "application/pdf", person.pk)
    assert data["uploaded_by"] == alice.pk and response["Location"].endswith(f"{ATTACHMENTS}{data['id']}/")
    other = OrganizationFactory()
    Attachment.objects.create(organization=other, name="x.txt", file=SimpleUploadedFile("x.txt", b"x"), uploaded_by=alice)
    listed = call(client, "get", f"{ATTACHMENTS}?person={person.pk}", token=write_token).json()["results"]
    assert [a["id"] for a in listed] == [data["id"]]
    download = client.get(data["download_url"], HTTP_AUTHORIZATION=f"Bearer {write_token}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;") and "Angebot" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert call(client, "delete", f"{ATTACHMENTS}{data['id']}/", token=write_token).status_code == 204
    assert not Attachment.objects.filter(pk=data["id"]).exists()


def test_a_file_too_big_is_413_with_the_field_error_and_an_empty_one_400(client, alice, write_token, settings):
    settings.ATTACHMENT_MAX_BYTES = 1_048_576
    person = PersonFactory(owner=alice)
    response = upload(client, write_token, person=person.pk, file=SimpleUploadedFile("big.bin", b"x" * 1_048_577))
    assert response.status_code == 413, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert "too big" in response.json()["errors"]["file"][0]
    empty = upload(client, write_token, person=person.pk, file=SimpleUploadedFile("leer.txt", b""))
    assert empty.status_code == 400 and "file" in empty.json()["errors"]
    nowhere = upload(client, write_token, file=SimpleUploadedFile("a.txt", b"a"))
    assert nowhere.status_code == 400 and "person" in nowhere.json()["errors"]
    unknown = upload(client, write_token, person=999999, file=SimpleUploadedFile("a.txt", b"a"))
    assert unknown.status_code == 400 and "person" in unknown.json()["errors"]
    as_json = call(client, "post", ATTACHMENTS, {"person": person.pk}, token=write_token)
    assert as_json.status_code == 415
    assert not Attachment.objects.exists()


def test_only_the_uploader_their_manager_and_admins_delete(client, alice, bob, manager, admin_user):
    person = PersonFactory(owner=alice)
    attachment = Attachment.objects.create(person=person, name="a.txt", file=SimpleUploadedFile("a.txt", b"a"),
                                           uploaded_by=alice)
    url = f"{ATTACHMENTS}{attachment.pk}/"
    assert call(client, "get", url, token=token_for(bob)).status_code == 200  # a teammate sees it
    assert call(client, "delete", url, token=token_for(bob)).status_code == 403
    assert call(client, "delete", url, token=token_for(manager)).status_code == 204


def test_stale_if_match_on_delete_is_412(client, alice, write_token):
    person = PersonFactory(owner=alice)
    attachment = Attachment.objects.create(person=person, name="a.txt", file=SimpleUploadedFile("a.txt", b"a"),
                                           uploaded_by=alice)
    url = f"{ATTACHMENTS}{attachment.pk}/"
    etag = call(client, "get", url, token=write_token)["ETag"]
    assert call(client, "delete", url, token=write_token, If_Match='"stale"').status_code == 412
    assert call(client, "delete", url, token=write_token, If_Match=etag).status_code == 204


def test_no_role_no_download(client, alice, nobody):
    attachment = Attachment.objects.create(organization=OrganizationFactory(), name="x.txt",
                                           file=SimpleUploadedFile("x.txt", b"geheim"), uploaded_by=alice)
    response = client.get(f"{ATTACHMENTS}{attachment.pk}/download/", HTTP_AUTHORIZATION=f"Bearer {token_for(nobody)}")
    assert response.status_code == 403
    assert b"geheim" not in response.content


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_makes_the_same_few_queries_for_few_and_many(client, alice, write_token, count, django_assert_max_num_queries):
    person = PersonFactory(owner=alice)
    for n in range(count):
        Attachment.objects.create(person=person, name=f"{n}.txt", file=SimpleUploadedFile(f"{n}.txt", b"a"), uploaded_by=alice)
    # token, its touch, roles, the attachments, and the throttle's cache
    with django_assert_max_num_queries(6):
        response = call(client, "get", f"{ATTACHMENTS}?person={person.pk}&limit=100", token=write_token)
    assert len(response.json()["results"]) == count
