"""The change feed (/api/v1/changes/): one ChangeEvent row per create, update, delete and merge of
the kinds of record apps register here, written in the transaction of the change.

An app registers a kind in its AppConfig.ready() (`register("person", Person)`); crm knows no
domain app. The model's own save() calls `record_saved()` inside the save's transaction
(`ChangeFeedModel`), deletions arrive through `post_delete` (Django sends it inside the
deletion's transaction), bulk inserts call `record_created()`, and a service that does
something else (a merge, an erasure, a queryset update) says so with `record()` or by marking
the instance before it deletes or saves it (`mark_merged`, `mark_erased`).
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models, transaction
from django.db.models.signals import post_delete
from django.utils import timezone

_kinds: dict[str, type[models.Model]] = {}
# Inside `deferred()`: the events waiting to be written, in the order of the changes.
_pending: ContextVar[list | None] = ContextVar("changefeed_pending", default=None)


def register(kind: str, model: type[models.Model]) -> None:
    _kinds[kind] = model
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
    from crm import webhooks
    from crm.models import ChangeEvent

    event = ChangeEvent(
        kind=kind, object_id=object_id, action=action, survivor_id=survivor_id, reason=reason, occurred_at=timezone.now()
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(event)  # written with the others when deferred() ends
    else:
        event.save()
    webhooks.changed(kind, action, instance=instance, object_id=object_id, survivor_id=survivor_id, reason=reason)
    return event


@contextmanager
def deferred():
    """For many changes in one transaction (a batch upsert): their events are collected and
    written with one INSERT when the block ends, still inside the transaction and in the order of
    the changes. Yields the list, so that a caller whose savepoint for one record rolls back can
    drop that record's events (`del pending[mark:]`)."""
    from crm.models import ChangeEvent

    if not connection.in_atomic_block:
        raise RuntimeError("changefeed.deferred() needs a transaction: the events belong to it.")
    pending: list = []
    token = _pending.set(pending)
    try:
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
    from crm import webhooks

    webhooks.changed_bulk(kind, model, ids)


def record_updated(instance) -> None:
    """A change that did not go through the record's save() (a related row, a queryset update)."""
    from crm.models import ChangeEvent

    kind = kind_of(instance)
    if kind is not None and instance.pk is not None:
        record(kind, instance.pk, ChangeEvent.Action.UPDATED, instance=instance)


def record_saved(instance, *, created: bool) -> None:
    from crm.models import ChangeEvent

    kind = kind_of(instance)
    if kind is None:
        return
    if instance.__dict__.pop("_changefeed_erased", False):
        # For whoever mirrors the record, an erased person is gone; the event says no more.
        record(kind, instance.pk, ChangeEvent.Action.DELETED, reason="erased")
    else:
        record(kind, instance.pk, ChangeEvent.Action.CREATED if created else ChangeEvent.Action.UPDATED, instance=instance)


def mark_merged(instance, *, survivor) -> None:
    """Before deleting `instance` in a merge: its deletion is reported as a merge into `survivor`."""
    instance._changefeed_survivor_id = survivor.pk


def mark_erased(instance) -> None:
    """Before saving the emptied record of a data-protection erasure: reported as a deletion."""
    instance._changefeed_erased = True


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
