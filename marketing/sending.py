"""Sending a campaign: batches of deliveries claimed atomically, one SMTP message each.

Exactly once per recipient, even when a worker is killed:
- every recipient has one Delivery row (unique per campaign and person), made before sending;
- a sender claims pending rows with its own claim token (an UPDATE ... WHERE status='pending',
  so two senders never own one row);
- over SMTP the sender transmits the message bodies of a group (one message on each of
  MARKETING_SMTP_CONNECTIONS connections), then commits `sent` for the group in one UPDATE
  (only the rows it still owns), and only then writes the final "." that makes the server
  accept each message. A
  worker killed before that commit leaves a claimed row whose message the server discarded
  (the connection dropped mid-DATA); `sends_resume` puts such rows back to pending after
  MARKETING_CLAIM_STALE_SECONDS. A sender that lost its row (reset as stale) drops the
  connection instead of finishing the message.

Every send ends: each recipient's message is sent, bounced (the server refused the address),
or failed with the reason (the server's reply, or why it could not be sent). A failure of one
message is that message's alone; the others of the batch go on. A temporary one (a 4xx reply,
a dropped connection, a worker that died while holding the row) counts an attempt and the row
waits with backoff (crm.outbox.backoff_seconds); after CRM_EMAIL_MAX_ATTEMPTS the row fails.
A server that cannot be reached at all (down, its certificate not trusted, login refused)
counts one attempt for every open row of the batch, so an outage of hours delays the send and
a lasting misconfiguration ends it with the reason on every row.

Connections are opened by the configured SMTP backend (crm.outbox.SMTPBackend): the same TLS
context, STARTTLS or implicit TLS, trusted CAs, client certificate, timeout and login as every
other email of the CRM. Addresses go on the envelope with the domain in IDNA (punycode); a
non-ASCII local part needs a server that offers SMTPUTF8.

With a non-SMTP email backend (console, locmem in tests) the message is handed to the
backend and then marked sent.
"""

import contextlib
import logging
import re
import smtplib
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.encoding import punycode
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from contacts.models import Employment
from crm.outbox import backoff_seconds, describe_error, is_permanent
from marketing.models import Campaign, CampaignMember, Delivery, EmailAddressStatus
from marketing.render import Personalised, campaign_content, email_message, message_bytes, personalise

logger = logging.getLogger(__name__)

CLAIM_CHUNK = 200


class TransientSendError(Exception):
    """The server or the network failed for now: try again later (`retry_in` seconds, when known)."""

    def __init__(self, message: str = "", *, retry_in: int | None = None):
        super().__init__(message)
        self.retry_in = retry_in


class ConnectFailed(TransientSendError):
    """No connection to the server could be opened (down, TLS refused, login refused)."""


class HardBounce(Exception):
    """The server refused the recipient permanently (5xx)."""


class Rejected(Exception):
    """This one message cannot be sent, now or later (its address cannot be written on the
    envelope, the server lacks SMTPUTF8 for it, or a 5xx reply to it)."""


class LostClaim(Exception):
    """Another sender owns the row now."""


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return settings.CRM_EMAIL_MAX_ATTEMPTS


def _is_smtp_backend() -> bool:
    """True for Django's SMTP backend and its subclasses (crm.outbox.SMTPBackend, the default)."""
    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, DjangoSMTPBackend)


def envelope_address(value: str) -> tuple[str, bool]:
    """An address as MAIL FROM and RCPT TO carry it, and whether it needs SMTPUTF8: the domain in
    IDNA (punycode, as Django's backend writes it), the local part as it is. Raises Rejected when
    the address cannot be written on an envelope."""
    address = (parseaddr(value)[1] or value).strip()
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(c in address for c in "<>\r\n"):
        raise Rejected(_("“%(address)s” is not an email address.") % {"address": value})
    if not domain.isascii():
        try:
            domain = punycode(domain)
        except UnicodeError as error:
            raise Rejected(
                _("The domain of “%(address)s” cannot be written for the mail server (IDNA): %(error)s")
                % {"address": value, "error": error}
            ) from error
    return f"{local}@{domain}", not local.isascii()


@dataclass
class Outgoing:
    """One message of a group: the delivery it belongs to and its content."""

    delivery_id: int
    personalised: Personalised
    data: bytes | None = None  # SMTP DATA, built once (render.message_bytes)
    mail_from: str = field(default="", init=False)
    rcpt_to: str = field(default="", init=False)
    smtputf8: bool = field(default=False, init=False)
    wire: bytes = field(default=b"", init=False)

    def prepare(self) -> None:
        """Envelope and DATA, before any byte goes out: a message that cannot be built or
        addressed fails alone (Rejected), without touching a connection."""
        self.mail_from, sender_utf8 = envelope_address(self.personalised.from_email)
        self.rcpt_to, recipient_utf8 = envelope_address(self.personalised.to)
        self.smtputf8 = sender_utf8 or recipient_utf8
        self.wire = self.smtp_data()

    def smtp_data(self) -> bytes:
        if self.data is None:
            self.data = email_message(self.personalised).message().as_bytes(linesep="\r\n")
        data = _DOT_AT_LINE_START.sub(b"..", self.data)
        return data if data.endswith(b"\r\n") else data + b"\r\n"


_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


def _reply_text(code: int, reply: bytes) -> str:
    return f"{code} {reply.decode(errors='replace')}"


class SmtpSender:
    """A group of SMTP connections sending one message each, side by side.

    Each step (MAIL FROM, RCPT TO, DATA, the body) goes out on every connection before the replies
    are read, so a group of N messages waits for 4 round trips instead of 4 × N. The `sent` marks
    of the whole group are committed in one UPDATE after every body is through and before any
    final "." is written: a worker killed before that commit leaves only unfinished messages,
    which the server discards.

    A connection that cannot be opened while others are open is given up for this sender (a
    server that allows fewer connections than MARKETING_SMTP_CONNECTIONS); when none can be
    opened, `send_group` raises ConnectFailed."""

    def __init__(self, connections: int):
        self.slots: list[smtplib.SMTP | None] = [None] * max(1, connections)

    @property
    def group_size(self) -> int:
        return len(self.slots)

    def _connect(self) -> smtplib.SMTP:
        """A connection opened by the configured SMTP backend (its TLS context and certificate
        checks, STARTTLS or implicit TLS, EMAIL_TIMEOUT, login), then driven by this sender."""
        smtp = None
        try:
            backend = get_connection(fail_silently=False)  # ValueError: EMAIL_USE_TLS and EMAIL_USE_SSL both set
        except ValueError as error:
            raise ConnectFailed(_("The mail server settings are wrong: %(error)s") % {"error": error}) from error
        try:
            backend.open()
            smtp, backend.connection = backend.connection, None
            # The final "." goes out as a write of its own: without this, Nagle's algorithm holds
            # it back until the server's delayed ACK (~40 ms a message).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo_or_helo_if_needed()  # the server's extensions (SMTPUTF8) for this connection
        except (OSError, smtplib.SMTPException) as error:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                backend.close()
            if smtp is not None:
                smtp.close()
            raise ConnectFailed(
                _("Could not connect to the mail server %(host)s:%(port)s: %(error)s")
                % {"host": backend.host, "port": backend.port, "error": describe_error(error)}
            ) from error
        return smtp

    def _drop(self, index: int) -> None:
        """Close a connection at once (in the middle of DATA the server discards the message)."""
        smtp, self.slots[index] = self.slots[index], None
        if smtp is not None:
            smtp.close()

    def _reset(self, index: int) -> None:
        try:
            code, _reply = self.slots[index].rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self._drop(index)

    def close(self) -> None:
        for index, smtp in enumerate(self.slots):
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
                self.slots[index] = None

    def _open_slots(self, wanted: int) -> list[int]:
        """Indexes of up to `wanted` open connections, opening what is missing."""
        open_slots, failed = [], []
        for index in range(len(self.slots)):
            if len(open_slots) == wanted:
                break
            if self.slots[index] is None:
                try:
                    self.slots[index] = self._connect()
                except ConnectFailed:
                    if all(slot is None for slot in self.slots):
                        raise  # none is open: the others would fail too (each after the timeout)
                    failed.append(index)
                    continue
            open_slots.append(index)
        if failed:
            # The server takes fewer connections than configured: go on with those it took.
            keep = [s for i, s in enumerate(self.slots) if i not in failed]
            open_slots = [i for i, s in enumerate(keep) if s is not None][:wanted]
            self.slots = keep
        return open_slots

    def send_group(self, items: list[Outgoing], commit) -> dict[int, object]:
        """Send up to `group_size` messages; `commit(ids)` marks them sent and returns the ids this
        sender still owns. Returns per delivery "sent", HardBounce, Rejected, LostClaim or
        TransientSendError; a delivery missing from the result was not tried (no connection
        for it). Raises ConnectFailed when no connection can be opened."""
        outcome: dict[int, object] = {}
        ready = []
        for item in items[: self.group_size]:
            try:
                item.prepare()
            except Rejected as error:
                outcome[item.delivery_id] = error
            except Exception as error:  # noqa: BLE001 - a message that cannot be built fails alone
                outcome[item.delivery_id] = Rejected(_("The message could not be built: %(error)s") % {"error": describe_error(error)})
            else:
                ready.append(item)
        if not ready:
            return outcome
        # With fewer open connections than messages, the rest are not tried (no outcome).
        active = list(zip(self._open_slots(len(ready)), ready, strict=False))

        def step(slots, command, ok_codes, what):
            written = []
            for index, item in slots:
                try:
                    command(self.slots[index], item)
                    written.append((index, item))
                except Rejected as error:  # refused before anything was written
                    outcome[item.delivery_id] = error
                except (OSError, smtplib.SMTPException) as error:
                    self._drop(index)
                    outcome[item.delivery_id] = TransientSendError(f"{what}: {describe_error(error)}")
                except Exception as error:  # noqa: BLE001 - whatever one message raises is its own failure
                    self._drop(index)
                    outcome[item.delivery_id] = Rejected(f"{what}: {describe_error(error)}")
            passed = []
            for index, item in written:
                try:
                    code, reply = self.slots[index].getreply()
                except (OSError, smtplib.SMTPException) as error:
                    self._drop(index)
                    outcome[item.delivery_id] = TransientSendError(f"{what}: {describe_error(error)}")
                    continue
                if code in ok_codes:
                    passed.append((index, item))
                    continue
                text = f"{what}: {_reply_text(code, reply)}"
                if what == "RCPT" and 500 <= code < 600:
                    outcome[item.delivery_id] = HardBounce(_reply_text(code, reply))
                elif 500 <= code < 600:
                    outcome[item.delivery_id] = Rejected(text)
                else:
                    outcome[item.delivery_id] = TransientSendError(text)
                self._reset(index)
            return passed

        def mail_from(smtp, item):
            options = ""
            if item.smtputf8:
                if not smtp.has_extn("smtputf8"):
                    raise Rejected(
                        _("The mail server does not offer SMTPUTF8, which the address “%(address)s” needs "
                          "(letters beyond ASCII before the @).") % {"address": item.personalised.to}
                    )
                smtp.command_encoding = "utf-8"
                options = " SMTPUTF8" + (" BODY=8BITMIME" if smtp.has_extn("8bitmime") else "")
            smtp.putcmd("mail", f"FROM:<{item.mail_from}>{options}")

        def rcpt_to(smtp, item):
            smtp.putcmd("rcpt", f"TO:<{item.rcpt_to}>")

        active = step(active, mail_from, (250,), "MAIL FROM")
        active = step(active, rcpt_to, (250, 251), "RCPT")
        active = step(active, lambda smtp, item: smtp.putcmd("data"), (354,), "DATA")
        ready = []
        for index, item in active:
            try:
                self.slots[index].send(item.wire)
                ready.append((index, item))
            except (OSError, smtplib.SMTPException) as error:
                self._drop(index)
                outcome[item.delivery_id] = TransientSendError(f"body: {describe_error(error)}")
        owned = commit([item.delivery_id for _, item in ready]) if ready else set()
        finishing = []
        for index, item in ready:
            if item.delivery_id not in owned:
                self._drop(index)
                outcome[item.delivery_id] = LostClaim()
                continue
            try:
                self.slots[index].send(b".\r\n")
                finishing.append((index, item))
            except (OSError, smtplib.SMTPException) as error:
                self._drop(index)
                outcome[item.delivery_id] = TransientSendError(f"end of DATA: {describe_error(error)}")
        for index, item in finishing:
            try:
                code, reply = self.slots[index].getreply()
            except (OSError, smtplib.SMTPException) as error:
                self._drop(index)
                outcome[item.delivery_id] = TransientSendError(f"end of DATA: {describe_error(error)}")
                continue
            if code == 250:
                outcome[item.delivery_id] = "sent"
            elif 500 <= code < 600:
                outcome[item.delivery_id] = Rejected(f"end of DATA: {_reply_text(code, reply)}")
            else:
                outcome[item.delivery_id] = TransientSendError(f"end of DATA: {_reply_text(code, reply)}")
        return outcome


class BackendSender:
    """Django's configured backend (console, locmem): hand over one by one, then mark sent."""

    group_size = 1

    def __init__(self):
        self.connection = get_connection()

    def send_group(self, items: list[Outgoing], commit) -> dict[int, object]:
        outcome: dict[int, object] = {}
        for item in items:
            try:
                message = email_message(item.personalised)
                message.connection = self.connection
                message.send()
            except Exception as error:  # noqa: BLE001 - any error of one message is that message's failure
                reply = describe_error(error)
                outcome[item.delivery_id] = Rejected(reply) if is_permanent(error) else TransientSendError(reply)
                continue
            outcome[item.delivery_id] = "sent" if item.delivery_id in commit([item.delivery_id]) else LostClaim()
        return outcome

    def close(self) -> None:
        self.connection.close()


def open_sender():
    if _is_smtp_backend():
        return SmtpSender(int(_setting("MARKETING_SMTP_CONNECTIONS", 10)))
    return BackendSender()


def _due(now=None) -> Q:
    now = now or timezone.now()
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def claim(*, campaign_id: int, batch: int, token: str, limit: int = CLAIM_CHUNK) -> list[int]:
    """Claim up to `limit` pending rows of a batch that are due; returns the ids this sender now owns."""
    candidates = list(
        Delivery.objects.filter(_due(), campaign_id=campaign_id, batch=batch, status=Delivery.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return []
    Delivery.objects.filter(pk__in=candidates, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.CLAIMED, claim_token=token, claimed_at=timezone.now()
    )
    return list(Delivery.objects.filter(pk__in=candidates, claim_token=token, status=Delivery.Status.CLAIMED).values_list("pk", flat=True))


def _mark_sent(ids: list[int], token: str) -> set[int]:
    """Mark the rows this sender still owns as sent (one UPDATE); returns their ids."""
    marked = Delivery.objects.filter(pk__in=ids, claim_token=token, status=Delivery.Status.CLAIMED).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    if marked == len(ids):
        return set(ids)
    return set(Delivery.objects.filter(pk__in=ids, claim_token=token, status=Delivery.Status.SENT).values_list("pk", flat=True))


def _organization_names(person_ids) -> dict[int, str]:
    names = {}
    rows = (
        Employment.objects.filter(person_id__in=person_ids)
        .order_by("person_id", "-is_primary", "pk")
        .values_list("person_id", "organization__name")
    )
    for person_id, name in rows:
        names.setdefault(person_id, name)
    return names


def _mine(ids, token: str) -> QuerySet:
    """Rows of this sender not finished: claimed, or marked sent before the server refused them."""
    return Delivery.objects.filter(pk__in=ids, claim_token=token, status__in=[Delivery.Status.CLAIMED, Delivery.Status.SENT])


def count_attempt(rows: QuerySet, error: str, *, wait: bool = True) -> None:
    """One more attempt for each of `rows` (a queryset of open rows): at CRM_EMAIL_MAX_ATTEMPTS a
    row fails with `error`; the others are pending again, due after the backoff (at once with
    wait=False: the sender died, not the server)."""
    error = error[:500]
    rows.filter(attempts__gte=max_attempts() - 1).update(
        status=Delivery.Status.FAILED, claim_token="", attempts=F("attempts") + 1, error=error, sent_at=None,
        next_attempt_at=None,
    )
    by_attempts: dict[int, list[int]] = {}
    for pk, attempts in rows.values_list("pk", "attempts"):
        by_attempts.setdefault(attempts, []).append(pk)
    now = timezone.now()
    for attempts, pks in by_attempts.items():
        delay = backoff_seconds(attempts + 1) if wait else 0
        for start in range(0, len(pks), 1000):
            # attempts=…: a row another sender counted meanwhile is not counted twice.
            rows.filter(pk__in=pks[start:start + 1000], attempts=attempts).update(
                status=Delivery.Status.PENDING, claim_token="", attempts=attempts + 1, error=error, sent_at=None,
                next_attempt_at=now + timedelta(seconds=delay),
            )


def _fail(ids, token: str, reason: str) -> None:
    _mine(ids, token).update(status=Delivery.Status.FAILED, claim_token="", error=reason[:500], sent_at=None, next_attempt_at=None)


def _bounce(delivery: Delivery, token: str, reason: str) -> None:
    with transaction.atomic():
        _mine([delivery.pk], token).update(status=Delivery.Status.BOUNCED, error=reason[:500], claim_token="", sent_at=None)
        EmailAddressStatus.objects.update_or_create(
            email=delivery.email.lower(),
            defaults={"status": EmailAddressStatus.Status.HARD_BOUNCE, "reason": reason[:500], "campaign_id": delivery.campaign_id},
        )


def _claimed(campaign_id: int, batch: int, token: str) -> QuerySet:
    return Delivery.objects.filter(campaign_id=campaign_id, batch=batch, status=Delivery.Status.CLAIMED, claim_token=token)


def _open_rows(campaign_id: int, batch: int, token: str) -> QuerySet:
    """The rows of a batch still to send: pending, or claimed by this sender."""
    return Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.CLAIMED, claim_token=token),
        campaign_id=campaign_id, batch=batch,
    )


def _fast_commits() -> None:
    """The sent-mark must survive a killed worker, not a crashed database: no WAL flush wait."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def _retry_in(campaign_id: int, batch: int) -> int | None:
    """Seconds until the next pending row of the batch is due; None when none waits."""
    due = Delivery.objects.filter(campaign_id=campaign_id, batch=batch, status=Delivery.Status.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    if due is None:
        return None
    return max(1, int((due - timezone.now()).total_seconds()) + 1)


def send_batch(*, campaign_id: int, batch: int) -> int:
    """Send the due messages of one batch; returns how many this call sent.

    Raises TransientSendError when the server cannot be reached (an attempt counted on every open
    row of the batch) or when messages of the batch wait for a later attempt; its `retry_in` says
    when the next one is due (the task retries then)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    content = campaign_content(campaign)
    rate = float(_setting("MARKETING_SEND_RATE", 0) or 0)
    interval = 1.0 / rate if rate > 0 else 0.0
    token = uuid.uuid4().hex
    sender = open_sender()
    sent = 0
    deferred: dict[int, str] = {}  # still claimed until the end of this run, so not claimed again in it
    next_slot = time.monotonic()
    _fast_commits()
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    try:
        while ids := claim(campaign_id=campaign_id, batch=batch, token=token):
            deliveries = list(Delivery.objects.filter(pk__in=ids).select_related("person").order_by("pk"))
            organizations = _organization_names([d.person_id for d in deliveries])
            sent_people = []
            queue = deque(deliveries)
            while queue:
                group = [queue.popleft() for _ in range(min(sender.group_size, len(queue)))]
                if interval:
                    pause = next_slot - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    next_slot = max(next_slot, time.monotonic() - 1.0) + interval * len(group)
                items = []
                for delivery in group:
                    personalised = personalise(
                        content, person=delivery.person, organization=organizations.get(delivery.person_id, ""),
                        to=delivery.email, campaign_id=campaign_id, delivery_id=delivery.pk,
                    )
                    data = message_bytes(personalised, message_domain=domain) if sender.group_size > 1 else None
                    items.append(Outgoing(delivery.pk, personalised, data))
                try:
                    outcome = sender.send_group(items, lambda group_ids: _mark_sent(group_ids, token))
                except ConnectFailed as error:
                    _mark_members_sent(campaign_id, sent_people)
                    count_attempt(_open_rows(campaign_id, batch, token), str(error))
                    deferred.clear()
                    if campaign_finish_if_done(campaign_id=campaign_id):
                        return sent
                    error.retry_in = _retry_in(campaign_id, batch)
                    raise
                not_tried = []
                for delivery in group:
                    result = outcome.get(delivery.pk)
                    if result == "sent":
                        sent += 1
                        sent_people.append(delivery.person_id)
                    elif result is None:
                        not_tried.append(delivery)
                    elif isinstance(result, HardBounce):
                        _bounce(delivery, token, str(result))
                    elif isinstance(result, Rejected):
                        _fail([delivery.pk], token, str(result))
                    elif isinstance(result, TransientSendError):
                        # Claimed again if it was marked sent before the server refused it.
                        _mine([delivery.pk], token).update(status=Delivery.Status.CLAIMED, sent_at=None)
                        deferred[delivery.pk] = str(result)
                queue.extendleft(reversed(not_tried))
            _mark_members_sent(campaign_id, sent_people)
    except BaseException as error:
        # Nothing stays claimed by a sender that broke (a bug, a database error, a stopping
        # worker): its rows are open again, with the attempt counted.
        if not isinstance(error, ConnectFailed):
            with contextlib.suppress(Exception):
                count_attempt(_claimed(campaign_id, batch, token), _("The sender stopped: %(error)s") % {"error": describe_error(error)})
        raise
    finally:
        sender.close()
    for reason in set(deferred.values()):
        count_attempt(_claimed(campaign_id, batch, token).filter(pk__in=[pk for pk, r in deferred.items() if r == reason]), reason)
    if campaign_finish_if_done(campaign_id=campaign_id):
        return sent
    retry_in = _retry_in(campaign_id, batch)
    if deferred and retry_in is not None:
        raise TransientSendError(
            _("%(count)s messages wait for another attempt: %(reason)s") % {"count": len(deferred), "reason": next(iter(deferred.values()))},
            retry_in=retry_in,
        )
    return sent


def _mark_members_sent(campaign_id: int, person_ids: list[int]) -> None:
    CampaignMember.objects.filter(
        campaign_id=campaign_id, person_id__in=person_ids, status=CampaignMember.Status.TARGETED
    ).update(status=CampaignMember.Status.SENT)


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    open_rows = Delivery.objects.filter(
        campaign_id=campaign_id, status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED]
    ).exists()
    if open_rows:
        return False
    from crm import webhooks

    with transaction.atomic():
        finished = bool(
            Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING, recipients_ready_at__isnull=False).update(
                status=Campaign.Status.SENT, send_finished_at=timezone.now()
            )
        )
        if finished:  # one UPDATE decides, so only one sender reports it
            webhooks.emit("campaign.send_finished", Campaign.objects.get(pk=campaign_id))
    return finished


def progress(campaign_id: int) -> dict:
    deliveries = Delivery.objects.filter(campaign_id=campaign_id)
    counts = deliveries.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=Delivery.Status.PENDING)),
        claimed=Count("pk", filter=Q(status=Delivery.Status.CLAIMED)),
        sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        bounced=Count("pk", filter=Q(status=Delivery.Status.BOUNCED)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        waiting=Count("pk", filter=Q(status=Delivery.Status.PENDING, attempts__gt=0)),
    )
    done = counts["sent"] + counts["bounced"] + counts["failed"]
    counts["done"] = done
    counts["percent"] = round(100 * done / counts["total"]) if counts["total"] else 0
    counts["max_attempts"] = max_attempts()
    # Why messages wait or failed, in the server's words: the next retry, the commonest reasons.
    counts["next_attempt"] = (
        deliveries.filter(status=Delivery.Status.PENDING, attempts__gt=0).order_by("next_attempt_at", "pk")
        .values("next_attempt_at", "attempts", "error").first()
        if counts["waiting"] else None
    )
    counts["reasons"] = (
        list(deliveries.filter(status__in=[Delivery.Status.FAILED, Delivery.Status.BOUNCED]).exclude(error="")
             .values("error").annotate(count=Count("pk")).order_by("-count", "error")[:5])
        if counts["bounced"] or counts["failed"] else []
    )
    return counts


def stalled_batches(*, stale_seconds: int) -> list[tuple[int, int]]:
    """Give back the rows of dead senders, counting the attempt (a message that keeps stopping its
    sender fails after CRM_EMAIL_MAX_ATTEMPTS); finish sends with nothing left open; return the
    (campaign, batch) pairs that have rows due."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    sending = list(Campaign.objects.filter(status=Campaign.Status.SENDING).values_list("pk", flat=True))
    stale = Delivery.objects.filter(campaign_id__in=sending, status=Delivery.Status.CLAIMED, claimed_at__lt=cutoff)
    if stale.exists():
        count_attempt(stale, _("The sender stopped while this message was being sent."), wait=False)
    for campaign_id in sending:
        campaign_finish_if_done(campaign_id=campaign_id)
    return list(
        Delivery.objects.filter(_due(), campaign_id__in=sending, status=Delivery.Status.PENDING)
        .values_list("campaign_id", "batch")
        .distinct()
        .order_by("campaign_id", "batch")
    )
