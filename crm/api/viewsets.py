"""The one small mixin of ours that every API viewset uses (STYLE.md): records through the
model's `visible_to(user)` (404 for the rest) and writes only to `editable_by(user)` (403 for a
visible record the user may not change), ETags on reads and If-Match on writes (412 on a stale
write, as the pages refuse a stale form), Idempotency-Key on create.

The ETag is the record's version: `updated_at`, the value the edit pages carry in their hidden
`version` field. A model without one gets a hash of its representation.
"""

import hashlib
import json

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from crm.api.exceptions import PreconditionFailed
from crm.api.idempotency import idempotent
from crm.api.throttling import ReadBudget


def etag_of(obj, data=None) -> str:
    version = getattr(obj, "updated_at", None)
    if version is not None:
        return f'"{version.isoformat()}"'
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f'"{digest}"'


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


class RecordViewSet(viewsets.ModelViewSet):
    """List, detail, create, update, partial update and delete of one model."""

    model = None
    lookup_value_regex = r"[0-9]{1,18}"  # anything else is an unknown URL (404), never a database error
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    ordering_fields: dict[str, tuple[str, ...]] = {}
    default_ordering = ""
    read_budget = True  # reads count against the budget of users without the export permission

    def base_queryset(self):
        return self.model.objects.visible_to(self.request.user)

    def get_queryset(self):
        return self.base_queryset()

    def get_object(self):
        """A record by its id among those the user may see: the list's filters (a task list's
        "yours, open" default, say) do not hide it."""
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = get_object_or_404(self.get_queryset(), **{self.lookup_field: lookup})
        self.check_object_permissions(self.request, obj)
        return obj

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "user": self.request.user}

    def editable_object(self):
        """The record of an unsafe request, locked until the transaction ends."""
        obj = self.get_object()
        model = type(obj)
        if not model.objects.editable_by(self.request.user).filter(pk=obj.pk).exists():
            raise exceptions.PermissionDenied(_("You may see this record but not change it."))
        obj = model._base_manager.select_for_update().get(pk=obj.pk)
        self.check_if_match(obj)
        return obj

    def etag(self, obj) -> str:
        data = None if hasattr(obj, "updated_at") else self.get_serializer(obj).data
        return etag_of(obj, data)

    def check_if_match(self, obj) -> None:
        header = self.request.headers.get("If-Match")
        if header is None or header.strip() == "*":
            return
        if self.etag(obj) not in _tags(header):
            raise PreconditionFailed()

    def retrieve(self, request, *args, **kwargs):
        budget = ReadBudget.of(request) if self.read_budget else None
        if budget is not None:
            budget.left()
        obj = self.get_object()
        if budget is not None:
            budget.spend(1)
        etag = self.etag(obj)
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match and (if_none_match.strip() == "*" or etag in _tags(if_none_match)):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(self.get_serializer(obj).data, headers={"ETag": etag})

    @idempotent
    def create(self, request, *args, **kwargs):
        with transaction.atomic():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            obj = serializer.save()
        data = self.get_serializer(self.reloaded(obj)).data
        headers = {"ETag": self.etag(obj)}
        if hasattr(self, "detail_url"):
            headers["Location"] = self.detail_url(obj)
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, partial=False, **kwargs):
        with transaction.atomic():
            obj = self.editable_object()
            serializer = self.get_serializer(obj, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            obj = serializer.save()
        obj = self.reloaded(obj)
        return Response(self.get_serializer(obj).data, headers={"ETag": self.etag(obj)})

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            obj = self.editable_object()
            self.perform_destroy(obj)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def reloaded(self, obj):
        """The record as the list and detail load it (with their prefetches)."""
        return self.get_queryset().get(pk=obj.pk)

    def detail_url(self, obj) -> str:
        from django.urls import reverse

        return self.request.build_absolute_uri(reverse(f"api:{self.basename}-detail", args=[obj.pk]))


class PageRulesMixin:
    """The pages' order of answers: a method the URL does not take is 405; a role the page
    refuses is 404 on a record the user may not see (a 403 would tell that it exists), else 403."""

    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in {*getattr(self, "action_map", {}), "options"} or method not in self.http_method_names:
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def check_permissions(self, request):
        try:
            super().check_permissions(request)
        except exceptions.PermissionDenied:
            pk = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
            if pk is not None:
                get_object_or_404(self.base_queryset(), pk=pk)
            raise
