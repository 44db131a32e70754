"""Contacts over the API: short declarations over the same querysets, FilterSets and forms as
the pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view

from contacts.api import serializers
from contacts.filters import ActivityFilter, OrganizationFilter, PersonFilter, TaskFilter
from contacts.models import Activity, Employment, Organization, OrganizationAddress, Person, Tag
from crm.api.batch import BatchUpsertMixin
from crm.api.viewsets import RecordViewSet
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
