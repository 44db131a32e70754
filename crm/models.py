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

    def save(self, *args, **kwargs):
        self.refresh_search_key()
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
