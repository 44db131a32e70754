"""Batch upsert: up to CRM_API_BATCH_MAX records in one call, each matched to an existing record
(by the viewset's `batch_match`: an external id, then an email address) and updated, or created,
through the same serializer (and so the same form and rules) as a single write. Each record gets
its result: created, updated, unchanged, or error with its field errors.

Without `atomic` every record is stored or refused on its own (a savepoint each); with
`"atomic": true` one error stores nothing (422, with every record's result).
"""

import copy

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm import bulk, changefeed
from crm.api.exceptions import Conflict, RequestTooLarge, plain_errors, problem
from crm.api.idempotency import idempotent

IGNORED_IN_COMPARISON = {"updated_at"}
RELATED_ROWS = "<related rows>"  # in _changes(): the serializer's related rows change


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


class _Retry(Exception):
    """A save failed in the pass without savepoints: the batch is done again with them."""


class _Refused(Exception):
    def __init__(self, errors: dict, extra: dict | None = None):
        self.errors, self.extra = errors, extra or {}


def _errors_of(error) -> tuple[dict, dict]:
    """A refusal of one record (by the form, or by a rule its save applies) as its result's errors."""
    if isinstance(error, Conflict):
        return {"non_field_errors": [str(error.detail)]}, error.extra
    if isinstance(error, DjangoValidationError):
        return getattr(error, "message_dict", None) or {"non_field_errors": error.messages}, {}
    errors = plain_errors(error.detail)
    return (errors if isinstance(errors, dict) else {"non_field_errors": errors}), {}


def _external_key(record) -> tuple[str, str] | None:
    """(system, id) of a record that names both, stripped; else None."""
    source, external_id = record.get("external_source"), record.get("external_id")
    if isinstance(source, str) and isinstance(external_id, (str, int)) and not isinstance(external_id, bool) \
            and source.strip() and str(external_id).strip():
        return source.strip(), str(external_id).strip()
    return None


def _match_value(record, name: str) -> str | None:
    """A record's value of a matching field (an email address, an article number), as stored."""
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value.lower() if name == "email" else value


def _key(record, names) -> tuple:
    """What a record is matched by, to notice a later record of the batch about the same one."""
    if not isinstance(record, dict):
        return ()
    return (_external_key(record), *((name, _match_value(record, name)) if _match_value(record, name) else None
                                     for name in names))


def state_of(obj) -> dict:
    """The stored values of a record and its many-to-many fields, from memory (what the batch
    compares to see whether a record would change, without saving it)."""
    state = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    for field in editable_many_to_many(obj):
        state[field.name] = {related.pk for related in getattr(obj, field.name).all()}
    return state


def editable_many_to_many(obj) -> list:
    """Many-to-many fields a form sets (tags); those through a model of their own (a person's
    organizations through employments) are the serializer's `related_changes`."""
    return [field for field in obj._meta.many_to_many if field.remote_field.through._meta.auto_created]


class BulkWrites:
    """The records of a batch whose save would write their row and no more (see
    `BatchUpsertMixin.bulk_writes`), kept and written together: the new ones with one COPY into
    ids reserved when they are kept (so that a record has its id at once, for its result and for
    the batch's checks of later records), the changed ones with one UPDATE per 500 rows; then
    reported to the change feed as their save() reports them."""

    ID_BLOCK = 100  # ids reserved at a time once the expected number is used up

    def __init__(self, model, *, expected: int):
        self.model, self.expected = model, expected
        self.ids: list[int] = []
        self.created: list = []
        self.updated: list = []
        self.order: list[tuple] = []  # (record, created), for the change feed in the order of the changes
        self.changed: set[str] = set()
        self.timestamps = [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)
                           or getattr(f, "auto_now_add", False)]

    def keep(self, instance, changes: set | None):
        instance.before_save()
        adding = instance.pk is None
        for field in self.timestamps:
            if adding or field.auto_now:
                field.pre_save(instance, adding)  # sets the time, as save() does
        if adding:
            if not self.ids:
                self.ids = list(bulk.reserve_ids(self.model, max(self.expected - len(self.created), self.ID_BLOCK)))
                self.ids.reverse()
            instance.pk = self.ids.pop()
            self.created.append(instance)
        else:
            self.updated.append(instance)
            self.changed |= changes or set()
        self.order.append((instance, adding))
        return instance

    def flush(self) -> None:
        created, updated, order = self.created, self.updated, self.order
        if not order:
            return
        self.created, self.updated, self.order = [], [], []
        if created:
            bulk.insert_objects(self.model, created)
        if updated:
            derived = set(getattr(self.model, "derived_fields", ()))
            names = [field.name for field in self.model._meta.concrete_fields if not field.primary_key and (
                field.attname in self.changed or field.name in derived or getattr(field, "auto_now", False))]
            self.model._default_manager.bulk_update(updated, names, batch_size=500)
            self.changed = set()
        for obj, adding in order:
            changefeed.record_saved(obj, created=adding)


class BatchUpsertMixin:
    """For a RecordViewSet: POST <list>/batch/. A record is matched by its external id in its
    system, else by the first of `batch_keys` it names (a record's field -> the model fields
    holding that value: an email address, an article number); all records of a batch in one
    query per kind of key.

    Speed (1,000 records per call): the records are matched, checked for write access and locked
    in a few queries for the whole batch; one serializer serves every record; a record is
    validated (the form, its duplicate checks) before a savepoint is opened, and only a record
    that changes is saved. "Unchanged" compares the record's values before and after the form
    put the request's values on it, so nothing is written and rolled back for it."""

    batch_keys: dict[str, tuple[str, ...]] = {}
    # True where the model's save() is before_save(), its row and its change-feed entry, and the
    # serializer's save() is the form's (with related rows): those records are written together.
    bulk_writes = False

    def batch_queryset(self):
        """Where a batch's records are looked for: those the user sees, without the detail's joins."""
        return self.base_queryset().select_related(None).prefetch_related(None)

    def batch_editable(self):
        """Which of them the user may change."""
        return self.model.objects.editable_by(self.request.user)

    def check_batch_allowed(self) -> None:
        """A refusal of the whole call (by role) before any record is looked at."""

    def batch_match(self, record: dict):
        """The record a batch entry is about (one query per key): for an entry about a record an
        earlier entry of the same batch created."""
        return self.batch_match_many([record])[0]

    def batch_match_many(self, records: list) -> list:
        """`batch_match` for a whole batch: one query for the external ids, one per key."""
        queryset = self.batch_queryset()
        external = {index: _external_key(r) for index, r in enumerate(records) if isinstance(r, dict) and _external_key(r)}
        by_external = {}
        if external:
            found = queryset.filter(
                external_source__in={s for s, _ in external.values()}, external_id__in={i for _, i in external.values()}
            ).only("pk", "external_source", "external_id")
            by_external = {(obj.external_source, obj.external_id): obj for obj in found}
        by_key = {}
        for name, fields in self.batch_keys.items():
            values = {_match_value(r, name) for r in records if isinstance(r, dict)} - {None}
            if not values:
                continue
            condition = Q()
            for field in fields:
                condition |= Q(**{f"{field}__in": values})
            for obj in queryset.filter(condition).order_by("-pk").only("pk", *fields):
                for field in fields:  # the lowest id wins
                    by_key[(name, getattr(obj, field))] = obj
        matches = []
        for index, record in enumerate(records):
            found = by_external.get(external[index]) if index in external else None
            for name in self.batch_keys:
                if found is None and isinstance(record, dict) and _match_value(record, name):
                    found = by_key.get((name, _match_value(record, name)))
            matches.append(found)
        return matches

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
        self.check_batch_allowed()
        with transaction.atomic():
            with changefeed.deferred() as self._pending_events:
                results = self._upsert_all(records)
                self._write_history()
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

    def _upsert_all(self, records: list) -> list[dict]:
        """First all records without a savepoint each (three queries fewer per record), in one
        savepoint for the batch; if a save fails there (a rule its save applies, a database error),
        the batch's writes are rolled back and it is done again with a savepoint per record, so
        that only that record is refused."""
        self._savepoints = False
        try:
            with transaction.atomic():
                return self._upsert_records(records)
        except _Retry:
            del self._pending_events[:]  # rolled back with the batch's savepoint
        self._savepoints = True
        return self._upsert_records(records)

    def _upsert_records(self, records: list) -> list[dict]:
        matches = self.batch_match_many(records)
        ids = {obj.pk for obj in matches if obj is not None}
        editable, locked = set(), {}
        if ids:
            editable = set(self.batch_editable().filter(pk__in=ids).values_list("pk", flat=True))
            # Locked until the batch ends, loaded as the detail loads them (prefetched relations).
            lock = self.get_queryset().filter(pk__in=editable).select_for_update(of=("self",))
            locked = {obj.pk: obj for obj in lock}
        self._batch_serializer = None
        self._bulk = BulkWrites(self.model, expected=sum(1 for obj in matches if obj is None))
        self._history = {"created": [], "updated": []}
        self._prepared = (records, list(locked.values()))
        seen, results = set(), []
        for index, record in enumerate(records):
            key = _key(record, self.batch_keys)
            existing = matches[index]
            if existing is None and any(part in seen for part in key if part):
                self._flush_bulk()  # the earlier entry's record is looked for in the database
                existing = self.batch_match(record)  # about a record an earlier entry of this batch created
                if existing is not None:
                    editable |= set(self.batch_editable().filter(pk=existing.pk).values_list("pk", flat=True))
                    locked.setdefault(existing.pk, self.get_queryset().select_for_update(of=("self",)).get(pk=existing.pk))
            seen.update(part for part in key if part)
            results.append(self._upsert(index, record, existing, editable, locked))
        self._flush_bulk()
        return results

    def _bulk_ready(self, serializer, form, changes: set | None) -> bool:
        """Whether a record's save can wait for the bulk write: on Postgres (ids reserved up front,
        one COPY), in the pass without savepoints, for a viewset whose records' save() writes
        their row and no more (`bulk_writes`), and for a record without many-to-many links or
        related rows to write."""
        if not self.bulk_writes or self._savepoints or connection.vendor != "postgresql":
            return False
        if any(field.name in form.cleaned_data for field in editable_many_to_many(form.instance)):
            return False
        if changes is not None and RELATED_ROWS in changes:
            return False
        related = getattr(serializer, "related_changes", None)
        return not (related and related())

    def _flush_bulk(self) -> None:
        """Writes what the bulk write kept; a failure there (a constraint another writer broke
        meanwhile) redoes the batch with a savepoint per record, as a failed save does."""
        try:
            self._bulk.flush()
        except Exception as error:
            raise _Retry() from error

    def _upsert(self, index: int, record, existing, editable: set, locked: dict) -> dict:
        try:
            if not isinstance(record, dict):
                raise _Refused({"non_field_errors": [_("Send a JSON object.")]})
            if existing is None:
                serializer = self._validated(None, record)
                obj = self._save(serializer, "created")
                return {"index": index, "status": "created", "id": obj.pk}
            if existing.pk not in editable:
                raise _Refused({"non_field_errors": [_("You may see this record but not change it.")]})
            existing = locked[existing.pk]
            before = state_of(existing)
            serializer = self._validated(existing, record)
            changes = self._changes(serializer, existing, before)
            if not changes:
                return {"index": index, "status": "unchanged", "id": existing.pk}
            obj = self._save(serializer, "updated", before, changes)
            return {"index": index, "status": "updated", "id": obj.pk}
        except _Refused as refused:
            return {"index": index, "status": "error", "id": None, "errors": refused.errors, **refused.extra}

    def _tracked(self, model) -> bool:
        """Whether the model keeps a history (looked up once: the history descriptor builds a manager)."""
        cache = self.__dict__.setdefault("_tracked_models", {})
        if model not in cache:
            cache[model] = hasattr(model, "history") and hasattr(model.history, "bulk_history_create")
        return cache[model]

    def _save(self, serializer, result: str, before: dict | None = None, changes: set | None = None):
        """Saves one validated record (in a savepoint of its own on the second pass, see
        _upsert_all), or keeps it for the bulk write (`_bulk_ready`); its history row is written
        with the others at the end (one INSERT), from a copy of the record as saved."""
        form = serializer.validated_data["form"]
        instance = form.instance
        tracked = self._tracked(type(instance))
        for field in editable_many_to_many(instance):
            # Tags the form would set as they are: no query to find that out.
            if field.name in form.cleaned_data and {r.pk for r in form.cleaned_data[field.name] or []} == (
                    before[field.name] if before is not None else set()):
                del form.cleaned_data[field.name]
        if self._bulk_ready(serializer, form, changes):
            obj = self._bulk.keep(instance, changes)
            if tracked:
                self._history[result].append(copy.copy(obj))
            if hasattr(serializer, "batch_saved"):
                serializer.batch_saved(obj)
            return obj
        self._flush_bulk()  # what was kept first, so that the change feed keeps the order of the changes
        if tracked:
            instance.skip_history_when_saving = True
        mark = len(self._pending_events)
        try:
            if not self._savepoints:
                try:
                    obj = serializer.save()
                except Exception as error:
                    raise _Retry() from error
            else:
                with transaction.atomic():
                    obj = serializer.save()
        except _Retry:
            raise
        except (exceptions.ValidationError, Conflict, DjangoValidationError) as error:
            del self._pending_events[mark:]  # rolled back with its savepoint
            raise _Refused(*_errors_of(error)) from None
        except Exception:
            del self._pending_events[mark:]
            raise
        finally:
            instance.__dict__.pop("skip_history_when_saving", None)
        if tracked:
            self._history[result].append(copy.copy(obj))
        if hasattr(serializer, "batch_saved"):
            serializer.batch_saved(obj)
        return obj

    def _write_history(self) -> None:
        manager = getattr(self.model, "history", None)
        if manager is None or not hasattr(manager, "bulk_history_create"):
            return
        user = self.request.user
        for result, rows in self._history.items():
            if rows:
                manager.bulk_history_create(rows, update=result == "updated", default_user=user, batch_size=1000)

    def _serializer(self, instance, record):
        """One serializer for the whole batch (building its fields costs more than a record)."""
        serializer = self._batch_serializer
        if serializer is None:
            serializer = self._batch_serializer = self.get_serializer(instance, data=record, partial=instance is not None)
            records, instances = self._prepared
            serializer.context["batch_instances"] = instances
            if hasattr(serializer, "batch_prepare"):
                serializer.batch_prepare(records)
            return serializer
        serializer.instance, serializer.initial_data, serializer.partial = instance, record, instance is not None
        for name in ("_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(name, None)
        return serializer

    def _validated(self, instance, record):
        serializer = self._serializer(instance, record)
        try:
            serializer.is_valid(raise_exception=True)
        except (exceptions.ValidationError, Conflict) as error:
            raise _Refused(*_errors_of(error)) from None
        return serializer

    def _changes(self, serializer, instance, before: dict) -> set:
        """What saving would change in the record (empty: nothing): its fields (attnames) as the
        form set them, its many-to-many fields as the form cleaned them, and RELATED_ROWS for the
        serializer's related rows."""
        form = serializer.validated_data["form"]
        after = {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}
        for field in editable_many_to_many(instance):
            if field.name in form.cleaned_data:
                after[field.name] = {related.pk for related in form.cleaned_data[field.name] or []}
            else:
                after[field.name] = before[field.name]
        changed = {name for name in after if after[name] != before.get(name)} - IGNORED_IN_COMPARISON
        related = getattr(serializer, "related_changes", None)
        if related and related():
            changed.add(RELATED_ROWS)
        return changed


class ExternalIdMixin:
    """external_source + external_id: not on the pages' forms, checked by the model's constraints."""

    def prepare_instance(self, instance, data):
        for name in ("external_source", "external_id"):
            if name in data or not self.partial and self.instance is not None:
                value = data.get(name)
                if value is not None and not isinstance(value, (str, int)):
                    raise exceptions.ValidationError({name: [_("Give a text.")]})
                setattr(instance, name, (str(value).strip() or None) if value is not None else None)
        return instance

    known_external_ids: dict | None = None  # in a batch: (system, id) -> ids of the records with it

    def batch_prepare(self, records):
        super().batch_prepare(records)
        keys = {(str(r["external_source"]).strip(), str(r["external_id"]).strip()) for r in records
                if isinstance(r, dict) and r.get("external_source") and r.get("external_id")}
        self.known_external_ids = {key: set() for key in keys}
        self._external_ids_of: dict[int, list] = {}  # record id -> its keys in known_external_ids
        if keys:
            model = self.Meta.model
            found = model.objects.filter(external_source__in={s for s, _ in keys}, external_id__in={i for _, i in keys})
            for pk, source, external_id in found.values_list("pk", "external_source", "external_id"):
                if (source, external_id) in self.known_external_ids:
                    self.known_external_ids[(source, external_id)].add(pk)
                    self._external_ids_of.setdefault(pk, []).append((source, external_id))

    def batch_saved(self, obj):
        super().batch_saved(obj)
        for key in self._external_ids_of.pop(obj.pk, ()):
            self.known_external_ids[key].discard(obj.pk)
        key = (obj.external_source, obj.external_id)
        self._external_ids_of[obj.pk] = [key] if key in self.known_external_ids else []
        if obj.external_id is not None and key in self.known_external_ids:
            self.known_external_ids[key].add(obj.pk)

    def _external_id_taken(self, instance) -> bool:
        key = (instance.external_source, instance.external_id)
        if self.known_external_ids is not None and key in self.known_external_ids:
            return bool(self.known_external_ids[key] - {instance.pk})
        return type(instance).objects.filter(
            external_source=instance.external_source, external_id=instance.external_id
        ).exclude(pk=instance.pk).exists()

    def validate_after_form(self, form, data):
        super().validate_after_form(form, data)
        instance = form.instance
        errors = {}
        for name, limit in (("external_source", 50), ("external_id", 100)):
            value = getattr(instance, name)
            if value is not None and len(value) > limit:
                errors[name] = [_("At most %(limit)s characters.") % {"limit": limit}]
        if errors:
            raise exceptions.ValidationError(errors)
        if (instance.external_source is None) != (instance.external_id is None):
            missing = "external_id" if instance.external_id is None else "external_source"
            raise exceptions.ValidationError({missing: [_("An external id needs its system, and a system needs the id.")]})
        if instance.external_id is not None:
            if self._external_id_taken(instance):
                raise exceptions.ValidationError(
                    {"external_id": [_("Another record already has this external id in this system.")]}
                )
