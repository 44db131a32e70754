"""Email written on a person's page, sent as the user's own.

    person_email_send(person=greta, user=alice, subject=..., body=...)

stores the email on the person's timeline and in the outbox in one transaction (crm.outbox);
the outbox task sends it through the user's own SMTP account when their mailbox connection has
one (`sender_account`, registered with crm.outbox), else through the CRM's server, and then files
the copy in the user's Sent folder over IMAP (found as the sync finds it).

Once on the timeline: the email's SyncedEmail row is keyed by its Message-ID, as the sync keys
what it reads, so when the sync later meets the copy in the Sent folder it counts it as present
instead of storing it again.
"""

from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.mailboxes import imap
from contacts.mailboxes.imap import MailboxError
from contacts.mailboxes.models import MailboxConnection, SyncedEmail
from crm import outbox


class SmtpError(MailboxError):
    """A failure of the SMTP account (its codes are MailboxConnection.Error's, as for IMAP)."""


def backend_for(connection: MailboxConnection, password: str | None = None):
    """An email backend on the user's own server, certificates verified as for their IMAP server
    (the system's CAs and CRM_MAILBOX_SSL_CAFILE)."""
    return outbox.account_backend(
        host=connection.smtp_host, port=connection.smtp_port,
        implicit_tls=connection.smtp_security == MailboxConnection.SmtpSecurity.SSL,
        username=connection.smtp_username, password=connection.smtp_password() if password is None else password,
        ssl_context=imap.tls_context(), timeout=settings.CRM_MAILBOX_TIMEOUT,
    )


def smtp_check(*, host: str, port: int, security: str, username: str, password: str) -> None:
    """Connect, encrypt (verified certificate) and log in: what the mailbox form does before it
    saves an SMTP account. Raises SmtpError; the message never contains the password."""
    codes = MailboxConnection.Error
    probe = MailboxConnection(smtp_host=host, smtp_port=port, smtp_security=security, smtp_username=username)
    try:
        outbox.account_check(backend_for(probe, password=password))
    except outbox.AccountCheckFailed as failure:
        if failure.kind == "network":
            converted = imap._error(failure.__cause__)
            raise SmtpError(converted.code, converted.detail) from None
        code = {"login": codes.LOGIN, "tls": codes.TLS}.get(failure.kind, codes.PROTOCOL)
        raise SmtpError(code, failure.detail) from None


def file_sent_copy(connection: MailboxConnection, raw: bytes) -> None:
    """Files a sent message in the user's Sent folder (the \\Sent one, or the usual names)."""
    with imap.session(imap.Account(
        host=connection.host, port=connection.port, security=connection.security, username=connection.username,
        password=connection.password(),
    )) as session:
        sent = session.folders()["sent"]
        if not sent:
            raise MailboxError(MailboxConnection.Error.FOLDER, "No Sent folder found.")
        session.append(sent, raw)


def sender_account(user_id: int) -> outbox.SenderAccount | None:
    """The outbox's hook (crm.outbox.register_sender_account): the user's own SMTP account."""
    connection = MailboxConnection.objects.filter(user_id=user_id).select_related("user").first()
    if connection is None or not connection.has_smtp:
        return None
    return outbox.SenderAccount(
        label=f"{connection.smtp_username} @ {connection.smtp_host}:{connection.smtp_port}",
        connection=lambda: backend_for(connection),
        file_copy=lambda raw: file_sent_copy(connection, raw),
    )


def own_smtp_account(user) -> MailboxConnection | None:
    """The user's mailbox connection when it holds an SMTP account to send through, else None."""
    connection = MailboxConnection.objects.filter(user=user).first()
    return connection if connection is not None and connection.has_smtp else None


def person_email_send(*, person, user, subject: str, body: str) -> outbox.OutgoingEmail:
    """Puts the email on the person's (and their organization's) timeline and queues it in the
    outbox, in one transaction; the outbox sends it as the user's own (see the module)."""
    from contacts.models import Activity

    if not person.email:
        raise ValidationError(_("This person has no email address."))
    connection = MailboxConnection.objects.filter(user=user).first()
    own = connection if connection is not None and connection.has_smtp else None
    name = user.get_full_name() or user.get_username()
    if own is not None:
        from_email, reply_to = formataddr((name, own.address)), []
    else:
        from_email, reply_to = settings.DEFAULT_FROM_EMAIL, [formataddr((name, user.email))] if user.email else []
    sender_address = own.address if own else (user.email or settings.DEFAULT_FROM_EMAIL)
    message_id = make_msgid(domain=DNS_NAME)
    now = timezone.now()
    with transaction.atomic():
        synced = SyncedEmail.objects.create(
            message_key=message_id, message_id=message_id, thread_key=message_id, connection=connection,
            owner=user, direction=SyncedEmail.Direction.OUTGOING, from_address=sender_address.lower()[:320],
            to_addresses=person.email, subject=subject[:200], sent_at=now,
        )
        activity = Activity.new_about(person=person, created_by=user)
        activity.kind = Activity.Kind.EMAIL
        activity.subject = subject[:200] or "–"
        activity.body = f"{sender_address} → {person.email}\n\n{body}"
        activity.occurred_at = now
        activity.synced_email = synced
        activity.save()
        return outbox.email_queue(
            to=person.email, subject=subject, body=body, from_email=from_email, reply_to=reply_to,
            regarding=person, message_id=message_id, sender=user,
        )
