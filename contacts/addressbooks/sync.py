"""Address book workflows: connect (tested first), push the people in scope, pause, disconnect,
and dismiss a conflict.

A run (`addressbook_push`) compares three things per person: the vCard the CRM would write now
(its SHA-256), the one it wrote last (AddressBookCard.card_hash), and the ETag the address book
lists for it (one PROPFIND). Only a card that changed on either side is written, and every
write and delete carries If-Match on the ETag the CRM last saw, so an edit made on the phone
meanwhile is never overwritten unseen: on 412 the phone's version is read and kept as an
AddressBookConflict (shown on the page), then the CRM's version is written over it (the CRM is
the master of these cards). People who left the scope (deleted, erased, merged away, no longer
visible to the user, out of the segment) are deleted there; a merge thereby leaves only the
survivor's card. An erased person's card is deleted without keeping the phone's version.

A run writes at most CRM_ADDRESSBOOK_BATCH cards and says how many changes still wait; the task
queues the next batch. Each card's row is saved right after its request, so a killed worker
loses nothing and the next run goes on from there. One run at a time per connection (a lease).
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.addressbooks import carddav, scopes
from contacts.addressbooks.carddav import AddressBookFailure
from contacts.addressbooks.models import AddressBookCard, AddressBookConflict, AddressBookConnection, AddressBookError
from contacts.models import Person
from contacts.services.vcards import people_cards

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
VERSION = "3.0"  # what the contacts apps of iOS and Android read best


def _session(connection: AddressBookConnection):
    return carddav.session(username=connection.username, password=connection.password())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Connecting -------------------------------------------------------------------------------------


def addressbook_connect(
    *, user, url: str, username: str, password: str, addressbook_name: str = "", scope: str = AddressBookConnection.Scope.ALL,
    segment_id: int | None = None,
) -> AddressBookConnection:
    """Check the scope, log in and find (or create) the address book first (AddressBookFailure
    when that fails; nothing is saved), then store the connection with the password encrypted.
    The first push is queued after the commit."""
    segment_name = ""
    if scope == AddressBookConnection.Scope.SEGMENT:
        segment_name = dict(scopes.segment_choices(user)).get(segment_id, "")
        if not segment_name:
            raise AddressBookFailure(AddressBookError.SEGMENT_GONE)
    else:
        segment_id = None
    with _session_for(username, password) as client:
        server_url, addressbook_url, name = carddav.discover(client, url=url, name=addressbook_name)
    with transaction.atomic():
        connection = AddressBookConnection.objects.select_for_update().filter(user=user).first()
        changed = connection is not None and connection.addressbook_url != addressbook_url
        connection = connection or AddressBookConnection(user=user)
        connection.url, connection.addressbook_url = server_url, addressbook_url
        connection.addressbook_name, connection.username = name or addressbook_name.strip(), username
        connection.scope, connection.segment_id, connection.segment_name = scope, segment_id, segment_name
        connection.set_password(password)
        connection.last_error, connection.last_error_detail, connection.last_error_at = "", "", None
        connection.save()
        if changed:
            # Another address book: the cards in the old one stay there; this one gets them anew.
            connection.cards.all().delete()
        _queue(connection.pk)
    return connection


def _session_for(username: str, password: str):
    return carddav.session(username=username, password=password)


def addressbook_disconnect(*, connection: AddressBookConnection) -> None:
    """Forget the connection, its password and what it wrote; the cards already there stay."""
    connection.delete()


def addressbook_set_paused(*, connection: AddressBookConnection, paused: bool) -> None:
    connection.is_paused = paused
    connection.save(update_fields=["is_paused"])
    if not paused:
        _queue(connection.pk)


def conflict_dismiss(*, conflict: AddressBookConflict) -> None:
    conflict.delete()


def _queue(connection_id: int) -> None:
    """After the commit: push this address book (the request never waits for the server)."""

    def send():
        from contacts.tasks import addressbook_push

        try:
            addressbook_push.delay(connection_id)
        except Exception:  # a broker hiccup must not fail the page; beat pushes within minutes
            logger.exception("Could not queue the push of address book %s", connection_id)

    transaction.on_commit(send)


# After a change ---------------------------------------------------------------------------------

TRIGGER_KEY = "contacts.addressbooks.soon"


def push_soon() -> None:
    """A person changed: push the address books in a few seconds, once for many changes (the key
    in the cache holds the next ones back; beat catches up with anything this misses)."""
    transaction.on_commit(_push_soon)


def _push_soon() -> None:
    from django.core.cache import cache

    from contacts.tasks import addressbooks_push

    delay = getattr(settings, "CRM_ADDRESSBOOK_TRIGGER_SECONDS", 10)
    try:
        if cache.add(TRIGGER_KEY, 1, timeout=delay):
            addressbooks_push.apply_async(countdown=delay)
    except Exception:  # the cache or the broker is down: beat pushes within minutes
        logger.warning("Could not queue the address book push after a change", exc_info=True)


def connections_due() -> list[int]:
    return list(AddressBookConnection.objects.filter(is_paused=False).order_by("pk").values_list("pk", flat=True))


# Which people -----------------------------------------------------------------------------------


def people_in_scope(connection: AddressBookConnection):
    """The people the connection's user may see now (never anyone else), within the segment when
    one is chosen; erased people never. AddressBookFailure(SEGMENT_GONE) when the segment is gone."""
    user = connection.user
    people = Person.objects.visible_to(user).not_erased() if user.is_active else Person.objects.none()
    if connection.scope == AddressBookConnection.Scope.SEGMENT:
        members = scopes.segment_people(user, connection.segment_id) if connection.segment_id else None
        if members is None:
            raise AddressBookFailure(AddressBookError.SEGMENT_GONE, connection.segment_name)
        people = people.filter(pk__in=members.order_by().values("pk"))
    return people


# Pushing ----------------------------------------------------------------------------------------


@dataclass
class PushResult:
    pushed: int = 0
    deleted: int = 0
    rejected: int = 0
    conflicts: int = 0
    waiting: int = 0
    failure: AddressBookFailure | None = None
    errors: list = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.failure is not None


def _claim(connection_id: int) -> bool:
    now = timezone.now()
    return bool(
        AddressBookConnection.objects.filter(pk=connection_id, is_paused=False)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def addressbook_push(*, connection_id: int, batch: int | None = None) -> PushResult | None:
    """One run for one address book (None when it is paused, gone, or another run holds it)."""
    if not _claim(connection_id):
        return None
    connection = AddressBookConnection.objects.select_related("user").get(pk=connection_id)
    result = PushResult()
    now = timezone.now()
    try:
        with _session(connection) as client:
            _run(client, connection, result, batch or settings.CRM_ADDRESSBOOK_BATCH)
    except AddressBookFailure as failure:
        result.failure = failure
        logger.info("address book push %s failed: %s", connection_id, failure.code)
    except Exception as exc:
        # Our own fault, not the server's: said on the page too, and the lease is given back.
        result.failure = AddressBookFailure(AddressBookError.SERVER, f"{type(exc).__name__}: {exc}")
        _finish(connection, result, now)
        raise
    _finish(connection, result, now)
    return result


def _finish(connection: AddressBookConnection, result: PushResult, now) -> None:
    if result.failure is not None:
        failure = result.failure
        connection.last_error, connection.last_error_detail, connection.last_error_at = failure.code, failure.detail, now
    else:
        connection.last_error, connection.last_error_detail, connection.last_error_at = "", "", None
        connection.last_success_at = now
    connection.last_run_at = now
    connection.last_pushed, connection.last_deleted = result.pushed, result.deleted
    connection.last_rejected, connection.last_conflicts = result.rejected, result.conflicts
    connection.waiting = result.waiting
    connection.lease_until = None
    connection.save(update_fields=[
        "last_run_at", "last_success_at", "last_pushed", "last_deleted", "last_rejected", "last_conflicts", "waiting",
        "last_error", "last_error_detail", "last_error_at", "lease_until",
    ])


def _run(client, connection: AddressBookConnection, result: PushResult, batch: int) -> None:
    limit = settings.CRM_ADDRESSBOOK_MAX_CARDS
    people = people_in_scope(connection)
    if people.order_by()[: limit + 1].count() > limit:
        raise AddressBookFailure(AddressBookError.TOO_MANY, str(limit))
    remote = carddav.cards(client, addressbook_url=connection.addressbook_url)
    known = {card.person_id: card for card in connection.cards.all()}
    budget = batch
    wanted = set()
    for person, text in people_cards(people, version=VERSION):
        wanted.add(person.pk)
        card = known.get(person.pk)
        digest = _digest(text)
        if not _needs_write(card, digest, remote):
            continue
        if budget <= 0:
            result.waiting += 1
            continue
        budget -= 1
        _write(client, connection, result, person, text, digest, card)
    gone = [card for person_id, card in known.items() if person_id not in wanted]
    erased = _erased({card.person_id for card in gone})
    for card in gone:
        if budget <= 0:
            result.waiting += 1
            continue
        budget -= 1
        _remove(client, connection, result, card, erased=card.person_id in erased)


def _needs_write(card: AddressBookCard | None, digest: str, remote: dict[str, str]) -> bool:
    if card is None:
        return True
    if card.last_error:
        return card.card_hash != digest  # refused before: tried again once the card changes
    there = remote.get(carddav.path_of(card.href))
    return card.card_hash != digest or there != card.etag  # changed here, or changed/deleted there


def _extend_lease(connection: AddressBookConnection) -> None:
    AddressBookConnection.objects.filter(pk=connection.pk).update(lease_until=timezone.now() + LEASE)


def _write(client, connection, result: PushResult, person, text: str, digest: str, card: AddressBookCard | None) -> None:
    href = card.href if card else carddav.card_href(connection.addressbook_url, person.pk)
    try:
        written = carddav.put(client, href=href, body=text, etag=card.etag if card else "")
        if written.status in (404, 412):
            written = _write_over(client, connection, result, person, text, href, had_card=bool(card and card.etag))
    except AddressBookFailure as failure:
        if failure.code != AddressBookError.REJECTED:
            raise
        card = card or AddressBookCard(connection=connection, person_id=person.pk, href=href)
        card.card_hash, card.last_error = digest, failure.detail or AddressBookError.REJECTED.label
        card.save()
        result.rejected += 1
        result.errors.append(failure.detail)
        return
    card = card or AddressBookCard(connection=connection, person_id=person.pk, href=href)
    card.etag, card.card_hash, card.last_error, card.pushed_at = written.etag, digest, "", timezone.now()
    card.save()
    result.pushed += 1
    _extend_lease(connection)


def _write_over(client, connection, result, person, text: str, href: str, *, had_card: bool) -> carddav.WriteResult:
    """The card changed or went there since the CRM wrote it: the phone's version is kept as a
    conflict, then the CRM's is written (over exactly the version just read)."""
    remote = carddav.get(client, href=href)
    if remote is None:
        if had_card:
            _conflict(connection, result, person.pk, person.full_name, AddressBookConflict.Kind.DELETED_THERE, "")
        written = carddav.put(client, href=href, body=text, etag="")
    else:
        if remote.text.strip() != text.strip():
            _conflict(connection, result, person.pk, person.full_name, AddressBookConflict.Kind.CHANGED_THERE, remote.text)
        written = carddav.put(client, href=href, body=text, etag=remote.etag)
    if written.status // 100 != 2:
        raise AddressBookFailure(AddressBookError.SERVER, f"PUT {written.status}: the card changed again while it was written")
    return written


def _conflict(connection, result, person_id: int, label: str, kind: str, remote_text: str) -> None:
    AddressBookConflict.objects.create(
        connection=connection, person_id=person_id, person_label=label[:250], kind=kind, remote_card=remote_text,
    )
    result.conflicts += 1


_FN = re.compile(r"^FN(?:;[^:\r\n]*)?:(.*)$", re.MULTILINE | re.IGNORECASE)


def _remove(client, connection, result: PushResult, card: AddressBookCard, *, erased: bool) -> None:
    status = carddav.delete(client, href=card.href, etag=card.etag)
    if status == 412:
        remote = carddav.get(client, href=card.href)
        if remote is not None:
            if not erased and _digest(remote.text) != card.card_hash:
                match = _FN.search(remote.text)
                label = match.group(1).strip() if match else f"#{card.person_id}"
                _conflict(connection, result, card.person_id, label, AddressBookConflict.Kind.REMOVED_CHANGED, remote.text)
            if carddav.delete(client, href=card.href, etag=remote.etag) == 412:
                raise AddressBookFailure(AddressBookError.SERVER, "DELETE 412: the card changed again while it was deleted")
    card.delete()
    result.deleted += 1
    _extend_lease(connection)


def _erased(person_ids: set[int]) -> set[int]:
    from crm.models import ChangeEvent

    if not person_ids:
        return set()
    return set(
        ChangeEvent.objects.filter(
            kind="person", object_id__in=person_ids, action=ChangeEvent.Action.DELETED, reason="erased"
        ).values_list("object_id", flat=True)
    )
