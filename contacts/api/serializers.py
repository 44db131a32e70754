"""The API representation of contacts records. Writes go through the pages' forms
(crm.api.forms), so the API checks exactly what the pages check."""

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.serializers import CountryFieldMixin  # a blank country as "", not an object
from rest_framework import exceptions, serializers

from contacts.forms.records import EmploymentFormSet, KnownEmails, NoteForm, OrganizationForm, PersonForm, TaskForm
from contacts.models import Activity, Attachment, Employment, Organization, OrganizationAddress, Person, Tag
from crm.api.batch import ExternalIdMixin
from crm.api.forms import CustomFieldsField, CustomFieldsSerializerMixin, FormSerializer, form_errors, form_value
from crm.api.representation import ModelSerializer
from crm.forms import parse_id


class TagSerializer(FormSerializer):
    form_class = forms.modelform_factory(Tag, fields=["name", "color"])

    class Meta:
        model = Tag
        fields = ["id", "name", "color"]


class EmploymentSerializer(ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Employment
        fields = ["id", "organization", "organization_name", "position", "department", "is_primary"]
        read_only_fields = ["id"]
        extra_kwargs = {"organization": {"queryset": Organization.objects.all()}}


class PersonSerializer(CustomFieldsSerializerMixin, CountryFieldMixin, ExternalIdMixin, FormSerializer):
    form_class = PersonForm
    custom_fields = CustomFieldsField()
    full_name = serializers.CharField(read_only=True)
    employments = EmploymentSerializer(many=True, required=False)
    confirm_new = serializers.BooleanField(
        write_only=True, required=False,
        help_text=_("Create the person although similar people exist (the answer without it is 409 with “similar”)."),
    )

    class Meta:
        model = Person
        fields = [
            "id", "salutation", "academic_title", "first_name", "last_name", "full_name", "email", "email_secondary",
            "phone", "mobile", "street", "postal_code", "city", "country", "birthday", "preferred_language",
            "lifecycle_stage", "source", "owner", "tags", "description", "employments", "external_source",
            "external_id", "custom_fields", "created_at", "updated_at", "confirm_new",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    known_emails = None  # in a batch: who holds the addresses its records name (KnownEmails)

    def form_kwargs(self):
        return {"user": self.context["user"], "known_emails": self.known_emails}

    def batch_prepare(self, records):
        super().batch_prepare(records)
        emails = {r["email"].strip().lower() for r in records if isinstance(r, dict) and isinstance(r.get("email"), str)}
        instances = self.context.get("batch_instances", ())
        emails |= {person.email for person in instances} | {person.email_secondary for person in instances}
        self.known_emails = KnownEmails(emails - {""})

    def batch_saved(self, obj):
        super().batch_saved(obj)
        self.known_emails.saved(obj)

    # --- employments: the page's formset, built from the JSON list ---------------------------

    def _employment_rows(self, data):
        if "employments" not in data:
            return None
        rows = data["employments"]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise exceptions.ValidationError({"employments": [_("Send a list of objects.")]})
        return rows

    def form_extra_data(self, data):
        """The edit page's employment rows as it would post them: each current row kept (with
        the request's values) or deleted, then the new ones. Without "employments" in the
        request the current rows stay as they are."""
        rows = self._employment_rows(data)
        instance = self.instance
        existing = []
        if instance is not None and instance.pk:
            # The prefetched rows when the record was loaded with them (a batch), else a query.
            prefetched = "employments" in getattr(instance, "_prefetched_objects_cache", {})
            existing = sorted(instance.employments.all(), key=lambda e: e.pk) if prefetched else list(instance.employments.order_by("pk"))
        self.formset_data, self.formset_positions = None, []
        if rows is None:
            if not existing:
                return {}
            rows = [
                {"organization": e.organization_id, "position": e.position, "department": e.department,
                 "is_primary": e.is_primary}
                for e in existing
            ]
        fields = EmploymentFormSet.form.base_fields
        by_organization = {e.organization_id: e for e in existing}
        kept, new = {}, []
        for index, row in enumerate(rows):
            organization = str(form_value(fields["organization"], row.get("organization")))
            current = by_organization.get(parse_id(organization))
            if current is not None and current.pk not in kept:
                kept[current.pk] = (current, row, index)
            else:
                new.append((None, row, index))
        # Current rows first (a formset's initial forms), then the new ones.
        ordered = [kept.get(e.pk, (e, None, None)) for e in existing] + new
        form_data_ = {}
        for number, (current, row, index) in enumerate(ordered):
            prefix = f"rows-{number}-"
            self.formset_positions.append(index)
            if current is not None:
                form_data_[f"{prefix}id"] = str(current.pk)
            if row is None:
                form_data_[f"{prefix}organization"] = str(current.organization_id)
                form_data_[f"{prefix}DELETE"] = "on"
                continue
            if "is_primary" not in row:
                row = {**row, "is_primary": current.is_primary if current else len(rows) == 1}
            for name in ("organization", "position", "department", "is_primary"):
                value = form_value(fields[name], row.get(name))
                if value != "":
                    form_data_[f"{prefix}{name}"] = value
        form_data_.update({
            "rows-TOTAL_FORMS": str(len(ordered)), "rows-INITIAL_FORMS": str(len(existing)),
            "rows-MIN_NUM_FORMS": "0", "rows-MAX_NUM_FORMS": "1000",
        })
        self.formset_data = form_data_
        return form_data_

    def validate_after_form(self, form, data):
        super().validate_after_form(form, data)
        self.formset = None
        if getattr(self, "formset_data", None) is None:
            return
        formset = EmploymentFormSet(self.formset_data, instance=form.instance, prefix="rows")
        if not formset.is_valid():
            rows = {}
            for number, row_form in enumerate(formset.forms):
                if row_form.errors and self.formset_positions[number] is not None:
                    rows[str(self.formset_positions[number])] = form_errors(row_form)
            errors = [str(e) for e in formset.non_form_errors()]
            raise exceptions.ValidationError({"employments": {**rows, **({"non_field_errors": errors} if errors else {})}
                                              if rows or errors else [_("Check the organizations.")]})
        self.formset = formset

    def related_changes(self) -> bool:
        """Whether the employment rows change (the batch's "unchanged" check)."""
        return self.formset is not None and self.formset.has_changed()

    def _save(self, form):
        person = form.save()
        if self.formset is not None:
            self.formset.instance = person
            self.formset.save()
        return person

    def create(self, validated_data):
        return self._save(validated_data["form"])

    def update(self, instance, validated_data):
        return self._save(validated_data["form"])


class AddressSerializer(CountryFieldMixin, ModelSerializer):
    class Meta:
        model = OrganizationAddress
        fields = ["id", "kind", "street", "postal_code", "city", "country"]


class OrganizationSerializer(CustomFieldsSerializerMixin, CountryFieldMixin, ExternalIdMixin, FormSerializer):
    form_class = OrganizationForm
    custom_fields = CustomFieldsField()
    addresses = AddressSerializer(many=True, read_only=True)
    confirm_new = serializers.BooleanField(
        write_only=True, required=False,
        help_text=_("Create the organization although similar ones exist (the answer without it is 409 with “similar”)."),
    )

    class Meta:
        model = Organization
        fields = [
            "id", "name", "legal_form", "relationship", "industry", "website", "email", "phone", "country",
            "employees", "annual_revenue", "owner", "tags", "description", "addresses", "external_source",
            "external_id", "custom_fields", "created_at", "updated_at", "confirm_new",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def form_kwargs(self):
        return {"user": self.context["user"]}


class ActivitySerializer(ExternalIdMixin, FormSerializer):
    """A note, call, email, meeting or task. Its person or organization is set on create; a task
    is written through the task form of the pages, the others through the note form."""

    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all(), required=False, allow_null=True)
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False, allow_null=True)
    done = serializers.BooleanField(required=False)

    class Meta:
        model = Activity
        fields = [
            "id", "kind", "subject", "body", "occurred_at", "person", "organization", "due_at", "assignee",
            "done", "done_at", "created_by", "external_source", "external_id",
        ]
        read_only_fields = ["id", "done_at", "created_by"]

    forced_kind = None  # the tasks endpoint makes tasks only

    def _kind(self, data):
        if self.instance is not None and self.instance.pk:
            return self.instance.kind
        return self.forced_kind or data.get("kind") or Activity.Kind.NOTE

    def new_instance(self):
        return Activity(created_by=self.context["user"])

    def _subject(self, data, name, model):
        value = data.get(name)
        if value in (None, ""):
            return None
        pk = parse_id(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        found = model.objects.visible_to(self.context["user"]).filter(pk=pk).first() if pk else None
        if found is None:
            raise exceptions.ValidationError({name: [_("No such record.")]})
        return found

    def prepare_instance(self, instance, data):
        super().prepare_instance(instance, data)
        if instance.pk is None:
            person = self._subject(data, "person", Person)
            organization = self._subject(data, "organization", Organization)
            if person is None and organization is None:
                raise exceptions.ValidationError({"person": [_("An activity is about a person or an organization.")]})
            about = Activity.new_about(person=person, organization=organization, created_by=self.context["user"])
            instance.person, instance.organization = about.person, about.organization
            if self._kind(data) == Activity.Kind.TASK:
                instance.kind = Activity.Kind.TASK
                instance.occurred_at = timezone.now()
        if "done" in data and not isinstance(data["done"], bool):
            raise exceptions.ValidationError({"done": [_("Give true or false.")]})
        return instance

    @property
    def form_class(self):
        return TaskForm if self._kind(self.initial_data if hasattr(self, "initial_data") else {}) == Activity.Kind.TASK else NoteForm

    def form_kwargs(self):
        return {"user": self.context["user"]} if self.form_class is TaskForm else {}

    def _save(self, form, data):
        activity = form.save()
        if "done" in data and data["done"] != activity.done:
            activity.mark_done(done=data["done"])
        return activity

    def create(self, validated_data):
        return self._save(validated_data["form"], self.initial_data)

    def update(self, instance, validated_data):
        return self._save(validated_data["form"], self.initial_data)


class TaskSerializer(ActivitySerializer):
    forced_kind = Activity.Kind.TASK

    class Meta(ActivitySerializer.Meta):
        read_only_fields = ["id", "kind", "occurred_at", "done_at", "created_by"]


class AttachmentSerializer(ModelSerializer):
    """A file on a person or an organization; its content is at `download_url`."""

    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type", "person", "organization", "uploaded_by", "uploaded_at",
                  "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment) -> str:
        path = reverse("api:attachment-download", args=[attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class AttachmentUploadSerializer(serializers.Serializer):
    """An upload as the record page sends it (multipart/form-data): the file, and whom it is about."""

    file = serializers.FileField(help_text=_("At most ATTACHMENT_MAX_BYTES (25 MB by default); not empty."))
    person = serializers.IntegerField(required=False, help_text=_("A person you may see."))
    organization = serializers.IntegerField(required=False, help_text=_("An organization you may see."))
