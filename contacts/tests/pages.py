"""The contacts app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py)."""

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.addressbooks.models import AddressBookConflict, AddressBookConnection
from contacts.mailboxes.models import SyncedEmail
from contacts.models import Attachment, ImportJob, Tag
from contacts.services import importing
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory, TaskFactory
from crm.roles import IMPORT_ROLES, Role

# Pages that change a record: only its owner's side (here: admins) may open them.
EDIT_PAGES = {
    "contacts:organization_update", "contacts:organization_delete", "contacts:person_update",
    "contacts:person_delete", "contacts:person_merge", "contacts:organization_merge",
}
# Data protection export and erasure: admins only.
PRIVACY_PAGES = {"contacts:person_data_export", "contacts:person_erase"}
IMPORT_OR_EXPORT_PAGES = {
    "contacts:import_list", "contacts:import_upload", "contacts:person_export", "contacts:organization_export",
    "contacts:person_export_vcard",
}
# Another user's import is not even visible (404); its owner is the admin.
FOREIGN_IMPORT_PAGES = {
    "contacts:import_detail", "contacts:import_mapping", "contacts:import_preview", "contacts:import_progress",
}
# The API (JSON): read as the pages are read, by every CRM role; the batch upserts are POST only.
API_DETAIL_PAGES = {
    "api:person-detail", "api:organization-detail", "api:activity-detail", "api:task-detail", "api:tag-detail",
    "api:attachment-detail", "api:attachment-download",
}
POST_ONLY_PAGES = {
    "api:person-batch", "api:organization-batch", "api:activity-batch", "api:task-batch",
    "contacts:activity_create", "contacts:activity_toggle_done", "contacts:activity_delete",
    "contacts:attachment_upload", "contacts:attachment_delete",
    "contacts:mailbox_sync", "contacts:mailbox_pause", "contacts:mailbox_disconnect", "contacts:synced_email_private",
    "contacts:addressbook_push", "contacts:addressbook_pause", "contacts:addressbook_disconnect",
    "contacts:addressbook_conflict_dismiss",
}


def records(base: dict) -> dict:
    """One of every kind of contacts record a URL can point at, owned by the admin."""
    admin_user = base["user"]
    organization = OrganizationFactory(name="Müller Maschinenbau GmbH", owner=admin_user)
    twin_organization = OrganizationFactory(name="Müller Maschinenbau", owner=admin_user)
    person = PersonFactory(first_name="Jürgen", last_name="Müller", email="j.mueller@example.de", owner=admin_user)
    twin_person = PersonFactory(first_name="Jürgen", last_name="Mueller", email="juergen@example.de", owner=admin_user)
    EmploymentFactory(person=person, organization=organization)
    task = TaskFactory(person=person, created_by=admin_user, subject="Angebot nachfassen")
    attachment = Attachment.objects.create(
        file=ContentFile(b"Angebot 2027", name="angebot.txt"),
        name="angebot.txt",
        size=12,
        content_type="text/plain",
        person=person,
        uploaded_by=admin_user,
    )
    csv = b"Vorname;Nachname;E-Mail\nErika;Mustermann;erika@example.de\n"
    upload = SimpleUploadedFile("kontakte.csv", csv, content_type="text/csv")
    info = importing.inspect_csv(upload, name=upload.name, size=upload.size)
    uploaded_job = importing.import_create(target=ImportJob.Target.PEOPLE, upload=upload, info=info, user=admin_user)
    mapped_job = importing.import_create(target=ImportJob.Target.PEOPLE, upload=upload, info=info, user=admin_user)
    mapped_job.status = ImportJob.Status.MAPPED
    mapped_job.save(update_fields=["status"])
    synced_email = SyncedEmail.objects.create(
        message_key="<pages-1@example.de>", message_id="<pages-1@example.de>", thread_key="<pages-1@example.de>",
        owner=admin_user, direction=SyncedEmail.Direction.INCOMING, folder="INBOX", from_address="j.mueller@example.de",
        subject="Angebot", sent_at=timezone.now(),
    )
    tag = Tag.objects.create(name="Stammkunde")
    person.tags.add(tag)
    book = AddressBookConnection(user=admin_user, url="https://dav.example.de/", addressbook_url="https://dav.example.de/admin/crm/",
                                 username="admin")
    book.set_password("geheim")
    book.save()
    conflict = AddressBookConflict.objects.create(connection=book, person_id=person.pk, person_label="Jürgen Müller",
                                                  kind=AddressBookConflict.Kind.CHANGED_THERE)
    return {
        "addressbook_conflict": conflict,
        "tag": tag,
        "organization": organization,
        "twin_organization": twin_organization,
        "person": person,
        "twin_person": twin_person,
        "task": task,
        "attachment": attachment,
        "uploaded_job": uploaded_job,
        "mapped_job": mapped_job,
        "synced_email": synced_email,
    }


def url_kwargs(records) -> dict[str, dict]:
    org, person, job = records["organization"], records["person"], records["uploaded_job"]
    return {
        "contacts:organization_detail": {"pk": org.pk},
        "contacts:organization_update": {"pk": org.pk},
        "contacts:organization_delete": {"pk": org.pk},
        "contacts:organization_history": {"pk": org.pk},
        "contacts:person_detail": {"pk": person.pk},
        "contacts:person_update": {"pk": person.pk},
        "contacts:person_delete": {"pk": person.pk},
        "contacts:person_history": {"pk": person.pk},
        "contacts:person_email": {"pk": person.pk},
        "contacts:person_vcard": {"pk": person.pk},
        "contacts:person_data_export": {"pk": person.pk},
        "contacts:person_erase": {"pk": person.pk},
        "contacts:activity_toggle_done": {"pk": records["task"].pk},
        "contacts:activity_delete": {"pk": records["task"].pk},
        "contacts:attachment_download": {"pk": records["attachment"].pk},
        "contacts:attachment_delete": {"pk": records["attachment"].pk},
        "contacts:person_merge": {"pk": person.pk, "other_pk": records["twin_person"].pk},
        "contacts:organization_merge": {"pk": org.pk, "other_pk": records["twin_organization"].pk},
        "contacts:import_detail": {"pk": job.pk},
        "contacts:import_mapping": {"pk": job.pk},
        "contacts:import_preview": {"pk": records["mapped_job"].pk},
        "contacts:import_progress": {"pk": job.pk},
        "contacts:synced_email_private": {"pk": records["synced_email"].pk},
        "contacts:addressbook_conflict_dismiss": {"pk": records["addressbook_conflict"].pk},
        "api:person-detail": {"pk": person.pk},
        "api:organization-detail": {"pk": org.pk},
        "api:activity-detail": {"pk": records["task"].pk},
        "api:task-detail": {"pk": records["task"].pk},
        "api:tag-detail": {"pk": records["tag"].pk},
        "api:attachment-detail": {"pk": records["attachment"].pk},
        "api:attachment-download": {"pk": records["attachment"].pk},
    }


def url_queries(records) -> dict[str, str]:
    return {
        "contacts:timeline": f"person={records['person'].pk}",
        "contacts:organization_autocomplete": "q=maschinenbau",
        "contacts:person_autocomplete": "q=mueller",
    }


def expected(name: str, role: str) -> set[int] | None:
    if role == Role.ADMIN:
        return None
    if name in EDIT_PAGES | PRIVACY_PAGES:
        return {403}
    if name in IMPORT_OR_EXPORT_PAGES:
        return {200, 301, 302} if role in IMPORT_ROLES else {403}
    if name in FOREIGN_IMPORT_PAGES:
        return {404}  # not visible, so 404 whatever the role: a 403 would tell that it exists
    return None
