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

With a non-SMTP email backend (console, locmem in tests) the message is handed to the
backend and then marked sent.
"""

import logging
import re
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from contacts.models import Employment
from marketing.models import Campaign, CampaignMember, Delivery, EmailAddressStatus
from marketing.render import Personalised, campaign_content, email_message, message_bytes, personalise

logger = logging.getLogger(__name__)

CLAIM_CHUNK = 200
MAX_ATTEMPTS = 5


class TransientSendError(Exception):
    """The server or the network failed for now: try again later."""


class HardBounce(Exception):
    """The server refused the recipient permanently (5xx)."""


class LostClaim(Exception):
    """Another sender owns the row now."""


def _setting(name: str, default):
    return getattr(settings, name, default)


def _is_smtp_backend() -> bool:
    return settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"


@dataclass
class Outgoing:
    """One message of a group: the delivery it belongs to and its content."""

    delivery_id: int
    personalised: Personalised
    data: bytes | None = None  # SMTP DATA, built once (render.message_bytes)

    def smtp_data(self) -> bytes:
        if self.data is None:
            self.data = email_message(self.personalised).message().as_bytes(linesep="\r\n")
        data = _DOT_AT_LINE_START.sub(b"..", self.data)
        return data if data.endswith(b"\r\n") else data + b"\r\n"


_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


class SmtpSender:
    """A group of SMTP connections sending one message each, side by side.

    Each step (MAIL FROM, RCPT TO, DATA, the body) goes out on every connection before the replies
    are read, so a group of N messages waits for 4 round trips instead of 4 × N. The `sent` marks
    of the whole group are committed in one UPDATE after every body is through and before any
    final "." is written: a worker killed before that commit leaves only unfinished messages,
    which the server discards."""

    def __init__(self, connections: int):
        self.slots: list[smtplib.SMTP | None] = [None] * max(1, connections)

    @property
    def group_size(self) -> int:
        return len(self.slots)

    def _connect(self) -> smtplib.SMTP:
        try:
            smtp = smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=_setting("EMAIL_TIMEOUT", None) or 30)
            # The final "." goes out as a write of its own: without this, Nagle's algorithm holds
            # it back until the server's delayed ACK (~40 ms a message).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if getattr(settings, "EMAIL_USE_TLS", False):
                smtp.starttls()
                smtp.ehlo()
            if getattr(settings, "EMAIL_HOST_USER", ""):
                smtp.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
        except (OSError, smtplib.SMTPException) as error:
            raise TransientSendError(f"connect: {error}") from error
        return smtp

    def _drop(self, index: int) -> None:
        """Close a connection at once (in the middle of DATA the server discards the message)."""
        smtp, self.slots[index] = self.slots[index], None
        if smtp is not None:
            smtp.close()

    def _reset(self, index: int) -> None:
        try:
            self.slots[index].rset()
        except (OSError, smtplib.SMTPException):
            self._drop(index)

    def close(self) -> None:
        for index, smtp in enumerate(self.slots):
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
                self.slots[index] = None

    def send_group(self, items: list[Outgoing], commit) -> dict[int, object]:
        """Send up to `group_size` messages; `commit(ids)` marks them sent and returns the ids this
        sender still owns. Returns per delivery "sent", HardBounce, LostClaim or TransientSendError."""
        outcome: dict[int, object] = {}
        active = []
        for index, item in enumerate(items[: self.group_size]):
            if self.slots[index] is None:
                try:
                    self.slots[index] = self._connect()
                except TransientSendError as error:
                    outcome[item.delivery_id] = error
                    continue
            active.append((index, item))

        def step(slots, command, ok_codes, what):
            written = []
            for index, item in slots:
                try:
                    command(self.slots[index], item)
                    written.append((index, item))
                except (OSError, smtplib.SMTPException) as error:
                    self._drop(index)
                    outcome[item.delivery_id] = TransientSendError(f"{what}: {error}")
            passed = []
            for index, item in written:
                try:
                    code, reply = self.slots[index].getreply()
                except (OSError, smtplib.SMTPException) as error:
                    self._drop(index)
                    outcome[item.delivery_id] = TransientSendError(f"{what}: {error}")
                    continue
                if code in ok_codes:
                    passed.append((index, item))
                    continue
                text = reply.decode(errors="replace")
                permanent = what == "RCPT" and 500 <= code < 600
                outcome[item.delivery_id] = HardBounce(f"{code} {text}") if permanent else TransientSendError(f"{what} {code} {text}")
                self._reset(index)
            return passed

        def mail_from(smtp, item):
            smtp.putcmd("mail", f"FROM:{smtplib.quoteaddr(item.personalised.from_email)}")

        def rcpt_to(smtp, item):
            smtp.putcmd("rcpt", f"TO:{smtplib.quoteaddr(item.personalised.to)}")

        active = step(active, mail_from, (250,), "MAIL FROM")
        active = step(active, rcpt_to, (250, 251), "RCPT")
        active = step(active, lambda smtp, item: smtp.putcmd("data"), (354,), "DATA")
        ready = []
        for index, item in active:
            try:
                self.slots[index].send(item.smtp_data())
                ready.append((index, item))
            except (OSError, smtplib.SMTPException) as error:
                self._drop(index)
                outcome[item.delivery_id] = TransientSendError(f"body: {error}")
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
                outcome[item.delivery_id] = TransientSendError(f"end of DATA: {error}")
        for index, item in finishing:
            try:
                code, reply = self.slots[index].getreply()
            except (OSError, smtplib.SMTPException) as error:
                self._drop(index)
                outcome[item.delivery_id] = TransientSendError(f"end of DATA: {error}")
                continue
            outcome[item.delivery_id] = "sent" if code == 250 else TransientSendError(f"end of DATA {code} {reply!r}")
        return outcome


class BackendSender:
    """Django's configured backend (console, locmem): hand over one by one, then mark sent."""

    group_size = 1

    def __init__(self):
        self.connection = get_connection()

    def send_group(self, items: list[Outgoing], commit) -> dict[int, object]:
        outcome: dict[int, object] = {}
        for item in items:
            message = email_message(item.personalised)
            message.connection = self.connection
            try:
                message.send()
            except (OSError, smtplib.SMTPException) as error:
                outcome[item.delivery_id] = TransientSendError(str(error))
                continue
            outcome[item.delivery_id] = "sent" if item.delivery_id in commit([item.delivery_id]) else LostClaim()
        return outcome

    def close(self) -> None:
        self.connection.close()


def open_sender():
    if _is_smtp_backend():
        return SmtpSender(int(_setting("MARKETING_SMTP_CONNECTIONS", 10)))
    return BackendSender()


def claim(*, campaign_id: int, batch: int, token: str, limit: int = CLAIM_CHUNK) -> list[int]:
    """Claim up to `limit` pending rows of a batch; returns the ids this sender now owns."""
    candidates = list(
        Delivery.objects.filter(campaign_id=campaign_id, batch=batch, status=Delivery.Status.PENDING)
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


def _release(ids, token: str, error: str) -> None:
    """Give claimed rows back for a later attempt, or fail them after MAX_ATTEMPTS."""
    rows = Delivery.objects.filter(pk__in=ids, claim_token=token, status=Delivery.Status.CLAIMED)
    for delivery in rows.only("pk", "attempts"):
        attempts = delivery.attempts + 1
        Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=Delivery.Status.FAILED if attempts >= MAX_ATTEMPTS else Delivery.Status.PENDING,
            claim_token="",
            attempts=attempts,
            error=error[:500],
        )


def _bounce(delivery: Delivery, token: str, reason: str) -> None:
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=Delivery.Status.BOUNCED, error=reason[:500], claim_token=""
        )
        EmailAddressStatus.objects.update_or_create(
            email=delivery.email.lower(),
            defaults={"status": EmailAddressStatus.Status.HARD_BOUNCE, "reason": reason[:500], "campaign_id": delivery.campaign_id},
        )


def _fast_commits() -> None:
    """The sent-mark must survive a killed worker, not a crashed database: no WAL flush wait."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def send_batch(*, campaign_id: int, batch: int) -> int:
    """Send the pending messages of one batch; returns how many this call sent.

    Raises TransientSendError when the server is unreachable (the task retries with backoff).
    """
    campaign = Campaign.objects.get(pk=campaign_id)
    content = campaign_content(campaign)
    rate = float(_setting("MARKETING_SEND_RATE", 0) or 0)
    interval = 1.0 / rate if rate > 0 else 0.0
    token = uuid.uuid4().hex
    sender = open_sender()
    sent = 0
    next_slot = time.monotonic()
    _fast_commits()
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    try:
        while ids := claim(campaign_id=campaign_id, batch=batch, token=token):
            deliveries = list(Delivery.objects.filter(pk__in=ids).select_related("person").order_by("pk"))
            organizations = _organization_names([d.person_id for d in deliveries])
            sent_people = []
            size = sender.group_size
            for start in range(0, len(deliveries), size):
                group = deliveries[start:start + size]
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
                    data = message_bytes(personalised, message_domain=domain) if size > 1 else None
                    items.append(Outgoing(delivery.pk, personalised, data))
                outcome = sender.send_group(items, lambda group_ids: _mark_sent(group_ids, token))
                failed = []
                for delivery in group:
                    result = outcome.get(delivery.pk)
                    if result == "sent":
                        sent += 1
                        sent_people.append(delivery.person_id)
                    elif isinstance(result, HardBounce):
                        _bounce(delivery, token, str(result))
                    elif isinstance(result, TransientSendError):
                        failed.append((delivery.pk, result))
                if failed:
                    # The server may have refused a message after we marked it sent: claimed again,
                    # then given back with the rest of the chunk for a later attempt.
                    failed_ids = [pk for pk, _error in failed]
                    Delivery.objects.filter(pk__in=failed_ids, claim_token=token, status=Delivery.Status.SENT).update(
                        status=Delivery.Status.CLAIMED, sent_at=None
                    )
                    later = [d.pk for d in deliveries[start + size:]]
                    _mark_members_sent(campaign_id, sent_people)
                    _release(failed_ids + later, token, str(failed[0][1]))
                    raise failed[0][1]
            _mark_members_sent(campaign_id, sent_people)
    finally:
        sender.close()
    campaign_finish_if_done(campaign_id=campaign_id)
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
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING, recipients_ready_at__isnull=False).update(
            status=Campaign.Status.SENT, send_finished_at=timezone.now()
        )
    )


def progress(campaign_id: int) -> dict:
    counts = Delivery.objects.filter(campaign_id=campaign_id).aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=Delivery.Status.PENDING)),
        claimed=Count("pk", filter=Q(status=Delivery.Status.CLAIMED)),
        sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        bounced=Count("pk", filter=Q(status=Delivery.Status.BOUNCED)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
    )
    done = counts["sent"] + counts["bounced"] + counts["failed"]
    counts["done"] = done
    counts["percent"] = round(100 * done / counts["total"]) if counts["total"] else 0
    return counts


def stalled_batches(*, stale_seconds: int) -> list[tuple[int, int]]:
    """Put the rows of dead senders back to pending; (campaign, batch) pairs that still have work."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    sending = Campaign.objects.filter(status=Campaign.Status.SENDING).values_list("pk", flat=True)
    Delivery.objects.filter(campaign_id__in=sending, status=Delivery.Status.CLAIMED, claimed_at__lt=cutoff).update(
        status=Delivery.Status.PENDING, claim_token=""
    )
    return list(
        Delivery.objects.filter(campaign_id__in=sending, status=Delivery.Status.PENDING)
        .values_list("campaign_id", "batch")
        .distinct()
        .order_by("campaign_id", "batch")
    )
