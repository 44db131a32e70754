"""The outbox: every email the CRM sends is stored first and delivered by a Celery task.

    outbox.email_queue(to=..., subject=..., body=..., regarding=ticket, attachments=[...])

`email_queue` writes an OutgoingEmail row in the caller's transaction, so the email exists exactly
when the change it reports exists, and enqueues `crm.tasks.email_deliver` on commit. Delivery
claims the row (queued -> sending, one UPDATE, so two workers never both send it), sends it through
Django's email backend (SMTP in production) and records the outcome: sent (with the server's
reply), queued again with exponential backoff after a temporary failure, or failed after
CRM_EMAIL_MAX_ATTEMPTS tries or a permanent refusal. The beat job `emails_resume` picks up
messages whose task was lost (broker down at commit time, worker killed while sending).

Addresses of domains reserved for examples and tests (RFC 2606, RFC 6761) are never delivered
unless CRM_EMAIL_DELIVER_RESERVED is set: such a message is stored as "not sent: reserved
address", so demo data can never mail real people and the user still sees what would have gone out.

Delivery is at most once under normal operation. A worker killed after the server accepted a
message but before the row was marked sent leaves it "sending"; the beat job sends it again after
CRM_EMAIL_LOST_AFTER_SECONDS: a rare duplicate is preferred to a lost message.

A user's own email (`email_queue(sender=user)`, written on a person's page) goes out through that
user's own SMTP account when an app has registered one for them (`register_sender_account`; the
mailbox connection does, contacts.mailboxes.sending), else through the CRM's server. The row
records the account used (`sent_via`), and whether the copy was filed in the user's Sent folder
(`sent_copy`): the copy is filed after the row is marked sent, so a failure there never sends the
message a second time.
"""

import base64
import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.base64mime import body_encode as encode_base64
from email.utils import formatdate, make_msgid, parseaddr

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from crm.models import OutgoingEmail, OutgoingEmailAttachment

logger = logging.getLogger(__name__)
State = OutgoingEmail.State

# RFC 2606 (example.com/.net/.org and the .test, .example, .invalid, .localhost top-level domains)
# and RFC 6761 (the same, plus "localhost" itself); subdomains are reserved too.
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("test", "example", "invalid", "localhost")
BACKOFF_CAP_SECONDS = 3600


def is_reserved_address(address: str) -> bool:
    """True for an address whose domain is reserved for documentation and tests."""
    domain = parseaddr(address)[1].rpartition("@")[2].strip().rstrip(".").lower()
    if not domain:
        return False
    if domain in RESERVED_TLDS or domain.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return True
    return any(domain == reserved or domain.endswith("." + reserved) for reserved in RESERVED_DOMAINS)


def _suppressed(address: str) -> bool:
    return is_reserved_address(address) and not settings.CRM_EMAIL_DELIVER_RESERVED


def _one_line(text: str) -> str:
    """Header text without line breaks (Django refuses them in headers, and rightly so)."""
    return " ".join(str(text).split())


# --- storing ---------------------------------------------------------------------------------


def email_queue(
    *,
    to: str,
    subject: str,
    body: str,
    html: str = "",
    from_email: str | None = None,
    reply_to: list[str] | tuple = (),
    headers: dict | None = None,
    attachments=(),
    regarding=None,
    message_id: str = "",
    sender=None,
) -> OutgoingEmail:
    """Stores one email to one recipient, in the caller's transaction, and has it delivered once
    that transaction commits. `attachments` are (name, content, mimetype) triples, content being
    bytes or text, or a stored file (a FieldFile), which is referenced, not copied. `regarding` is
    the record the email is about: record pages show its state, and access to resend it follows
    access to that record. An address that cannot receive mail gives a failed row, never an error.
    `sender`: the user who wrote it, whose own SMTP account sends it when they have one."""
    address = parseaddr(to or "")[1].strip() or (to or "").strip()
    email = OutgoingEmail(
        from_email=(from_email or settings.DEFAULT_FROM_EMAIL)[:300],
        to=address[:320],
        reply_to=[a for a in reply_to if a],
        subject=_one_line(subject)[:500],
        body=body,
        html=html,
        headers={_one_line(k): _one_line(v) for k, v in (headers or {}).items() if k.lower() != "message-id"},
        message_id=(message_id or make_msgid(domain=DNS_NAME))[:250],
        sender=sender,
    )
    if regarding is not None:
        email.regarding_type = ContentType.objects.get_for_model(regarding)
        email.regarding_id = regarding.pk
    try:
        validate_email(address)
    except ValidationError:
        email.state = State.FAILED
        email.last_reply = _("Not a valid email address: “%(address)s”.") % {"address": address}
    else:
        if _suppressed(address):
            email.state = State.SUPPRESSED
    with transaction.atomic():
        email.save()
        OutgoingEmailAttachment.objects.bulk_create([_attachment(email, *item) for item in attachments])
    if email.state == State.QUEUED:
        pk = email.pk
        transaction.on_commit(lambda: enqueue(pk))
    return email


def _attachment(email: OutgoingEmail, name: str, content, mimetype: str | None) -> OutgoingEmailAttachment:
    row = OutgoingEmailAttachment(email=email, name=(name or "attachment")[:200], content_type=(mimetype or "")[:200])
    if isinstance(content, File):
        row.file.name = content.name
    else:
        row.content = content.encode() if isinstance(content, str) else bytes(content)
    return row


def enqueue(email_id: int) -> None:
    """Hands the delivery to a worker. When the broker is unreachable the row stays queued and
    `emails_resume` picks it up later: the caller (a web request, say) never fails for it."""
    from crm.tasks import email_deliver

    try:
        email_deliver.delay(email_id)
    except Exception:  # noqa: BLE001 - any broker error: the stored row is the guarantee
        logger.warning("outbox: could not enqueue delivery of email %s; the beat job will", email_id, exc_info=True)


# --- the users' own accounts ------------------------------------------------------------------


@dataclass(frozen=True)
class SenderAccount:
    """A user's own SMTP account: `label` is recorded on the row (never a password);
    `connection()` opens an email backend for it; `file_copy(raw)` files the sent message in the
    user's Sent folder and raises on failure (its message is recorded)."""

    label: str
    connection: Callable[[], object]
    file_copy: Callable[[bytes], None] | None = None


_sender_accounts: list[Callable[[int], SenderAccount | None]] = []


def register_sender_account(resolve: Callable[[int], SenderAccount | None]) -> None:
    """`resolve(user_id)` gives the user's own account, or None (then the CRM's server sends)."""
    if resolve not in _sender_accounts:
        _sender_accounts.append(resolve)


class AccountCheckFailed(Exception):
    """A user's SMTP account did not let the CRM in: `kind` is "login", "tls", "protocol" or
    "network" (then the socket's or TLS's own error is the __cause__); `detail` is the server's
    answer, never the password."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(kind)
        self.kind, self.detail = kind, detail[:500]


def _utf8_auth(base):
    """smtplib sends AUTH credentials as ASCII only; RFC 4616 (PLAIN) and the providers take
    UTF-8, and users' passwords have umlauts. CPython's SMTP.auth, encoding UTF-8."""

    class Utf8Auth(base):
        def auth(self, mechanism, authobject, *, initial_response_ok=True):
            mechanism = mechanism.upper()
            initial = authobject() if initial_response_ok else None
            if initial is not None:
                code, reply = self.docmd("AUTH", f"{mechanism} {encode_base64(initial.encode(), eol='')}")
                self._auth_challenge_count = 1
            else:
                code, reply = self.docmd("AUTH", mechanism)
                self._auth_challenge_count = 0
            while code == 334 and self._auth_challenge_count <= 5:
                self._auth_challenge_count += 1
                answer = authobject(base64.decodebytes(reply))
                code, reply = self.docmd(encode_base64(answer.encode(), eol=""))
            if code in (235, 503):
                return code, reply
            raise smtplib.SMTPAuthenticationError(code, reply)

    return Utf8Auth


def account_backend(*, host: str, port: int, implicit_tls: bool, username: str, password: str,
                    ssl_context: ssl.SSLContext, timeout: int) -> "SMTPBackend":
    """The CRM's SMTP backend on a user's own account: always encrypted (STARTTLS, or TLS from the
    first byte), the certificate verified by `ssl_context`, UTF-8 passwords."""

    class AccountBackend(SMTPBackend):
        @cached_property
        def ssl_context(self):
            return ssl_context

        @property
        def connection_class(self):
            return _utf8_auth(super().connection_class)

    return AccountBackend(
        host=host, port=port, username=username, password=password, use_tls=not implicit_tls,
        use_ssl=implicit_tls, timeout=timeout, fail_silently=False,
    )


def account_check(backend: "SMTPBackend") -> None:
    """Opens the connection (encryption and login) and closes it; raises AccountCheckFailed."""
    try:
        backend.open()
    except smtplib.SMTPAuthenticationError as error:
        raise AccountCheckFailed("login", f"{error.smtp_code} {_text(error.smtp_error)}") from None
    except smtplib.SMTPNotSupportedError as error:
        raise AccountCheckFailed("tls", str(error)) from None
    except smtplib.SMTPResponseException as error:
        raise AccountCheckFailed("protocol", f"{error.smtp_code} {_text(error.smtp_error)}") from None
    except smtplib.SMTPException as error:
        raise AccountCheckFailed("protocol", str(error)) from None
    except (OSError, ssl.SSLError) as error:
        raise AccountCheckFailed("network", str(error)) from error
    finally:
        with contextlib.suppress(Exception):  # closing a connection that failed to open
            backend.close()


def sender_account(user_id: int | None) -> SenderAccount | None:
    if user_id is None:
        return None
    for resolve in _sender_accounts:
        if account := resolve(user_id):
            return account
    return None


# --- delivering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    state: str | None  # None: nothing to do (already claimed, sent, or gone)
    retry_in: int | None = None  # seconds until the next try, for the task's retry


def build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body,
        from_email=email.from_email,
        to=[email.to],
        reply_to=email.reply_to or None,
        # The Date is fixed here so that the copy filed in the Sent folder is the message sent.
        headers={"Date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME), **email.headers, "Message-ID": email.message_id},
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    for attachment in email.attachments.all():
        message.attach(attachment.name, attachment.read(), attachment.content_type or None)
    return message


def backoff_seconds(attempts: int) -> int:
    """After the n-th failed try: base, 2 × base, 4 × base ... at most an hour."""
    return min(BACKOFF_CAP_SECONDS, settings.CRM_EMAIL_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def describe_error(error: Exception) -> str:
    """The server's reply when there is one ("550 5.1.1 No such user"), else the error."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"[:2000]


def is_permanent(error: Exception) -> bool:
    """Refusals of this recipient or this message (5xx) will not change by trying again; anything
    else (server down, timeouts, 4xx, a wrong password, which an admin fixes) is tried again."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def email_deliver(*, email_id: int, now: datetime | None = None) -> Attempt:
    """One delivery attempt of a queued email; safe to run twice or concurrently."""
    now = now or timezone.now()
    claimed = OutgoingEmail.objects.filter(pk=email_id, state=State.QUEUED).update(
        state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return Attempt(None)
    email = OutgoingEmail.objects.get(pk=email_id)
    mine = OutgoingEmail.objects.filter(pk=email_id, state=State.SENDING)
    if _suppressed(email.to):
        mine.update(state=State.SUPPRESSED, claimed_at=None)
        return Attempt(State.SUPPRESSED)
    try:
        message = build_message(email)
    except Exception as error:  # noqa: BLE001 - a message that cannot be built fails visibly
        mine.update(state=State.FAILED, claimed_at=None, last_reply=describe_error(error))
        return Attempt(State.FAILED)
    try:
        account = sender_account(email.sender_id)
        connection = account.connection() if account else get_connection(fail_silently=False)
        if connection.send_messages([message]) != 1:
            raise smtplib.SMTPException(_("The email backend accepted no message."))
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
        reply = describe_error(error)
        if is_permanent(error) or email.attempts >= settings.CRM_EMAIL_MAX_ATTEMPTS:
            mine.update(state=State.FAILED, claimed_at=None, last_reply=reply)
            logger.warning("outbox: email %s failed after %s tries: %s", email_id, email.attempts, reply)
            return Attempt(State.FAILED)
        delay = backoff_seconds(email.attempts)
        mine.update(state=State.QUEUED, claimed_at=None, last_reply=reply, next_attempt_at=now + timedelta(seconds=delay))
        logger.info("outbox: email %s try %s failed (%s), again in %s s", email_id, email.attempts, reply, delay)
        return Attempt(State.QUEUED, retry_in=delay)
    copy = (OutgoingEmail.SentCopy.PENDING if account and account.file_copy else OutgoingEmail.SentCopy.NONE)
    mine.update(
        state=State.SENT, claimed_at=None, sent_at=timezone.now(), last_reply=getattr(connection, "last_reply", "")[:2000],
        sent_via=account.label[:300] if account else "", sent_copy=copy,
    )
    if copy == OutgoingEmail.SentCopy.PENDING:
        _file_copy(email_id, account, message)
    return Attempt(State.SENT)


def _file_copy(email_id: int, account: SenderAccount, message: EmailMultiAlternatives) -> None:
    """After the send, never before: whatever happens here, the message is not sent again."""
    pending = OutgoingEmail.objects.filter(pk=email_id, sent_copy=OutgoingEmail.SentCopy.PENDING)
    try:
        account.file_copy(message.message().as_bytes(linesep="\r\n"))
    except Exception as error:  # noqa: BLE001 - the row says it; the mail itself went out
        detail = getattr(error, "detail", "") or describe_error(error)
        logger.warning("outbox: email %s sent, but not filed in the Sent folder: %s", email_id, detail)
        pending.update(sent_copy=OutgoingEmail.SentCopy.FAILED, sent_copy_detail=str(detail)[:500])
    else:
        pending.update(sent_copy=OutgoingEmail.SentCopy.FILED, sent_copy_detail="")


def emails_resume(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The beat job: takes back the claims of killed workers, queues again what waited longer than
    CRM_EMAIL_LOST_AFTER_SECONDS past its time (its task was lost), and forgets old sent mail."""
    now = now or timezone.now()
    lost = now - timedelta(seconds=settings.CRM_EMAIL_LOST_AFTER_SECONDS)
    stale = OutgoingEmail.objects.filter(state=State.SENDING, claimed_at__lt=lost)
    stale.filter(attempts__gte=settings.CRM_EMAIL_MAX_ATTEMPTS).update(
        state=State.FAILED, claimed_at=None, last_reply=_("Delivery was interrupted (the worker stopped).")
    )
    stale_ids = list(stale.values_list("pk", flat=True)[:limit])
    OutgoingEmail.objects.filter(pk__in=stale_ids, state=State.SENDING).update(
        state=State.QUEUED, claimed_at=None, next_attempt_at=now,
        last_reply=_("Delivery was interrupted (the worker stopped); trying again."),
    )
    # A worker stopped between the send and filing the copy: the mail went out; the page says the
    # copy did not (filing it now could file it twice, were the first attempt only slow).
    OutgoingEmail.objects.filter(state=State.SENT, sent_copy=OutgoingEmail.SentCopy.PENDING, sent_at__lt=lost).update(
        sent_copy=OutgoingEmail.SentCopy.FAILED, sent_copy_detail=_("Filing the copy was interrupted (the worker stopped)."),
    )
    due = list(OutgoingEmail.objects.due(before=lost).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for email_id in dict.fromkeys([*stale_ids, *due]):
        enqueue(email_id)
    keep = now - timedelta(days=settings.CRM_EMAIL_KEEP_DAYS)
    OutgoingEmail.objects.filter(state__in=[State.SENT, State.SUPPRESSED], created_at__lt=keep).delete()
    return len(stale_ids) + len(due)


def email_resend(*, email: OutgoingEmail) -> bool:
    """Queues a failed (or suppressed) email again, with a fresh count of tries. False when it is
    not failed, or its address is still a reserved one that the CRM does not deliver to."""
    if _suppressed(email.to) or email.state not in (State.FAILED, State.SUPPRESSED):
        return False
    queued = OutgoingEmail.objects.filter(pk=email.pk, state__in=[State.FAILED, State.SUPPRESSED]).update(
        state=State.QUEUED, attempts=0, next_attempt_at=timezone.now(), claimed_at=None
    )
    if queued:
        pk = email.pk
        transaction.on_commit(lambda: enqueue(pk))
    return bool(queued)


# --- reading ---------------------------------------------------------------------------------


def emails_about(record, *, limit: int = 250) -> list[OutgoingEmail]:
    """The emails about one record, newest first (the record page checked access to the record)."""
    return list(OutgoingEmail.objects.about(record).defer("body", "html").order_by("-created_at", "-pk")[:limit])


def emails_to(addresses: list[str]):
    condition = Q(pk__in=[])
    for address in addresses:
        condition |= Q(to__iexact=address)
    return OutgoingEmail.objects.filter(condition)


# --- data protection (crm.privacy) -----------------------------------------------------------


def export_person(person) -> list[dict]:
    from crm.privacy import emails, plain

    return [
        {"to": e.to, "subject": e.subject, "text": e.body, "html": e.html, "state": e.state,
         "server_reply": e.last_reply, "created_at": plain(e.created_at), "sent_at": plain(e.sent_at),
         "attachments": [a.name for a in e.attachments.all()]}
        for e in emails_to(emails(person)).prefetch_related("attachments").order_by("created_at", "pk")
    ]


def erase_person(person) -> int:
    """Deletes the email sent to the person; email to others that names them (a host's booking
    confirmation, say) keeps its delivery record with the name scrubbed and its files removed."""
    from crm.privacy import emails, identifiers, scrub

    touched = emails_to(emails(person)).delete()[1].get(OutgoingEmail._meta.label, 0)
    needles = identifiers(person)
    condition = Q(pk__in=[])
    for needle in needles:
        condition |= Q(subject__icontains=needle) | Q(body__icontains=needle) | Q(html__icontains=needle)
    for email in OutgoingEmail.objects.filter(condition):
        email.subject, email.body, email.html = (scrub(v, needles) for v in (email.subject, email.body, email.html))
        email.save(update_fields=["subject", "body", "html"])
        email.attachments.all().delete()
        touched += 1
    return touched


# --- the SMTP backend ------------------------------------------------------------------------


def tls_client_context(*, cafile: str = "", certfile: str = "", keyfile: str = "") -> ssl.SSLContext:
    """A TLS context that verifies the server's certificate and name: the system's CAs, or only
    those of `cafile` (a private CA, or a server's self-signed certificate); with a client
    certificate when `certfile` is given."""
    context = ssl.create_default_context(cafile=cafile or None)
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile or None)
    return context


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend (EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS/EMAIL_USE_SSL, EMAIL_TIMEOUT,
    the login) that also keeps the server's reply to the message ("250 2.0.0 Ok: queued as 4F1…"),
    which the outbox records. Campaign sends open their connections through it too
    (marketing.sending), so every SMTP connection of the CRM has the same settings.

    Its TLS context verifies the server against EMAIL_SSL_CAFILE when set (else the system's CAs);
    Django's own one, given a client certificate (EMAIL_SSL_CERTFILE/KEYFILE), trusts no CA at all."""

    last_reply = ""

    @cached_property
    def ssl_context(self):
        return tls_client_context(
            cafile=getattr(settings, "EMAIL_SSL_CAFILE", "") or "", certfile=self.ssl_certfile or "",
            keyfile=self.ssl_keyfile or "",
        )

    @property
    def connection_class(self):
        backend = self
        base = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP

        class RecordingSMTP(base):
            def data(self, msg):
                code, reply = super().data(msg)
                backend.last_reply = f"{code} {_text(reply)}"
                return code, reply

        return RecordingSMTP

    def send_messages(self, email_messages):
        self.last_reply = ""
        return super().send_messages(email_messages)
