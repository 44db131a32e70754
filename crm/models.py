from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TeamQuerySet(models.QuerySet):
    def managed_by(self, user):
        return self.filter(manager=user)


class Team(models.Model):
    """A group of users with a manager: managers see and edit what their team owns."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def managed_user_ids(user) -> set[int]:
    """Ids of the users whose records this user manages: the members of the teams they lead."""
    cached = getattr(user, "_crm_managed_ids", None)
    if cached is None:
        cached = set(
            Team.members.through.objects.filter(team__manager=user).values_list("user_id", flat=True)
        )
        cached.add(user.pk)
        user._crm_managed_ids = cached
    return cached


def teammate_ids(user) -> set[int]:
    """Ids of the users who share a team with this user (including the user)."""
    cached = getattr(user, "_crm_teammate_ids", None)
    if cached is None:
        through = Team.members.through
        team_ids = through.objects.filter(user=user).values_list("team_id", flat=True)
        cached = set(through.objects.filter(team_id__in=team_ids).values_list("user_id", flat=True))
        cached.add(user.pk)
        user._crm_teammate_ids = cached
    return cached


class ManagedRecordQuerySet(models.QuerySet):
    """Records every CRM user reads and that belong to one user (`managed_by_field`, a foreign
    key to the user): that user, the managers of their teams and admins may change them."""

    managed_by_field = ""

    def visible_to(self, user):
        from crm.roles import is_crm_user

        return self.all() if is_crm_user(user) else self.none()

    def editable_by(self, user):
        from crm.roles import Role, has_role, is_crm_user

        if not is_crm_user(user):
            return self.none()
        if has_role(user, Role.ADMIN):
            return self.all()
        return self.filter(**{f"{self.managed_by_field}_id__in": managed_user_ids(user)})


class SearchIndexedModel(models.Model):
    """A model found by the global search. Subclasses say what text describes them."""

    search_key = models.TextField(editable=False, blank=True, default="")

    class Meta:
        abstract = True

    # Fields that refresh_search_key() computes; saved along with any partial update.
    derived_fields: tuple[str, ...] = ("search_key",)

    def search_text(self) -> list:
        raise NotImplementedError

    def refresh_search_key(self) -> None:
        from crm.text import index_text

        self.search_key = index_text(*self.search_text())

    def before_save(self) -> None:
        """What save() computes before it writes the row (the search key); a bulk write that
        bypasses save() calls it too (crm.api.batch)."""
        self.refresh_search_key()

    def save(self, *args, **kwargs):
        self.before_save()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *self.derived_fields}
        super().save(*args, **kwargs)


class PrivacyRequest(models.Model):
    """The log of data-protection exports and erasures: who, when, which record id, how much.
    It names no person, so it survives the erasure it records."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Data export")
        ERASURE = "erasure", _("Erasure")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    person_id = models.PositiveBigIntegerField(_("person id"), db_index=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("performed by"), on_delete=models.SET_NULL, null=True
    )
    performed_at = models.DateTimeField(_("performed at"), default=timezone.now)
    summary = models.JSONField(_("records per area"), default=dict)

    class Meta:
        verbose_name = _("data protection request")
        verbose_name_plural = _("data protection requests")
        ordering = ["-performed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.person_id} {self.performed_at:%Y-%m-%d %H:%M}"


class OutgoingEmailQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The outbox as a whole is for admins; record pages show the mail about their record
        through `about()`, after checking access to that record themselves."""
        from crm.roles import Role, has_role

        return self.all() if has_role(user, Role.ADMIN) else self.none()

    def editable_by(self, user):
        return self.visible_to(user)

    def about(self, record):
        from django.contrib.contenttypes.models import ContentType

        return self.filter(regarding_type=ContentType.objects.get_for_model(record), regarding_id=record.pk)

    def due(self, *, before):
        """Queued messages whose delivery should have started before `before` (their task was lost)."""
        return self.filter(state=OutgoingEmail.State.QUEUED, next_attempt_at__lte=before)


class OutgoingEmail(models.Model):
    """One email the CRM sends (transactional outbox): stored in the transaction of the change it
    reports, delivered by a Celery task (crm.outbox), its state visible to the user."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent: reserved address")

    class SentCopy(models.TextChoices):
        NONE = "", _("no copy (the CRM's server)")
        PENDING = "pending", _("to be filed in the Sent folder")
        FILED = "filed", _("filed in the Sent folder")
        FAILED = "failed", _("sent, but not filed in the Sent folder")

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.QUEUED)
    from_email = models.CharField(_("from"), max_length=300)
    to = models.CharField(_("to"), max_length=320)
    reply_to = models.JSONField(_("reply to"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    message_id = models.CharField(_("message id"), max_length=250, db_index=True)
    # The record the email is about (a ticket, an appointment ...): crm knows no domain app.
    regarding_type = models.ForeignKey(
        "contenttypes.ContentType", verbose_name=_("regarding type"), on_delete=models.SET_NULL, null=True, blank=True
    )
    regarding_id = models.PositiveBigIntegerField(_("regarding id"), null=True, blank=True)
    regarding = GenericForeignKey("regarding_type", "regarding_id")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_reply = models.TextField(_("last server reply"), blank=True)
    # A user's own email (written on a person's page): it goes out through that user's own SMTP
    # account when they have one (crm.outbox.register_sender_account), else through the CRM's.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("written by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    sent_via = models.CharField(
        _("sent through"), max_length=300, blank=True, help_text=_("The user's own SMTP account; empty: the CRM's server.")
    )
    sent_copy = models.CharField(_("copy in the Sent folder"), max_length=10, choices=SentCopy.choices, default="", blank=True)
    sent_copy_detail = models.CharField(_("Sent folder's answer"), max_length=500, blank=True)

    objects = OutgoingEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="crm_outbox_state_due"),
            models.Index(fields=["state", "claimed_at"], name="crm_outbox_state_claimed"),
            models.Index(fields=["regarding_type", "regarding_id"], name="crm_outbox_regarding"),
            models.Index(fields=["state", "-created_at"], name="crm_outbox_state_created"),
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("outgoing_email_detail", args=[self.pk])

    @property
    def can_resend(self) -> bool:
        """Failed email may be sent again; one held back for its reserved address only once the
        CRM may deliver there (CRM_EMAIL_DELIVER_RESERVED)."""
        if self.state == self.State.SUPPRESSED:
            return bool(settings.CRM_EMAIL_DELIVER_RESERVED)
        return self.state == self.State.FAILED


class OutgoingEmailAttachment(models.Model):
    """A file of an outgoing email: its bytes (a calendar invitation, say), or a file already in
    storage (a ticket attachment), referenced rather than copied."""

    email = models.ForeignKey(OutgoingEmail, verbose_name=_("email"), on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=200, blank=True)
    content = models.BinaryField(_("content"), null=True, blank=True)
    file = models.FileField(_("file"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    def read(self) -> bytes:
        if self.content is not None:
            return bytes(self.content)
        with self.file.open("rb") as handle:
            return handle.read()


# --- the REST API (crm.api) ------------------------------------------------------------------


class ApiTokenQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Each user sees their own tokens; admins see everybody's (to revoke a leaked one)."""
        from crm.roles import Role, has_role

        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.all() if has_role(user, Role.ADMIN) else self.filter(user=user)

    def editable_by(self, user):
        return self.visible_to(user)

    def usable(self, *, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A personal API token: its holder acts as `user` with the same rights as on the pages
    (`read` scope: reading only). Only the SHA-256 of the secret is stored; the secret is shown
    once, when the token is made (crm.api.tokens.token_create). `prefix` finds the row."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        READ_WRITE = "read_write", _("Read and write")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. “Web shop sync”."))
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    last_used_from = models.GenericIPAddressField(_("last used from"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", editable=False,
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="crm_apitoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("api_token_list")

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE

    def revoke(self, *, by) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.revoked_by = by
            self.save(update_fields=["revoked_at", "revoked_by"])


class IdempotencyKey(models.Model):
    """A POST made with an `Idempotency-Key` header and the response it got, kept for
    CRM_API_IDEMPOTENCY_HOURS: the same key with the same request gets this response again and
    changes nothing; with another request it is refused (crm.api.idempotency). Written in the
    transaction of the change, so a key exists exactly when its change does."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="crm_idempotency_user_key")]

    def __str__(self) -> str:
        return self.key


# The oldest transaction still running in this database (transaction ids are shared by every
# database of the Postgres server: a long transaction in another one must not stall the feed),
# or, with none, the next id to be handed out. A running transaction counts as this database's
# unless pg_stat_activity shows it in another one (an unknown one delays entries, never hides them).
COMMIT_HORIZON_SQL = """
WITH snap AS (SELECT pg_current_snapshot() AS s)
SELECT COALESCE(
    (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_stat_activity a
        WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()
          AND a.backend_xid::text::bigint = mod(x::text::bigint, 4294967296))),
    (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
), pg_current_xact_id_if_assigned()::text::bigint
"""


class ChangeEventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """What `user` may know happened: changes of records they may see now, and deletions
        and merges of the kinds of record they may see (the record itself is gone)."""
        from crm import changefeed

        condition = models.Q(pk__in=[])
        for kind, model in changefeed.kinds().items():
            visible = model.objects.visible_to(user)
            if visible.query.is_empty():
                continue
            if not visible.query.where:  # every record of the kind: no need to ask which
                condition |= models.Q(kind=kind)
                continue
            # EXISTS per entry, not IN (all visible ids): a page of the feed checks its own rows
            # (by primary key) instead of the visibility of every lead, deal or ticket there is.
            condition |= models.Q(kind=kind, action__in=ChangeEvent.GONE) | models.Q(
                models.Exists(visible.order_by().filter(pk=models.OuterRef("object_id"))), kind=kind
            )
        return self.filter(condition)

    def after(self, since: int):
        """The entries after the one with id `since`, in commit order, that no open transaction can
        still precede: Postgres hands out ids when a row is inserted, not when it commits, so a
        transaction that inserted id 7 and commits after id 8 was read would be skipped by a
        reader that went by ids. Entries are ordered by the writing transaction's id, and only
        those of transactions older than every transaction still running are listed (a long
        transaction delays the entries after it; it never hides them). The reader's own
        transaction's entries count as ended (a test, or a request that writes and then reads)."""
        from django.db import connection

        start_txid = 0
        if since:
            start_txid = ChangeEvent.objects.filter(pk=since).values_list("txid", flat=True).first() or 0
        after = models.expressions.RawSQL(
            '("crm_changeevent"."txid", "crm_changeevent"."id") > (%s, %s)', (start_txid, since),
            output_field=models.BooleanField(),
        )
        events = self.filter(after).order_by("txid", "pk")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Its own statement, before the one that reads the entries: the horizon must be
                # from a snapshot no later than the one the entries are read with.
                cursor.execute(COMMIT_HORIZON_SQL)
                horizon, own = cursor.fetchone()
            ended = models.Q(txid__lt=horizon)
            if own is not None:
                ended |= models.Q(txid=own)
            events = events.filter(ended)
        return events


class ChangeEvent(models.Model):
    """One entry of the change feed (/api/v1/changes/): a record was created, updated, deleted
    or merged into another. Written in the transaction of the change (crm.changefeed). The id
    is the cursor: a client that remembers the last id it saw misses nothing. It carries no
    data of the record, so an erasure leaves no personal data here."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")
        MERGED = "merged", _("Merged")

    GONE = (Action.DELETED, Action.MERGED)

    kind = models.CharField(_("kind"), max_length=40)
    object_id = models.BigIntegerField(_("record id"))
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    # The record a merged one went into.
    survivor_id = models.BigIntegerField(_("merged into"), null=True, blank=True)
    # Why a record went: "erased" for a data-protection erasure.
    reason = models.CharField(_("reason"), max_length=20, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    # On Postgres the id of the transaction that wrote the entry (a trigger sets it; 0 on SQLite,
    # whose one writer at a time commits in id order). The feed lists entries by (txid, id) and
    # only those of transactions that have ended, so an entry committed after a later id was
    # read is never skipped: see ChangeEventQuerySet.after().
    txid = models.BigIntegerField(_("transaction"), default=0, editable=False)

    objects = ChangeEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        ordering = ["txid", "pk"]
        indexes = [
            models.Index(fields=["kind", "object_id"], name="crm_change_object_idx"),
            models.Index(fields=["txid", "id"], name="crm_change_commit_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id} {self.action}"


# --- outbound webhooks (crm.webhooks) ----------------------------------------------------------


class WebhookEndpoint(models.Model):
    """A URL that receives signed events (Standard Webhooks). Admins only subscribe one, so a
    subscriber receives only what an admin may see anyway. The secret signs; after a rotation
    the previous one keeps signing too until `previous_secret_expires_at`, so a receiver can
    switch without losing an event."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list)
    secret = models.CharField(_("secret"), max_length=100)
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(_("previous secret valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    # While the endpoint fails, nothing is sent to it before this time (the backoff is the
    # endpoint's, so a receiver that is down gets one probe per step, not one per event).
    retry_at = models.DateTimeField(_("next try"), null=True, blank=True)
    # One worker at a time delivers to an endpoint (that keeps the order per record); a lease
    # that a dead worker leaves behind runs out.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    lease_owner = models.CharField(max_length=40, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["url", "pk"]

    def __str__(self) -> str:
        return self.description or self.url

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("webhook_detail", args=[self.pk])

    def secrets(self, now=None) -> list[str]:
        now = now or timezone.now()
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            keys.append(self.previous_secret)
        return keys


class WebhookEvent(models.Model):
    """The outbox of webhooks: one event, written in the transaction of the change it reports,
    with the payload as it was then and a stable id that every delivery of it carries."""

    msg_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event type"), max_length=60)
    kind = models.CharField(_("kind"), max_length=40, blank=True)
    object_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookDelivery(models.Model):
    """One event for one endpoint. Deliveries of the same record go out in the order of their
    ids: the next waits until the one before it succeeded (or was given up)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    record_key = models.CharField(max_length=60, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status = models.PositiveIntegerField(_("last status"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["endpoint", "state", "record_key", "id"], name="crm_webhook_due_idx"),
            models.Index(fields=["state", "endpoint"], name="crm_webhook_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the delivery log shows it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(_("time"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    response_excerpt = models.TextField(_("response"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.status_code or self.error}"


class CustomField(models.Model):
    """A field an admin adds to one kind of record (people, deals ...) without code. Its values
    live in the record's `custom_fields` JSON column under `key`; crm.customfields validates,
    shows and exports them (one place for every write path: forms, API, import, merge)."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        INTEGER = "integer", _("Whole number")
        DECIMAL = "decimal", _("Decimal number")
        MONEY = "money", _("Amount of money")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Choice")
        MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
        URL = "url", _("Web address")
        EMAIL = "email", _("Email address")
        PHONE = "phone", _("Phone number")
        PERSON = "person", _("Person")
        ORGANIZATION = "organization", _("Organization")
        USER = "user", _("User")

    class Model(models.TextChoices):
        PERSON = "contacts.person", _("People")
        ORGANIZATION = "contacts.organization", _("Organizations")
        LEAD = "sales.lead", _("Leads")
        DEAL = "sales.deal", _("Deals")
        TICKET = "service.ticket", _("Tickets")
        APPOINTMENT = "appointments.appointment", _("Appointments")

    model = models.CharField(_("records"), max_length=40, choices=Model.choices)
    key = models.SlugField(
        _("key"), max_length=50,
        help_text=_("The field's name in the API, imports and exports: lower-case letters, digits and underscores."),
    )
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.TEXT)
    label_de = models.CharField(_("label (German)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    help_text_de = models.CharField(_("help text (German)"), max_length=300, blank=True)
    help_text_en = models.CharField(_("help text (English)"), max_length=300, blank=True)
    required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default"), null=True, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    group = models.CharField(_("group"), max_length=100, blank=True)
    order = models.PositiveIntegerField(_("order"), default=100)
    view_roles = models.JSONField(_("roles that see it"), default=list, blank=True)
    edit_roles = models.JSONField(_("roles that edit it"), default=list, blank=True)
    is_personal = models.BooleanField(
        _("personal data"), default=False,
        help_text=_("Its values are in a person's data export and are erased with the person."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["model", "group", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "key"], name="crm_customfield_unique_key",
                violation_error_message=_("These records already have a field with this key."),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("customfield_edit", args=[self.pk])

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "de").startswith("en") and self.label_en:
            return self.label_en
        return self.label_de

    @property
    def help_text(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "de").startswith("en") and self.help_text_en:
            return self.help_text_en
        return self.help_text_de

    def records(self):
        """The records of the field's kind that hold a value for it."""
        from django.apps import apps

        return apps.get_model(self.model)._base_manager.filter(custom_fields__has_key=self.key)
