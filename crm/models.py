from django.conf import settings
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
