"""The change feed (/api/v1/changes/): one ChangeEvent row per create, update, delete and merge of
the kinds of record apps register here, written in the transaction of the change.

An app registers a kind in its AppConfig.ready() (`register("person", Person)`); crm knows no
domain app. The model's own save() calls `record_saved()` inside the save's transaction
(`ChangeFeedModel`), deletions arrive through `post_delete` (Django sends it inside the
deletion's transaction), bulk inserts call `record_created()`, and a service that does
something else (a merge, an erasure, a queryset update) says so with `record()`,
`record_updated_ids()` or by marking the instance before it deletes or saves it (`mark_merged`,
`mark_erased`, `mark_reason`).

A record saved together with its related rows (a person with employments and tags, by the edit
page or the API) is one change: inside `one_change()` a record gets one entry, however many of
its rows are written, and the webhook that reports it is built when the block ends, so its
payload shows the related rows as saved (still in the transaction: the outbox keeps its promise).

A kind registered with `webhooks=False` (leads, deals, tickets) is in the feed only: its app's
services emit its webhooks themselves, named for what happened ("deal.won", "lead.converted").
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.utils import timezone

_kinds: dict[str, type[models.Model]] = {}
# The kinds whose created/updated/deleted/merged webhooks come from here (crm.webhooks.changed).
_webhook_kinds: set[str] = set()
# Inside `deferred()`: the events waiting to be written, in the order of the changes.
_pending: ContextVar[list | None] = ContextVar("changefeed_pending", default=None)
# Inside `one_change()`: the records changed so far -> the webhook call for each, made at the end.
_changes: ContextVar[dict | None] = ContextVar("changefeed_changes", default=None)


def register(kind: str, model: type[models.Model], *, webhooks: bool = True) -> None:
    _kinds[kind] = model
    if webhooks:
        _webhook_kinds.add(kind)
    else:
        _webhook_kinds.discard(kind)
    post_delete.connect(_on_delete, sender=model, dispatch_uid=f"changefeed-delete-{kind}")


def kinds() -> dict[str, type[models.Model]]:
    return dict(_kinds)


def kind_of(model) -> str | None:
    model = model if isinstance(model, type) else type(model)
    for kind, registered in _kinds.items():
        if issubclass(model, registered):
            return kind
    return None


def record(kind: str, object_id: int, action: str, *, survivor_id: int | None = None, reason: str = "", instance=None):
    """One change, for the feed and, in the same transaction, for the webhooks that listen."""
    from crm.models import ChangeEvent

    changes = _changes.get()
    if changes is not None:
        earlier = changes.get((kind, object_id))
        if earlier is not None and action == ChangeEvent.Action.UPDATED:
            # Already reported in this block (created, updated or gone): this row is part of it.
            if earlier["instance"] is None and earlier["action"] not in ChangeEvent.GONE:
                earlier["instance"] = instance
            return earlier["event"]
    event = ChangeEvent(
        kind=kind, object_id=object_id, action=action, survivor_id=survivor_id, reason=reason, occurred_at=timezone.now()
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(event)  # written with the others when deferred() ends
    else:
        event.save()
    call = {"event": event, "kind": kind, "action": action, "instance": instance, "object_id": object_id,
            "survivor_id": survivor_id, "reason": reason}
    if changes is not None:
        changes[(kind, object_id)] = call  # a later deletion replaces an earlier update
    else:
        _emit(call)
    return event


def _emit(call: dict) -> None:
    if call["kind"] not in _webhook_kinds:
        return
    from crm import webhooks

    webhooks.changed(call["kind"], call["action"], instance=call["instance"], object_id=call["object_id"],
                     survivor_id=call["survivor_id"], reason=call["reason"])


@contextmanager
def one_change(*, savepoint: bool = True):
    """Saves of records and their related rows that are one change each (see the module's
    docstring). Opens a transaction when there is none; nested blocks are part of the outer one.
    Inside a transaction it is a savepoint, so an error raised in it (a ticket saved by someone
    else meanwhile) leaves the caller's transaction usable; `savepoint=False` for a batch, which
    redoes itself with savepoints when a record fails."""
    if _changes.get() is not None:
        yield
        return
    changes: dict = {}
    with transaction.atomic(savepoint=savepoint):
        token = _changes.set(changes)
        try:
            yield
        finally:
            _changes.reset(token)
        for call in changes.values():
            instance = call["instance"]
            if instance is not None:
                # Related rows read when the payload is built, not from a cache filled before they were saved.
                instance.__dict__.pop("_prefetched_objects_cache", None)
            _emit(call)


@contextmanager
def deferred():
    """For many changes in one transaction (a batch upsert): their events are collected and
    written with one INSERT when the block ends, still inside the transaction and in the order of
    the changes. Yields the list, so that a caller whose savepoint for one record rolls back can
    drop that record's events (`del pending[mark:]`)."""
    from crm.models import ChangeEvent

    if not connection.in_atomic_block:
        raise RuntimeError("changefeed.deferred() needs a transaction: the events belong to it.")
    from crm import webhooks

    pending: list = []
    token = _pending.set(pending)
    try:
        with webhooks.memoized():  # who listens, read once for the whole batch
            yield pending
    finally:
        _pending.reset(token)
    ChangeEvent.objects.bulk_create(pending, batch_size=1000)


def record_created(model, ids: list[int]) -> None:
    """Bulk inserts (imports, batch upserts) that bypass save()."""
    from crm.models import ChangeEvent

    kind = kind_of(model)
    if kind is None or not ids:
        return
    now = timezone.now()
    ChangeEvent.objects.bulk_create(
        [ChangeEvent(kind=kind, object_id=pk, action=ChangeEvent.Action.CREATED, occurred_at=now) for pk in ids],
        batch_size=1000,
    )
    if kind in _webhook_kinds:
        from crm import webhooks

        webhooks.changed_bulk(kind, model, ids)


def record_updated(instance) -> None:
    """A change that did not go through the record's save() (a related row, a queryset update)."""
    from crm.models import ChangeEvent

    kind = kind_of(instance)
    if kind is not None and instance.pk is not None:
        record(kind, instance.pk, ChangeEvent.Action.UPDATED, instance=instance)


def record_updated_ids(model, ids) -> None:
    """Records changed by a queryset update (a reassignment, an erasure elsewhere): one entry
    each. Call it with the ids the update touched, in the update's transaction."""
    from crm.models import ChangeEvent

    kind = kind_of(model)
    if kind is None:
        return
    for pk in dict.fromkeys(ids):
        record(kind, pk, ChangeEvent.Action.UPDATED, instance=None)


def record_saved(instance, *, created: bool) -> None:
    from crm.models import ChangeEvent

    kind = kind_of(instance)
    if kind is None:
        return
    if instance.__dict__.pop("_changefeed_erased", False):
        # For whoever mirrors the record, an erased person is gone; the event says no more.
        record(kind, instance.pk, ChangeEvent.Action.DELETED, reason="erased")
    else:
        action = ChangeEvent.Action.CREATED if created else ChangeEvent.Action.UPDATED
        record(kind, instance.pk, action, reason=instance.__dict__.pop("_changefeed_reason", ""), instance=instance)


def mark_merged(instance, *, survivor) -> None:
    """Before deleting `instance` in a merge: its deletion is reported as a merge into `survivor`."""
    instance._changefeed_survivor_id = survivor.pk


def mark_erased(instance) -> None:
    """Before saving the emptied record of a data-protection erasure: reported as a deletion."""
    instance._changefeed_erased = True


def mark_reason(instance, reason: str) -> None:
    """Before saving: the entry of this save says why ("converted" for a converted lead)."""
    instance._changefeed_reason = reason


def _on_delete(sender, instance, **kwargs):
    from crm.models import ChangeEvent

    kind = kind_of(instance)
    if kind is None:
        return
    survivor_id = getattr(instance, "_changefeed_survivor_id", None)
    if survivor_id is not None:
        record(kind, instance.pk, ChangeEvent.Action.MERGED, survivor_id=survivor_id)
    else:
        record(kind, instance.pk, ChangeEvent.Action.DELETED)


# --- related rows: a change of them is a change of the record they belong to ------------------


def watch_related(row_model, field_name: str) -> None:
    """Rows of `row_model` belong to the record their foreign key `field_name` names (a person's
    employments): saving or deleting one, wherever it happens (the organization page, the API,
    the admin), is an update of that record. Rows deleted with the record itself are not."""
    field = row_model._meta.get_field(field_name)
    record_model = field.related_model
    kind = kind_of(record_model)

    def changed(sender, instance, **kwargs):
        origin = kwargs.get("origin")
        origin_model = getattr(origin, "model", None) or (type(origin) if isinstance(origin, models.Model) else None)
        if origin_model is not None and kind_of(origin_model) == kind:
            return  # the record itself is being deleted (or merged): its own entry says so
        record_id = getattr(instance, field.attname)
        if record_id is not None:
            _record_update(kind, record_id, getattr(instance, field.name) if field.is_cached(instance) else None)

    uid = f"changefeed-{row_model._meta.label_lower}-{field_name}"
    post_save.connect(changed, sender=row_model, weak=False, dispatch_uid=f"{uid}-saved")
    post_delete.connect(changed, sender=row_model, weak=False, dispatch_uid=f"{uid}-deleted")


def watch_many_to_many(record_model, field_name: str) -> None:
    """A many-to-many field of a record (its tags): adding or removing a link, from either side
    (a person's tags, a tag's people on a list page's bulk action) or by deleting the other end
    (a tag), is an update of the records concerned."""
    field = record_model._meta.get_field(field_name)
    through, other_model = field.remote_field.through, field.related_model
    own = through._meta.get_field(field.m2m_field_name()).attname  # the through row's column for the record
    other = through._meta.get_field(field.m2m_reverse_field_name()).attname
    kind = kind_of(record_model)
    clearing: ContextVar[list | None] = ContextVar(f"changefeed_clearing_{kind}_{field_name}", default=None)

    def links_changed(sender, instance, action, reverse, pk_set, **kwargs):
        if not reverse:
            if action in ("post_add", "post_remove", "post_clear") and (pk_set or action == "post_clear"):
                _record_update(kind, instance.pk, instance)
            return
        if action == "pre_clear":  # which records lose the link: afterwards it is too late to ask
            clearing.set(list(through._default_manager.filter(**{other: instance.pk}).values_list(own, flat=True)))
        elif action == "post_clear":
            ids, _ = clearing.get() or [], clearing.set(None)
            record_updated_ids(record_model, ids)
        elif action in ("post_add", "post_remove") and pk_set:
            record_updated_ids(record_model, sorted(pk_set))

    def other_deleted(sender, instance, **kwargs):
        # Deleting a tag removes its links without a many-to-many signal.
        record_updated_ids(record_model, list(through._default_manager.filter(**{other: instance.pk}).values_list(own, flat=True)))

    uid = f"changefeed-{record_model._meta.label_lower}-{field_name}"
    m2m_changed.connect(links_changed, sender=through, weak=False, dispatch_uid=uid)
    pre_delete.connect(other_deleted, sender=other_model, weak=False, dispatch_uid=f"{uid}-other-deleted")


def _record_update(kind: str, object_id: int, instance) -> None:
    from crm.models import ChangeEvent

    record(kind, object_id, ChangeEvent.Action.UPDATED, instance=instance)


class ChangeFeedModel(models.Model):
    """A model whose saves the change feed reports, in the same transaction as the save."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        created = self._state.adding
        if _pending.get() is not None:  # the event is written with the others, in this transaction
            super().save(*args, **kwargs)
            record_saved(self, created=created)
            return
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            record_saved(self, created=created)
