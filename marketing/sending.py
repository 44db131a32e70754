"""Sending a campaign: batches of deliveries claimed atomically, one SMTP message each.

Exactly once per recipient, even when a worker is killed:
- every recipient has one Delivery row (unique per campaign and person), made before sending;
- a sender claims pending rows with its own claim token (an UPDATE ... WHERE status='pending',
  so two senders never own one row);
- over SMTP the sender transmits the message body, then commits `sent` (only if it still owns
  the row), and only then writes the final "." that makes the server accept the message. A
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
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from contacts.models import Employment
from marketing.models import Campaign, CampaignMember, Delivery, EmailAddressStatus
from marketing.render import build_message, campaign_content

logger = logging.getLogger(__name__)

CLAIM_CHUNK = 100
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


class SmtpSender:
    """One SMTP connection, reused for a whole chunk; commits `sent` just before the final dot."""

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None

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

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def abort(self) -> None:
        """Drop the connection in the middle of DATA: the server discards the unfinished message."""
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def send(self, message, commit) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        smtp = self.smtp
        data = message.message().as_bytes(linesep="\r\n")
        data = re.sub(rb"(?m)^\.", b"..", data)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            code, reply = smtp.mail(message.from_email)
            if code != 250:
                smtp.rset()
                raise TransientSendError(f"MAIL FROM {code} {reply!r}")
            code, reply = smtp.rcpt(message.to[0])
            if code not in (250, 251):
                smtp.rset()
                if 500 <= code < 600:
                    raise HardBounce(f"{code} {reply.decode(errors='replace')}")
                raise TransientSendError(f"RCPT {code} {reply!r}")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                smtp.rset()
                raise TransientSendError(f"DATA {code} {reply!r}")
            smtp.send(data)
            if not commit():
                self.abort()
                raise LostClaim
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self.abort()
            raise TransientSendError(str(error)) from error
        if code != 250:
            raise TransientSendError(f"end of DATA {code} {reply!r}")


class BackendSender:
    """Django's configured backend (console, locmem): hand over, then mark sent."""

    def __init__(self):
        self.connection = get_connection()

    def send(self, message, commit) -> None:
        message.connection = self.connection
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as error:
            raise TransientSendError(str(error)) from error
        if not commit():
            raise LostClaim

    def close(self) -> None:
        self.connection.close()


def open_sender():
    return SmtpSender() if _is_smtp_backend() else BackendSender()


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


def _mark_sent(delivery_id: int, token: str) -> bool:
    return (
        Delivery.objects.filter(pk=delivery_id, claim_token=token, status=Delivery.Status.CLAIMED).update(
            status=Delivery.Status.SENT, sent_at=timezone.now()
        )
        == 1
    )


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
    try:
        while ids := claim(campaign_id=campaign_id, batch=batch, token=token):
            deliveries = list(Delivery.objects.filter(pk__in=ids).select_related("person").order_by("pk"))
            organizations = _organization_names([d.person_id for d in deliveries])
            sent_people = []
            for position, delivery in enumerate(deliveries):
                if interval:
                    pause = next_slot - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    next_slot = max(next_slot, time.monotonic() - 1.0) + interval
                message = build_message(
                    content, person=delivery.person, organization=organizations.get(delivery.person_id, ""),
                    to=delivery.email, campaign_id=campaign_id, delivery_id=delivery.pk,
                )
                try:
                    sender.send(message, lambda d=delivery: _mark_sent(d.pk, token))
                except HardBounce as bounce:
                    _bounce(delivery, token, str(bounce))
                    continue
                except LostClaim:
                    continue
                except TransientSendError as error:
                    # The server may have refused the message after we marked it sent.
                    Delivery.objects.filter(pk=delivery.pk, claim_token=token, status=Delivery.Status.SENT).update(
                        status=Delivery.Status.CLAIMED, sent_at=None
                    )
                    _release([d.pk for d in deliveries[position:]], token, str(error))
                    raise
                sent += 1
                sent_people.append(delivery.person_id)
            CampaignMember.objects.filter(
                campaign_id=campaign_id, person_id__in=sent_people, status=CampaignMember.Status.TARGETED
            ).update(status=CampaignMember.Status.SENT)
    finally:
        sender.close()
    campaign_finish_if_done(campaign_id=campaign_id)
    return sent


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    open_rows = Delivery.objects.filter(
        campaign_id=campaign_id, status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED]
    ).exists()
    if open_rows:
        return False
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
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
