"""Analytics writes no domain data; its one table keeps computed dashboard figures (analytics.snapshots)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Snapshot(models.Model):
    """A dashboard's figures for one user, language and filter, as of `computed_at`."""

    name = models.CharField(_("dashboard"), max_length=50)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    params = models.CharField(_("filter"), max_length=500, blank=True)
    language = models.CharField(_("language"), max_length=10)
    payload = models.JSONField(_("figures"))
    computed_at = models.DateTimeField(_("computed at"))
    viewed_at = models.DateTimeField(_("last viewed at"))
    compute_ms = models.PositiveIntegerField(_("computing time in ms"), default=0)

    class Meta:
        verbose_name = _("dashboard snapshot")
        verbose_name_plural = _("dashboard snapshots")
        constraints = [
            models.UniqueConstraint(fields=["name", "user", "params", "language"], name="analytics_snapshot_unique"),
        ]
        indexes = [
            models.Index(fields=["viewed_at", "computed_at"], name="analytics_snapshot_viewed"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.user} · {self.params or '-'}"
