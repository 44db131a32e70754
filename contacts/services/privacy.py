"""What contacts stores about a person, for the data-protection export and erasure (crm.privacy).

Erasure keeps the person's row, so that deals, tickets and statistics that point at it stay
consistent, but empties every personal field, removes notes and files about the person, and
deletes the change history that still holds the old values. The global search key is rebuilt
from the emptied fields on save.
"""

from django.utils.translation import gettext as _

from contacts.models import (
    Activity,
    Attachment,
    Employment,
    ImportJob,
    MergeRecord,
    Organization,
    OrganizationAddress,
    Person,
    Tag,
)
from crm import changefeed, customfields, privacy

# Organizations are companies: what identifies a person is on the person and their notes.
classify = privacy.classify
classify(Tag, not_personal="name color")
classify(
    Organization,
    not_personal="search_key name name_key legal_form industry website phone email country employees annual_revenue "
                 "relationship owner description created_at updated_at tags external_source external_id custom_fields",
)
classify(OrganizationAddress, not_personal="organization kind street postal_code city country")
classify(
    Person,
    personal="salutation academic_title first_name last_name email email_secondary phone mobile street postal_code city "
             # The id of the person in another system (API sync) links to their data there.
             "birthday description tags external_source external_id "
             # Custom fields: all values are in the export; the erasure removes those of fields
             # marked as personal data (crm.customfields.erased).
             "custom_fields",
    derived="search_key name_key",
    # They stay on the anonymised record (for the statistics) and identify no one there.
    not_personal="country preferred_language owner lifecycle_stage source created_at updated_at organizations",
)
classify(Employment, not_personal="person organization position department is_primary")
classify(
    Activity,
    personal="subject body",
    # The id of the note in another system (API sync) names no one; the erasure deletes the
    # person's activities with it.
    not_personal="kind occurred_at created_by person organization due_at assignee done done_at regarding_type "
                 "regarding_id reminder_sent_at synced_email private_to external_source external_id",
)
classify(
    Attachment, personal="file name",
    not_personal="size content_type uploaded_by uploaded_at person organization synced_email private_to",
)
# A merge of people keeps what the merged duplicate held: the same person's data.
classify(MergeRecord, personal="merged_label merged_data", not_personal="kind survivor_id merged_id moved merged_by merged_at")
# Uploaded files hold many people's data at once: deleted 30 days after the import (import_files_purge).
classify(
    ImportJob,
    retained="file original_name errors",
    not_personal="target file_sha256 encoding delimiter headers mapping status total_rows processed_rows created_count "
                 "skipped_count rejected_count message created_by created_at finished_at heartbeat_at written_rows "
                 "interruptions file_format",
)

_TAGS = "tags"
_CUSTOM = "custom_fields"
# Erasure empties the personal fields (the last name becomes "Erased person <id>").
PERSONAL_FIELDS = privacy.emptied(
    Person, [f for f in privacy.personal_fields(Person) if f not in (_TAGS, "last_name", _CUSTOM)]
)
# The export: the personal fields and what stays on the record.
EXPORTED_FIELDS = [
    *(f for f in privacy.personal_fields(Person) if f not in (_TAGS, _CUSTOM)),
    "country", "preferred_language", "lifecycle_stage", "source", "created_at", "updated_at",
]


def _plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def export_person(person) -> list[dict]:
    record = {field: _plain(getattr(person, field)) for field in EXPORTED_FIELDS}
    record["owner"] = person.owner.get_full_name() if person.owner else ""
    record["tags"] = [tag.name for tag in person.tags.all()]
    record["custom_fields"] = customfields.personal_export(Person, person.custom_fields)
    record["organizations"] = [
        {"organization": e.organization.name, "position": e.position, "department": e.department, "main": e.is_primary}
        for e in person.employments.select_related("organization")
    ]
    record["activities"] = [
        {"kind": a.kind, "subject": a.subject, "details": a.body, "when": _plain(a.occurred_at),
         "due": _plain(a.due_at), "done": a.done}
        for a in Activity.objects.filter(person=person).order_by("occurred_at", "pk")
    ]
    record["files"] = [
        {"name": f.name, "size": f.size, "uploaded": _plain(f.uploaded_at)}
        for f in Attachment.objects.filter(person=person).order_by("uploaded_at", "pk")
    ]
    record["merged_duplicates"] = [
        {"name": m.merged_label, "data": m.merged_data, "when": _plain(m.merged_at)}
        for m in _merges(person).order_by("merged_at", "pk")
    ]
    record["changes"] = [
        {"when": _plain(h.history_date), "by": h.history_user.get_full_name() if h.history_user else "",
         "type": h.history_type}
        for h in person.history.select_related("history_user").order_by("history_date", "history_id")
    ]
    return [record]


def _merges(person):
    return MergeRecord.objects.filter(kind=MergeRecord.Kind.PERSON, survivor_id=person.pk)


def erase_person(person) -> int:
    """Empties the person's personal data everywhere in contacts; returns the records touched."""
    touched = _merges(person).delete()[0]
    for attachment in Attachment.objects.filter(person=person, organization__isnull=True):
        attachment.file.delete(save=False)
        attachment.delete()
        touched += 1
    # Files that belong to an organization as well stay with it, without the link to the person.
    touched += Attachment.objects.filter(person=person).update(person=None)
    activities = Activity.objects.filter(person=person)
    activity_ids = list(activities.values_list("pk", flat=True))
    # Notes only about the person go; notes also about an organization stay for the organization.
    touched += activities.filter(organization__isnull=True).delete()[0]
    touched += Activity.objects.filter(pk__in=activity_ids).update(
        person=None, subject=_("Entry about an erased person"), body=""
    )
    # Last, because deleting records writes history rows with their old values.
    Activity.history.filter(id__in=activity_ids).delete()
    for field, value in PERSONAL_FIELDS.items():
        setattr(person, field, value)
    person.last_name = _("Erased person %(id)s") % {"id": person.pk}
    person.custom_fields = customfields.erased(Person, person.custom_fields)
    person.skip_history_when_saving = True
    # One change, reported as the deletion: the tags go first, so nothing follows it in the feed.
    with changefeed.one_change():
        person.tags.clear()
        changefeed.mark_erased(person)
        try:
            person.save()
        finally:
            del person.skip_history_when_saving
    person.history.all().delete()
    return touched + 1
