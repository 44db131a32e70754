"""Batch upsert: up to CRM_API_BATCH_MAX records in one call, each matched to an existing record
(by the viewset's `batch_match`: an external id, then an email address) and updated, or created,
through the same serializer (and so the same form and rules) as a single write. Each record gets
its result: created, updated, unchanged, or error with its field errors.

Without `atomic` every record is stored or refused on its own (a savepoint each); with
`"atomic": true` one error stores nothing (422, with every record's result).
"""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.exceptions import Conflict, RequestTooLarge, plain_errors, problem
from crm.api.idempotency import idempotent

IGNORED_IN_COMPARISON = {"updated_at"}


class BatchRequestSerializer(serializers.Serializer):
    records = serializers.ListField(child=serializers.DictField(), help_text="At most 1,000 records.")
    atomic = serializers.BooleanField(required=False, default=False)


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(required=False)


class BatchResponseSerializer(serializers.Serializer):
    atomic = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchResultSerializer(many=True)


class _Refused(Exception):
    def __init__(self, errors: dict, extra: dict | None = None):
        self.errors, self.extra = errors, extra or {}


class BatchUpsertMixin:
    """For a RecordViewSet: POST <list>/batch/. The viewset defines `batch_match(record)`."""

    def batch_match(self, record: dict):
        return None

    @extend_schema(request=BatchRequestSerializer, responses={200: BatchResponseSerializer})
    @action(detail=False, methods=["post"], url_path="batch")
    @idempotent
    def batch(self, request, *args, **kwargs):
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise exceptions.ValidationError({"records": [_("Send {\"records\": [...]} with a list of objects.")]})
        records = body["records"]
        limit = settings.CRM_API_BATCH_MAX
        if len(records) > limit:
            raise RequestTooLarge(_("At most %(limit)s records per call; this one has %(count)s.") % {
                "limit": limit, "count": len(records)})
        atomic = body.get("atomic", False)
        if not isinstance(atomic, bool):
            raise exceptions.ValidationError({"atomic": [_("Give true or false.")]})
        with transaction.atomic():
            results = [self._upsert(index, record) for index, record in enumerate(records)]
            failed = sum(1 for r in results if r["status"] == "error")
            if atomic and failed:
                transaction.set_rollback(True)
        counts = {name: sum(1 for r in results if r["status"] == name) for name in ("created", "updated", "unchanged")}
        if atomic and failed:
            for result in results:
                if result["status"] != "error":
                    result["status"], result["id"] = "not_stored", result["id"] if result["status"] != "created" else None
            detail = _("Nothing was stored: %(count)s of the records have errors.") % {"count": failed}
            return Response(
                problem(422, detail, extra={"results": results}),
                status=status.HTTP_422_UNPROCESSABLE_ENTITY, content_type="application/problem+json",
            )
        return Response({"atomic": atomic, **counts, "failed": failed, "results": results})

    def _upsert(self, index: int, record) -> dict:
        try:
            with transaction.atomic():
                if not isinstance(record, dict):
                    raise _Refused({"non_field_errors": [_("Send a JSON object.")]})
                existing = self.batch_match(record)
                if existing is None:
                    obj = self._write(None, record)
                    return {"index": index, "status": "created", "id": obj.pk}
                model = type(existing)
                if not model.objects.editable_by(self.request.user).filter(pk=existing.pk).exists():
                    raise _Refused({"non_field_errors": [_("You may see this record but not change it.")]})
                existing = model._base_manager.select_for_update().get(pk=existing.pk)
                before = self._compared(self.reloaded(existing))
                obj = self._write(existing, record)
                if self._compared(self.reloaded(obj)) == before:
                    transaction.set_rollback(True)  # nothing changed: no save, no history, no change event
                    return {"index": index, "status": "unchanged", "id": existing.pk}
                return {"index": index, "status": "updated", "id": obj.pk}
        except _Refused as refused:
            return {"index": index, "status": "error", "id": None, "errors": refused.errors, **refused.extra}

    def _write(self, instance, record):
        serializer = self.get_serializer(instance, data=record, partial=instance is not None)
        try:
            serializer.is_valid(raise_exception=True)
        except Conflict as conflict:
            raise _Refused({"non_field_errors": [str(conflict.detail)]}, conflict.extra) from None
        except exceptions.ValidationError as error:
            errors = plain_errors(error.detail)
            raise _Refused(errors if isinstance(errors, dict) else {"non_field_errors": errors}) from None
        return serializer.save()

    def _compared(self, obj) -> dict:
        data = dict(self.get_serializer(obj).data)
        for name in IGNORED_IN_COMPARISON:
            data.pop(name, None)
        return data
