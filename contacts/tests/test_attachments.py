import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from contacts.models import Attachment
from contacts.tests.factories import OrganizationFactory


@pytest.fixture
def org(alice):
    return OrganizationFactory(owner=alice)


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def test_upload_download_delete(org, alice, client_for):
    client = client_for(alice)
    upload = SimpleUploadedFile("Angebot 2027.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(reverse("contacts:attachment_upload"), {"organization": org.pk, "file": upload})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.name == "Angebot 2027.pdf" and attachment.size == 13
    download = client.get(reverse("contacts:attachment_download", args=[attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert "attachment" in download["Content-Disposition"]
    assert client.post(reverse("contacts:attachment_delete", args=[attachment.pk])).status_code == 302
    assert not Attachment.objects.exists()


def test_no_role_no_download(org, alice, nobody, client_for):
    attachment = Attachment.objects.create(
        organization=org, name="x.txt", file=SimpleUploadedFile("x.txt", b"geheim"), uploaded_by=alice
    )
    assert client_for(nobody).get(reverse("contacts:attachment_download", args=[attachment.pk])).status_code == 403


def test_outsider_cannot_delete(org, alice, charlie, client_for):
    attachment = Attachment.objects.create(
        organization=org, name="x.txt", file=SimpleUploadedFile("x.txt", b"data"), uploaded_by=alice
    )
    assert client_for(charlie).post(reverse("contacts:attachment_delete", args=[attachment.pk])).status_code == 403


@override_settings(ATTACHMENT_MAX_BYTES=10)
def test_too_big_or_empty_files_are_refused_with_a_message(org, alice, client_for):
    client = client_for(alice)
    big = SimpleUploadedFile("big.bin", b"x" * 11)
    response = client.post(reverse("contacts:attachment_upload"), {"organization": org.pk, "file": big}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    empty = SimpleUploadedFile("empty.txt", b"")
    client.post(reverse("contacts:attachment_upload"), {"organization": org.pk, "file": empty})
    assert not Attachment.objects.exists()
