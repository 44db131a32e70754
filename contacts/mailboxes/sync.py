"""Services of the mailbox sync: connect a mailbox (tested before it is saved), sync it, mark a
synced email private.

Exactly once: a folder is read in UID order in batches; each batch is stored in one transaction
together with the folder's new position (UIDVALIDITY, last UID), so a killed worker repeats at
most the batch it had not committed. A message is stored once whatever folder or mailbox it is
seen in: SyncedEmail.message_key (the Message-ID) is unique, and each email is on a person's
and an organization's timeline at most once (Activity's unique constraints). A new UIDVALIDITY
makes the folder start over; the messages already stored are counted as present, not stored
again. One sync per mailbox at a time (a Postgres advisory lock, released when the process dies).

Data minimisation: the bodies of messages with no known person's address are never fetched.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import F, Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from contacts.mailboxes import imap, parsing
from contacts.mailboxes.imap import Account, MailboxError
from contacts.mailboxes.models import MailboxConnection, MailboxFolder, SyncedEmail
from crm.secrets import SecretUnreadable

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x4D41494C  # "MAIL": the first key of pg_try_advisory_lock(ns, connection id)


@dataclass
class SyncReport:
    seen: int = 0
    stored: int = 0
    present: int = 0
    skipped: int = 0
    error: str = ""

    def add(self, other: "SyncReport") -> None:
        self.seen += other.seen
        self.stored += other.stored
        self.present += other.present
        self.skipped += other.skipped


def account_of(connection: MailboxConnection, password: str | None = None) -> Account:
    return Account(
        host=connection.host, port=connection.port, security=connection.security, username=connection.username,
        password=connection.password() if password is None else password,
    )


def mailbox_connect(*, user, host: str, port: int, security: str, username: str, password: str | None,
                    excluded: str = "", smtp_host: str = "", smtp_port: int = 587,
                    smtp_security: str = MailboxConnection.SmtpSecurity.STARTTLS, smtp_username: str = "",
                    smtp_password: str | None = None) -> MailboxConnection:
    """Test the connection (log in, find INBOX and the Sent folder), and the SMTP account when
    one is given (log in), then save it, the passwords encrypted. Without a new password the
    stored one is used; without an SMTP server the SMTP account is forgotten. Raises
    MailboxError (SmtpError for the SMTP account), nothing saved."""
    from contacts.mailboxes.sending import smtp_check

    connection = MailboxConnection.objects.filter(user=user).first() or MailboxConnection(user=user)
    if not password:
        password = connection.password() if connection.password_encrypted else ""
    imap.check(Account(host=host, port=port, security=security, username=username, password=password))
    if smtp_host:
        if not smtp_password:
            smtp_password = connection.smtp_password()
        smtp_check(host=smtp_host, port=smtp_port, security=smtp_security, username=smtp_username, password=smtp_password)
    else:
        smtp_port, smtp_security, smtp_username, smtp_password = 587, MailboxConnection.SmtpSecurity.STARTTLS, "", ""
    other_mailbox = connection.pk and (connection.host.lower(), connection.username) != (host.lower(), username)
    with transaction.atomic():
        if other_mailbox:  # another mailbox: its folders' positions mean nothing there
            connection.folders.all().delete()
        connection.host, connection.port, connection.security, connection.username = host, port, security, username
        connection.excluded = excluded
        connection.set_password(password)
        connection.smtp_host, connection.smtp_port, connection.smtp_security = smtp_host, smtp_port, smtp_security
        connection.smtp_username = smtp_username
        connection.set_smtp_password(smtp_password)
        connection.smtp_verified_at = timezone.now() if smtp_host else None
        connection.verified_at = timezone.now()
        connection.last_error, connection.last_error_detail = "", ""
        connection.save()
    return connection


def mailbox_disconnect(*, connection: MailboxConnection) -> None:
    """Forget the mailbox and its password; the emails already on timelines stay there."""
    connection.delete()


@contextmanager
def _exclusive(connection_id: int) -> Iterator[bool]:
    if db.vendor != "postgresql":
        yield True
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, connection_id])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with db.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, connection_id])


def _record(connection_id: int, **fields) -> None:
    MailboxConnection.objects.filter(pk=connection_id).update(**fields)


def mailbox_sync(*, connection: MailboxConnection) -> SyncReport | None:
    """Sync INBOX and the Sent folder. None when paused or when another run has this mailbox."""
    if connection.is_paused:
        return None
    with _exclusive(connection.pk) as got:
        if not got:
            return None
        report = SyncReport()
        now = timezone.now()
        _record(connection.pk, last_run_at=now)
        try:
            account = account_of(connection)
        except SecretUnreadable:
            _fail(connection, MailboxConnection.Error.PASSWORD, "", report)
            return report
        try:
            with imap.session(account) as session:
                folders = session.folders()
                for role, name in ((MailboxFolder.Role.INBOX, folders["inbox"]), (MailboxFolder.Role.SENT, folders["sent"])):
                    if name:
                        report.add(_sync_folder(connection, session, role, name))
        except MailboxError as error:
            _fail(connection, error.code, error.detail, report)
        except Exception as error:  # logged for the admins; the page says it in words
            logger.exception("Mailbox sync of connection %s failed", connection.pk)
            _fail(connection, MailboxConnection.Error.UNEXPECTED, type(error).__name__, report)
        else:
            _record(connection.pk, last_success_at=timezone.now(), last_error="", last_error_detail="")
        return report


def _fail(connection, code: str, detail: str, report: SyncReport) -> None:
    report.error = code
    _record(connection.pk, last_error=code, last_error_detail=detail[:500], last_error_at=timezone.now())


def _sync_folder(connection, session, role: str, name: str) -> SyncReport:
    uidvalidity = session.select(name)
    folder, _created = MailboxFolder.objects.get_or_create(
        connection=connection, role=role, defaults={"name": name, "uidvalidity": uidvalidity}
    )
    if folder.uidvalidity != uidvalidity or folder.name != name:
        changed = folder.uidvalidity != uidvalidity
        folder.name, folder.uidvalidity, folder.last_uid = name, uidvalidity, 0
        folder.resets += 1 if changed else 0
        folder.save(update_fields=["name", "uidvalidity", "last_uid", "resets"])
    report = SyncReport()
    uids = session.uids_after(folder.last_uid)
    size = max(1, settings.CRM_MAILBOX_BATCH)
    for start in range(0, len(uids), size):
        report.add(_sync_batch(connection, session, folder, uids[start:start + size]))
    MailboxFolder.objects.filter(pk=folder.pk).update(synced_at=timezone.now())
    return report


def _own_addresses(connection) -> set[str]:
    return {a.strip().lower() for a in (connection.username, connection.user.email) if a and "@" in a}


def _people_by_address(addresses: set[str]) -> dict[str, list[int]]:
    from contacts.models import Person

    found: dict[str, list[int]] = {}
    if not addresses:
        return found
    rows = Person.objects.filter(Q(email__in=addresses) | Q(email_secondary__in=addresses)).values_list(
        "pk", "email", "email_secondary"
    )
    for pk, email, second in rows:
        for address in {email, second} & addresses:
            found.setdefault(address, []).append(pk)
    return found


def _fetch_bodies(session, uids: list[int]) -> tuple[dict[int, bytes], set[int]]:
    """Full messages in chunks of at most ~20 MB; too big ones come as headers only."""
    sizes = session.sizes(uids)
    limit = settings.CRM_MAILBOX_MAX_MESSAGE_BYTES
    too_big = {u for u in uids if sizes.get(u, 0) > limit}
    bodies, chunk, budget = {}, [], 0
    for uid in (u for u in uids if u not in too_big):
        chunk.append(uid)
        budget += sizes.get(uid, 0)
        if budget > 20 * 1024 * 1024:
            bodies.update(session.messages(chunk))
            chunk, budget = [], 0
    bodies.update(session.messages(chunk))
    return bodies, too_big


def _sync_batch(connection, session, folder: MailboxFolder, uids: list[int]) -> SyncReport:
    report = SyncReport()
    headers = {uid: parsing.headers_of(raw) for uid, raw in session.headers(uids).items()}
    own = _own_addresses(connection)
    exclusions = connection.excluded_entries()
    wanted = {
        uid: [a for a in h.addresses if a not in own and not connection.is_excluded(a, exclusions)]
        for uid, h in headers.items()
    }
    people = _people_by_address({a for addresses in wanted.values() for a in addresses})
    matched = {uid: list(dict.fromkeys(pk for a in wanted[uid] for pk in people.get(a, []))) for uid in headers}
    candidates = [uid for uid in headers if matched[uid]]
    present = set(SyncedEmail.objects.filter(message_key__in={headers[u].key for u in candidates})
                  .values_list("message_key", flat=True))
    fetch = [uid for uid in candidates if headers[uid].key not in present]
    bodies, too_big = _fetch_bodies(session, fetch)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                locked = MailboxFolder.objects.select_for_update().get(pk=folder.pk)
                if (locked.uidvalidity, locked.last_uid) != (folder.uidvalidity, folder.last_uid):
                    return report  # another run moved on (cannot happen under the lock; never store twice)
                report = _store_batch(connection, folder, uids, headers, matched, bodies, too_big)
                _record(
                    connection.pk, messages_seen=F("messages_seen") + report.seen,
                    messages_stored=F("messages_stored") + report.stored,
                    messages_present=F("messages_present") + report.present,
                    messages_skipped=F("messages_skipped") + report.skipped,
                )
                folder.last_uid = max(uids)
                MailboxFolder.objects.filter(pk=folder.pk).update(last_uid=folder.last_uid)
            return report
        except IntegrityError:
            # Another mailbox stored one of these messages at the same moment: once more, and
            # the second pass finds it present.
            if attempt == 2:
                raise
    return report


def _store_batch(connection, folder, uids, headers, matched, bodies, too_big) -> SyncReport:
    from contacts.models import Activity, Attachment, Employment

    report = SyncReport(seen=len(headers))
    keys = {uid: headers[uid].key for uid in headers}
    present = set(SyncedEmail.objects.filter(message_key__in=set(keys.values())).values_list("message_key", flat=True))
    todo, taken = [], set()
    for uid in uids:
        if uid not in headers:
            continue  # expunged between SEARCH and FETCH: not seen
        if not matched[uid]:
            report.skipped += 1
        elif keys[uid] in present or keys[uid] in taken:
            report.present += 1
        else:
            taken.add(keys[uid])
            todo.append(uid)
    if not todo:
        return report
    parsed = {}
    for uid in todo:
        raw = bodies.get(uid)
        parsed[uid] = parsing.parse(raw, headers[uid]) if raw is not None else None
    person_ids = {pk for uid in todo for pk in matched[uid]}
    primary = {}
    for person_id, organization_id in (Employment.objects.filter(person_id__in=person_ids)
                                       .order_by("person_id", "-is_primary", "pk").values_list("person_id", "organization_id")):
        primary.setdefault(person_id, organization_id)
    own = _own_addresses(connection)
    now = timezone.now()
    emails = []
    for uid in todo:
        h = headers[uid]
        outgoing = folder.role == MailboxFolder.Role.SENT or h.from_address in own
        emails.append(SyncedEmail(
            message_key=keys[uid], message_id=h.message_id[:255], in_reply_to=h.in_reply_to,
            references=" ".join(h.references)[:10_000], thread_key=h.thread_key or keys[uid],
            connection=connection, owner_id=connection.user_id,
            direction=SyncedEmail.Direction.OUTGOING if outgoing else SyncedEmail.Direction.INCOMING,
            folder=folder.name[:255], uidvalidity=folder.uidvalidity, uid=uid, from_address=h.from_address[:320],
            to_addresses=", ".join(h.recipients)[:10_000], subject=h.subject[:200], sent_at=h.sent_at or now,
        ))
    SyncedEmail.objects.bulk_create(emails)
    activities, attachments = [], []
    for uid, email in zip(todo, emails, strict=True):
        h, message = headers[uid], parsed[uid]
        body = message.body if message else ""
        lines = [f"{h.from_address} → {', '.join(h.recipients)}"]
        if uid in too_big:
            lines.append("[…]")
        text = "\n\n".join([*lines, body]) if body else lines[0]
        organizations = set()
        for person_id in matched[uid]:
            organization_id = primary.get(person_id)
            if organization_id in organizations:
                organization_id = None  # once per organization timeline
            organizations.add(organization_id)
            activities.append(Activity(
                kind=Activity.Kind.EMAIL, subject=h.subject or "–", body=text, occurred_at=email.sent_at,
                created_by_id=connection.user_id, person_id=person_id, organization_id=organization_id,
                synced_email=email,
            ))
        first = matched[uid][0]
        for item in message.attachments if message else []:
            attachments.append(Attachment(
                file=ContentFile(item.content, name=item.name), name=item.name, size=len(item.content),
                content_type=item.content_type, uploaded_by_id=connection.user_id, uploaded_at=email.sent_at,
                person_id=first, organization_id=primary.get(first), synced_email=email,
            ))
    bulk_create_with_history(activities, Activity, default_user=connection.user)
    if attachments:
        Attachment.objects.bulk_create(attachments)
    report.stored = len(todo)
    return report


def synced_email_set_private(*, email: SyncedEmail, private: bool) -> None:
    """Hide a synced email (its activities and attachments) from everybody but its mailbox's
    user, or show it again."""
    from contacts.models import Activity, Attachment

    with transaction.atomic():
        email.is_private = private
        email.save(update_fields=["is_private"])
        owner = email.owner_id if private else None
        Activity.objects.filter(synced_email=email).update(private_to_id=owner)
        Attachment.objects.filter(synced_email=email).update(private_to_id=owner)


def mailboxes_due() -> list[int]:
    return list(MailboxConnection.objects.filter(is_paused=False).values_list("pk", flat=True))
