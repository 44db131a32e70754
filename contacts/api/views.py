"""Contacts over the API: short declarations over the same querysets, FilterSets and forms as
the pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency)."""

from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from contacts.api import serializers
from contacts.filters import ActivityFilter, AttachmentFilter, OrganizationFilter, PersonFilter, TaskFilter
from contacts.forms.records import AttachmentForm
from contacts.models import Activity, Attachment, Employment, Organization, OrganizationAddress, Person, Tag
from crm.api.batch import BatchUpsertMixin
from crm.api.exceptions import RequestTooLarge
from crm.api.forms import form_errors
from crm.api.idempotency import idempotent
from crm.api.throttling import ReadBudget
from crm.api.viewsets import RecordViewSet
from crm.forms import parse_id
from crm.roles import Role


def _employments():
    return Prefetch("employments", queryset=Employment.objects.select_related("organization").order_by("-is_primary", "pk"))


class TagViewSet(RecordViewSet):
    """Tags: every CRM user reads them; admins make and change them (as in the administration)."""

    model = Tag
    serializer_class = serializers.TagSerializer
    write_roles = (Role.ADMIN,)
    read_budget = False  # tags hold no customer data
    ordering_fields = {"name": ("name",)}
    default_ordering = "name"

    def base_queryset(self):
        return Tag.objects.all()  # tags hold no customer data: every CRM user sees them


@extend_schema_view(list=extend_schema(description="People, filtered like the people list (`q` searches as the global search does)."))
class PersonViewSet(BatchUpsertMixin, RecordViewSet):
    model = Person
    bulk_writes = True  # Person.save() is before_save(), the row and its change-feed entry
    serializer_class = serializers.PersonSerializer
    filterset_class = PersonFilter
    ordering_fields = {
        "name": ("last_name", "first_name"),
        "email": ("email",),
        "city": ("city", "last_name"),
        "lifecycle": ("lifecycle_stage", "last_name"),
        "created": ("created_at",),
        "updated": ("updated_at",),
    }
    default_ordering = "name"
    batch_keys = {"email": ("email", "email_secondary")}  # as the form refuses a second person with an address

    def base_queryset(self):
        return super().base_queryset().select_related("owner").prefetch_related("tags", _employments())

    def get_queryset(self):
        if self.action != "list":
            return super().get_queryset()
        # A page of up to 1,000 people reads what the representation shows and no more: the
        # owner and the tags as ids, of an employment's organization its name; not the search
        # columns. Only for reading: a record loaded with deferred columns saves only the others.
        tags = Prefetch("tags", queryset=Tag.objects.only("pk"))
        employments = Prefetch("employments", queryset=Employment.objects.select_related("organization").only(
            "pk", "person_id", "organization_id", "position", "department", "is_primary", "organization__name",
        ).order_by("-is_primary", "pk"))
        return super().base_queryset().defer("search_key", "name_key").prefetch_related(tags, employments)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # Filtering through employments may join several rows per person (as on the list page).
        return queryset.distinct() if self.request.query_params.get("organization") else queryset


class OrganizationViewSet(BatchUpsertMixin, RecordViewSet):
    model = Organization
    serializer_class = serializers.OrganizationSerializer
    filterset_class = OrganizationFilter
    ordering_fields = {
        "name": ("name",),
        "relationship": ("relationship", "name"),
        "created": ("created_at",),
        "updated": ("updated_at",),
    }
    default_ordering = "name"
    batch_keys = {"email": ("email",)}

    def base_queryset(self):
        addresses = Prefetch("addresses", queryset=OrganizationAddress.objects.order_by("kind", "pk"))
        return super().base_queryset().select_related("owner").prefetch_related("tags", addresses)


class ActivityViewSet(BatchUpsertMixin, RecordViewSet):
    """Notes, calls, emails, meetings and tasks of the timeline; a batch matches them by their
    external id only (an activity has no other key)."""

    model = Activity
    serializer_class = serializers.ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = {"occurred": ("occurred_at",)}
    default_ordering = "-occurred"

    def base_queryset(self):
        return super().base_queryset().select_related("person", "organization", "assignee", "created_by")


class TaskViewSet(ActivityViewSet):
    """Tasks, filtered like the task list (by default: yours, open)."""

    serializer_class = serializers.TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = {"due": ("due_at",), "subject": ("subject",), "occurred": ("occurred_at",)}
    default_ordering = "due"

    def base_queryset(self):
        return super().base_queryset().tasks()


@extend_schema_view(
    list=extend_schema(description="Files on people and organizations (`person=<id>` or `organization=<id>`: one record's)."),
    create=extend_schema(request={"multipart/form-data": serializers.AttachmentUploadSerializer},
                         responses={201: serializers.AttachmentSerializer},
                         description="Upload a file as the record page does: the same size limit, refused with 413."),
)
class AttachmentViewSet(RecordViewSet):
    """Files: every CRM role reads those of the records it sees and uploads to them; whoever
    uploaded a file (their managers, admins) deletes it, as on the record page. No update: a
    file is replaced by uploading another one."""

    model = Attachment
    serializer_class = serializers.AttachmentSerializer
    filterset_class = AttachmentFilter
    parser_classes = [MultiPartParser]
    http_method_names = ["get", "post", "delete", "head", "options"]
    ordering_fields = {"uploaded": ("uploaded_at",), "name": ("name",)}
    default_ordering = "-uploaded"

    def _subject(self, name: str, model):
        value = self.request.data.get(name)
        if value in (None, ""):
            return None
        pk = parse_id(str(value))
        found = model.objects.visible_to(self.request.user).filter(pk=pk).first() if pk else None
        if found is None:
            raise exceptions.ValidationError({name: [_("No such record.")]})
        return found

    @idempotent
    def create(self, request, *args, **kwargs):
        person, organization = self._subject("person", Person), self._subject("organization", Organization)
        if person is None and organization is None:
            raise exceptions.ValidationError({"person": [_("A file is about a person or an organization.")]})
        form = AttachmentForm(request.data, request.FILES)
        if not form.is_valid():
            if form.has_error("file", "too_big"):
                raise RequestTooLarge(form.errors["file"][0], extra={"errors": {"file": form_errors(form)["file"]}})
            raise exceptions.ValidationError(form_errors(form))
        with transaction.atomic():
            attachment = Attachment.store_upload(
                form.cleaned_data["file"], person=person, organization=organization, user=request.user
            )
        headers = {"ETag": self.etag(attachment), "Location": self.detail_url(attachment)}
        return Response(self.get_serializer(attachment).data, status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY}, description="The file itself, as an attachment.")
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        budget = ReadBudget.of(request)
        if budget is not None:
            budget.left()
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise exceptions.NotFound(_("The file is missing from the storage.")) from None
        if budget is not None:
            budget.spend(1)
        response = FileResponse(handle, as_attachment=True, filename=attachment.name)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def perform_destroy(self, instance):
        instance.file.delete(save=False)
        instance.delete()
