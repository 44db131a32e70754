"""A user's mailbox connection, its folders' sync positions and the messages it brought in."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import secrets


class MailboxConnection(models.Model):
    """One user's mailbox (IMAP). The password is stored encrypted (crm.secrets) and is never
    shown again; the counters say honestly what the sync did: every message it looked at was
    either stored, already on the timeline, or skipped (no known address, or excluded)."""

    class Security(models.TextChoices):
        TLS = "tls", _("TLS (implicit, usually port 993)")
        STARTTLS = "starttls", _("STARTTLS (usually port 143)")

    class SmtpSecurity(models.TextChoices):
        STARTTLS = "starttls", _("STARTTLS (usually port 587)")
        SSL = "ssl", _("TLS (implicit, usually port 465)")

    class Error(models.TextChoices):
        NOT_FOUND = "not_found", _("The server name could not be found.")
        REFUSED = "refused", _("The server refused the connection on this port.")
        TIMEOUT = "timeout", _("The server did not answer in time.")
        CERTIFICATE = "certificate", _("The server's certificate could not be verified.")
        TLS = "tls", _("No encrypted connection could be established.")
        LOGIN = "login", _("The server refused the user name or password.")
        PROTOCOL = "protocol", _("The server answered in a way the CRM does not understand.")
        FOLDER = "folder", _("A folder could not be opened.")
        PASSWORD = "password", _("The stored password can no longer be read; please enter it again.")
        UNEXPECTED = "unexpected", _("An unexpected error occurred; it is logged for the administrators.")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="mailbox"
    )
    host = models.CharField(_("server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(_("encryption"), max_length=10, choices=Security.choices, default=Security.TLS)
    username = models.CharField(_("user name"), max_length=255)
    password_encrypted = models.TextField(editable=False)
    excluded = models.TextField(
        _("excluded addresses and domains"), blank=True,
        help_text=_("One per line: an address (name@example.com) or a domain (example.com); their messages are not synced."),
    )
    is_paused = models.BooleanField(_("sync paused"), default=False)
    # Optional: the user's own SMTP account, so emails written in the CRM go out as theirs.
    smtp_host = models.CharField(_("SMTP server"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP encryption"), max_length=10, choices=SmtpSecurity.choices, default=SmtpSecurity.STARTTLS
    )
    smtp_username = models.CharField(_("SMTP user name"), max_length=255, blank=True)
    smtp_password_encrypted = models.TextField(editable=False, blank=True)
    smtp_verified_at = models.DateTimeField(_("SMTP connection tested"), null=True, blank=True)
    created_at = models.DateTimeField(_("connected"), auto_now_add=True)
    verified_at = models.DateTimeField(_("connection tested"), null=True, blank=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful run"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=20, choices=Error.choices, blank=True)
    last_error_detail = models.CharField(_("server's answer"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    messages_seen = models.PositiveBigIntegerField(_("messages seen"), default=0)
    messages_stored = models.PositiveBigIntegerField(_("messages stored"), default=0)
    messages_present = models.PositiveBigIntegerField(_("messages already on the timeline"), default=0)
    messages_skipped = models.PositiveBigIntegerField(_("messages skipped"), default=0)

    class Meta:
        verbose_name = _("mailbox connection")
        verbose_name_plural = _("mailbox connections")

    def __str__(self) -> str:
        return f"{self.username} @ {self.host}"

    def get_absolute_url(self) -> str:
        return reverse("contacts:mailbox")

    def set_password(self, password: str) -> None:
        self.password_encrypted = secrets.encrypt(password)

    def password(self) -> str:
        return secrets.decrypt(self.password_encrypted)

    def set_smtp_password(self, password: str) -> None:
        self.smtp_password_encrypted = secrets.encrypt(password) if password else ""

    def smtp_password(self) -> str:
        return secrets.decrypt(self.smtp_password_encrypted) if self.smtp_password_encrypted else ""

    @property
    def has_smtp(self) -> bool:
        return bool(self.smtp_host and self.smtp_username and self.smtp_password_encrypted)

    @property
    def address(self) -> str:
        """The address the user's mail goes out from: the mailbox's login when it is one."""
        for candidate in (self.smtp_username, self.username, self.user.email):
            if candidate and "@" in candidate:
                return candidate
        return ""

    def excluded_entries(self) -> tuple[set[str], set[str]]:
        """(addresses, domains) excluded from the sync, lower case."""
        addresses, domains = set(), set()
        for line in self.excluded.splitlines():
            entry = line.strip().lower().lstrip("@")
            if not entry:
                continue
            (addresses if "@" in entry else domains).add(entry)
        return addresses, domains

    def is_excluded(self, address: str, entries=None) -> bool:
        addresses, domains = entries or self.excluded_entries()
        address = address.lower()
        domain = address.rpartition("@")[2]
        return address in addresses or any(domain == d or domain.endswith("." + d) for d in domains)

    @property
    def counts_reconcile(self) -> bool:
        return self.messages_seen == self.messages_stored + self.messages_present + self.messages_skipped


class MailboxFolder(models.Model):
    """Where the sync of one folder stands: the folder's UIDVALIDITY and the highest UID done.
    A new UIDVALIDITY (the server renumbered the folder) starts it over at UID 0; the
    Message-ID key of SyncedEmail keeps the timeline free of doubles."""

    class Role(models.TextChoices):
        INBOX = "inbox", _("Inbox")
        SENT = "sent", _("Sent")

    connection = models.ForeignKey(MailboxConnection, on_delete=models.CASCADE, related_name="folders")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    name = models.CharField(_("folder"), max_length=255)
    uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"), default=0)
    last_uid = models.PositiveBigIntegerField(_("last UID synced"), default=0)
    resets = models.PositiveIntegerField(_("UIDVALIDITY changes"), default=0)
    synced_at = models.DateTimeField(_("synced"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailbox folder")
        verbose_name_plural = _("mailbox folders")
        ordering = ["connection", "role"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "role"], name="mailbox_folder_unique_role"),
        ]

    def __str__(self) -> str:
        return self.name


class SyncedEmailQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)


class SyncedEmail(models.Model):
    """A message a mailbox sync put on the timeline: one row per message (its Message-ID, or a
    digest of its headers when it has none), whichever folder or mailbox it was seen in; the
    activities and attachments it made point at it."""

    class Direction(models.TextChoices):
        INCOMING = "incoming", _("Received")
        OUTGOING = "outgoing", _("Sent")

    message_key = models.CharField(max_length=255, unique=True, editable=False)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    in_reply_to = models.CharField(_("in reply to"), max_length=255, blank=True)
    references = models.TextField(_("references"), blank=True)
    thread_key = models.CharField(_("thread"), max_length=255, db_index=True)
    connection = models.ForeignKey(
        MailboxConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("mailbox of"), on_delete=models.SET_NULL, null=True,
        related_name="synced_emails",
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    folder = models.CharField(_("folder"), max_length=255)
    uidvalidity = models.PositiveBigIntegerField(default=0)
    uid = models.PositiveBigIntegerField(default=0)
    from_address = models.CharField(_("from"), max_length=320, blank=True)
    to_addresses = models.TextField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent"))
    is_private = models.BooleanField(_("private"), default=False)
    synced_at = models.DateTimeField(_("synced"), auto_now_add=True)

    objects = SyncedEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("synced email")
        verbose_name_plural = _("synced emails")
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["owner", "-sent_at"], name="synced_email_owner_idx")]

    def __str__(self) -> str:
        return self.subject or self.message_id

    def get_absolute_url(self) -> str:
        activity = self.activities.order_by("pk").first()
        return activity.get_absolute_url() if activity else reverse("contacts:mailbox")


def private_filter(user) -> Q:
    """Rows not marked private, and the private ones of `user` (a synced email marked private)."""
    return Q(private_to__isnull=True) | Q(private_to_id=getattr(user, "pk", None))
