"""Outbound webhooks: signed events (Standard Webhooks) that are never lost.

    webhooks.emit("deal.won", deal)                 # in the service, inside its transaction

`emit` writes a WebhookEvent (the payload as the API shows the record, and a stable id
`msg_<uuid>`) and one WebhookDelivery per active endpoint subscribed to the type, in the
caller's transaction: the event exists exactly when the change does. On commit a Celery task
delivers it (crm.webhooks.delivery); the beat job `webhooks_resume` picks up what a lost task,
a dead worker or a broker that was down left behind. Nothing is written when nobody listens.

Person and organization events come from the change feed (crm.changefeed calls
`changed()`), so one place reports a change to both. Other apps call `emit` from their
services, never from views. An app registers how its records look (`register_kind`), the
same serializer as its API room; crm knows no domain app.
"""

import contextvars
import uuid
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EVENT_TYPES: dict[str, str] = {
    "person.created": _("Person created"),
    "person.updated": _("Person updated"),
    "person.deleted": _("Person deleted"),
    "person.merged": _("Person merged"),
    "organization.created": _("Organization created"),
    "organization.updated": _("Organization updated"),
    "organization.deleted": _("Organization deleted"),
    "organization.merged": _("Organization merged"),
    "lead.created": _("Lead created"),
    "lead.converted": _("Lead converted"),
    "deal.created": _("Deal created"),
    "deal.stage_changed": _("Deal stage changed"),
    "deal.won": _("Deal won"),
    "deal.lost": _("Deal lost"),
    "ticket.created": _("Ticket created"),
    "ticket.replied": _("Ticket replied"),
    "ticket.status_changed": _("Ticket status changed"),
    "consent.granted": _("Consent granted"),
    "consent.withdrawn": _("Consent withdrawn"),
    "appointment.booked": _("Appointment booked"),
    "appointment.moved": _("Appointment moved"),
    "appointment.cancelled": _("Appointment cancelled"),
    "campaign.send_finished": _("Campaign send finished"),
}
PING = "webhook.ping"

_serializers: dict[str, object] = {}


def register_kind(kind: str, serialize) -> None:
    """`serialize(instance) -> dict`: the record as the API shows it."""
    _serializers[kind] = serialize


def new_msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def represent(kind: str, instance) -> dict:
    serialize = _serializers.get(kind)
    if serialize is None:
        # A kind whose app has no API room yet: its own columns (foreign keys as ids).
        return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}
    return dict(serialize(instance))


SUBSCRIPTIONS_KEY = "crm:webhooks:subscriptions"
SUBSCRIPTIONS_TTL = 60


_memo: contextvars.ContextVar[list | None] = contextvars.ContextVar("webhook_subscriptions_memo", default=None)


def subscriptions() -> list[tuple[int, list[str]]]:
    """The active endpoints and their event types, from the shared cache (every change of an
    endpoint forgets it), so a change with nobody listening costs one cache read; inside
    `memoized()` (a batch of changes) one read for all of them.

    A transaction that changed an endpoint reads the database and leaves the cache alone until it
    ends: had it cached what it sees, a rollback would leave endpoints in the cache that do not
    exist (and every later change would fail on its delivery row). It remembers what it read for
    as long as no savepoint it read inside has ended (`_transaction_memo`)."""
    from django.core.cache import cache

    from crm.models import WebhookEndpoint

    memo = _memo.get()
    if memo:
        return memo[0]
    dirty = _changed_in_this_transaction()
    found = _transaction_memo() if dirty else cache.get(SUBSCRIPTIONS_KEY)
    if found is None:
        found = [
            (pk, list(types or []))
            for pk, types in WebhookEndpoint.objects.filter(is_active=True).values_list("pk", "event_types")
        ]
        if dirty:
            connection._crm_webhooks_read = (connection.atomic_blocks[0], tuple(connection.savepoint_ids), found)
        else:
            cache.set(SUBSCRIPTIONS_KEY, found, SUBSCRIPTIONS_TTL)
    if memo is not None:
        memo.append(found)
    return found


@contextmanager
def memoized():
    """Many changes at once (a batch upsert, an import): the subscriptions read once for all."""
    token = _memo.set([])
    try:
        yield
    finally:
        _memo.reset(token)


def forget_subscriptions() -> None:
    from django.core.cache import cache

    cache.delete(SUBSCRIPTIONS_KEY)
    connection._crm_webhooks_read = None
    if connection.atomic_blocks:
        connection._crm_webhooks_changed_in = connection.atomic_blocks[0]
    memo = _memo.get()
    if memo:
        memo.clear()
    # Again after the transaction: another request may have read the old list in between.
    transaction.on_commit(lambda: cache.delete(SUBSCRIPTIONS_KEY))


def _transaction_memo():
    """What this transaction read after it changed an endpoint, while that still holds: the same
    transaction, and every savepoint open at the read still open (a rolled-back savepoint may have
    held an endpoint's change; savepoint ids are never reused on a connection)."""
    read = getattr(connection, "_crm_webhooks_read", None)
    if read is None or not connection.atomic_blocks or read[0] is not connection.atomic_blocks[0]:
        return None
    savepoints = tuple(connection.savepoint_ids)
    return read[2] if savepoints[:len(read[1])] == read[1] else None


def _changed_in_this_transaction() -> bool:
    """Whether the running transaction (its outermost block) changed an endpoint."""
    changed_in = getattr(connection, "_crm_webhooks_changed_in", None)
    return changed_in is not None and bool(connection.atomic_blocks) and connection.atomic_blocks[0] is changed_in


def _subscribers(event_type: str) -> list[int]:
    return [pk for pk, types in subscriptions() if event_type in types]


def emit(event_type: str, instance=None, payload: dict | None = None, *, kind: str = "", object_id=None,
         endpoints: list[int] | None = None, extra: dict | None = None):
    """Write the event and its deliveries in the current transaction; deliver on commit.
    `payload` defaults to the registered representation of `instance`, with `extra` added.
    Returns the event, or None when no endpoint listens to the type (then nothing is computed)."""
    from crm.models import WebhookDelivery, WebhookEvent

    endpoint_ids = endpoints if endpoints is not None else _subscribers(event_type)
    if not endpoint_ids:
        return None
    if instance is not None:
        kind = kind or event_type.split(".", 1)[0]
        object_id = instance.pk if object_id is None else object_id
    if payload is None:
        payload = represent(kind, instance) if instance is not None else {}
    if extra:
        payload = {**payload, **extra}
    now = timezone.now()
    body = {"type": event_type, "timestamp": now.isoformat(), "data": _jsonable(payload)}
    # No savepoint: inside the caller's transaction the rows go with it; outside, they are one.
    with transaction.atomic(savepoint=False):
        event = WebhookEvent.objects.create(
            msg_id=new_msg_id(), event_type=event_type, kind=kind, object_id=object_id, payload=body, occurred_at=now
        )
        record_key = f"{kind}:{object_id}" if kind and object_id is not None else f"event:{event.pk}"
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(endpoint_id=pk, event=event, record_key=record_key, created_at=now) for pk in endpoint_ids]
        )
        transaction.on_commit(lambda: _enqueue(endpoint_ids))
    return event


def _jsonable(payload):
    """The payload through DRF's encoder (dates, decimals, UUIDs), so the JSONField stores it."""
    import json

    from rest_framework.utils.encoders import JSONEncoder

    class Encoder(JSONEncoder):
        def default(self, obj):
            if isinstance(obj, Decimal):
                return str(obj)  # as the API shows amounts: exact, not a float
            try:
                return super().default(obj)
            except TypeError:
                return str(obj)  # a country, a phone number: as the forms show it

    return json.loads(json.dumps(payload, cls=Encoder))


def _enqueue(endpoint_ids) -> None:
    from crm import tasks

    for pk in set(endpoint_ids):
        try:
            tasks.webhooks_deliver.delay(pk)
        except Exception:  # noqa: BLE001 — broker down: the beat job delivers it later
            import logging

            logging.getLogger(__name__).warning("webhooks: could not enqueue delivery to endpoint %s", pk, exc_info=True)


# --- the change feed's events ------------------------------------------------------------------

_FEED_ACTIONS = {"created": "created", "updated": "updated", "deleted": "deleted", "merged": "merged"}


def changed(kind: str, action: str, *, instance=None, object_id=None, survivor_id=None, reason: str = "") -> None:
    """Called by crm.changefeed for every change it records (same transaction)."""
    event_type = f"{kind}.{_FEED_ACTIONS.get(action, action)}"
    if event_type not in EVENT_TYPES:
        return
    endpoint_ids = _subscribers(event_type)
    if not endpoint_ids:
        return
    object_id = instance.pk if object_id is None and instance is not None else object_id
    gone = action in ("deleted", "merged") or reason == "erased"
    if instance is None and not gone:
        # A change recorded by id (a related row, a queryset update): the record as it is now.
        from crm import changefeed

        model = changefeed.kinds().get(kind)
        instance = model._default_manager.filter(pk=object_id).first() if model is not None else None
        if instance is None:
            return  # deleted in the same transaction: its deletion is reported
    if gone:
        # The record is gone (or emptied by an erasure): the event names it and no more.
        payload = {"id": object_id}
        if survivor_id is not None:
            payload["merged_into"] = survivor_id
        if reason:
            payload["reason"] = reason
        emit(event_type, payload=payload, kind=kind, object_id=object_id, endpoints=endpoint_ids)
    else:
        emit(event_type, instance, kind=kind, endpoints=endpoint_ids)


def changed_bulk(kind: str, model, ids: list[int]) -> None:
    """Bulk inserts (imports, batch upserts): one created event per record."""
    event_type = f"{kind}.created"
    endpoint_ids = _subscribers(event_type) if event_type in EVENT_TYPES else []
    if not endpoint_ids or not ids:
        return
    for instance in model._default_manager.filter(pk__in=ids).order_by("pk").iterator(chunk_size=500):
        emit(event_type, instance, kind=kind, endpoints=endpoint_ids)


# --- endpoints -------------------------------------------------------------------------------

ROTATION_OVERLAP_HOURS = 24


def new_secret() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_save(endpoint, *, user=None):
    """Create (with a new secret) or update an endpoint after checking its destination.
    Returns (endpoint, secret): the secret only when it was made now, to show it once."""
    from crm.webhooks.delivery import check_url

    check_url(endpoint.url)
    secret = None
    if endpoint.pk is None:
        secret = endpoint.secret = new_secret()
        endpoint.created_by = endpoint.created_by or user
    endpoint.save()
    forget_subscriptions()
    return endpoint, secret


def endpoint_rotate(endpoint) -> str:
    """A new secret; the old one keeps signing for ROTATION_OVERLAP_HOURS (both signatures go in
    the header, as Standard Webhooks allows), so the receiver can switch without a gap."""
    from datetime import timedelta

    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=ROTATION_OVERLAP_HOURS)
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return secret


def endpoint_enable(endpoint) -> None:
    """Enable again after it was disabled: failures forgotten, pending deliveries go out."""
    endpoint.is_active, endpoint.disabled_reason, endpoint.disabled_at = True, "", None
    endpoint.consecutive_failures, endpoint.retry_at = 0, None
    endpoint.save(update_fields=["is_active", "disabled_reason", "disabled_at", "consecutive_failures", "retry_at"])
    forget_subscriptions()
    transaction.on_commit(lambda: _enqueue([endpoint.pk]))


def _endpoint_changed(sender, **kwargs):
    forget_subscriptions()


def connect_signals() -> None:
    """Admin edits and deletions (Django admin, shell) forget the cached subscriptions too."""
    from django.db.models.signals import post_delete, post_save

    from crm.models import WebhookEndpoint

    post_save.connect(_endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-endpoint-saved")
    post_delete.connect(_endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-endpoint-deleted")
