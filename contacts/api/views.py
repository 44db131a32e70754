"""Contacts over the API: short declarations over the same querysets, FilterSets and forms as
the pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency)."""

from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema, extend_schema_view

from contacts.api import serializers
from contacts.filters import ActivityFilter, OrganizationFilter, PersonFilter, TaskFilter
from contacts.models import Activity, Employment, Organization, OrganizationAddress, Person, Tag
from crm.api.batch import BatchUpsertMixin
from crm.api.viewsets import RecordViewSet
from crm.roles import Role


def _employments():
    return Prefetch("employments", queryset=Employment.objects.select_related("organization").order_by("-is_primary", "pk"))


def batch_match(queryset, record: dict, *, email_fields: tuple[str, ...]):
    """The record a batch entry is about: the one with its external id in its system, else the
    one with its email address (as the forms refuse a second person with the same address)."""
    source, external_id = record.get("external_source"), record.get("external_id")
    if isinstance(source, str) and isinstance(external_id, (str, int)) and source.strip() and str(external_id).strip():
        found = queryset.filter(external_source=source.strip(), external_id=str(external_id).strip()).first()
        if found is not None:
            return found
    email = record.get("email")
    if isinstance(email, str) and "@" in email:
        condition = Q()
        for field in email_fields:
            condition |= Q(**{field: email.strip().lower()})
        return queryset.filter(condition).order_by("pk").first()
    return None


def batch_match_many(queryset, records: list, *, email_fields: tuple[str, ...]) -> list:
    """`batch_match` for a whole batch in two queries: the external ids, then the emails."""
    keys, emails = {}, {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        source, external_id = record.get("external_source"), record.get("external_id")
        if isinstance(source, str) and isinstance(external_id, (str, int)) and source.strip() and str(external_id).strip():
            keys[index] = (source.strip(), str(external_id).strip())
        email = record.get("email")
        if isinstance(email, str) and "@" in email:
            emails[index] = email.strip().lower()
    by_key, by_email = {}, {}
    if keys:
        found = queryset.filter(
            external_source__in={s for s, _ in keys.values()}, external_id__in={i for _, i in keys.values()}
        ).only("pk", "external_source", "external_id")
        by_key = {(obj.external_source, obj.external_id): obj for obj in found}
    if emails:
        condition = Q()
        for field in email_fields:
            condition |= Q(**{f"{field}__in": set(emails.values())})
        for obj in queryset.filter(condition).order_by("-pk").only("pk", *email_fields):
            for field in email_fields:  # the lowest id wins, as in batch_match
                by_email[getattr(obj, field)] = obj
    matches = []
    for index in range(len(records)):
        found = by_key.get(keys[index]) if index in keys else None
        if found is None and index in emails:
            found = by_email.get(emails[index])
        matches.append(found)
    return matches


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

    def batch_match(self, record):
        return batch_match(self.base_queryset(), record, email_fields=("email", "email_secondary"))

    def batch_match_many(self, records):
        return batch_match_many(super().base_queryset(), records, email_fields=("email", "email_secondary"))

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

    def batch_match(self, record):
        return batch_match(self.base_queryset(), record, email_fields=("email",))

    def batch_match_many(self, records):
        return batch_match_many(super().base_queryset(), records, email_fields=("email",))

    def base_queryset(self):
        addresses = Prefetch("addresses", queryset=OrganizationAddress.objects.order_by("kind", "pk"))
        return super().base_queryset().select_related("owner").prefetch_related("tags", addresses)


class ActivityViewSet(RecordViewSet):
    """Notes, calls, emails, meetings and tasks of the timeline."""

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
