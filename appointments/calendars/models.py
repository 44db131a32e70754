"""A user's CalDAV calendar, the busy times read from it, and the state of each appointment pushed
into it. The password is stored encrypted (crm.secrets) and never shown."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import secrets


class CalendarError(models.TextChoices):
    """What went wrong, in words the user understands (the server's answer is kept beside it)."""

    NOT_FOUND = "not_found", _("The calendar server was not found at this address.")
    UNREACHABLE = "unreachable", _("The calendar server did not answer.")
    LOGIN = "login", _("The server refused the user name or password.")
    NOT_CALDAV = "not_caldav", _("There is no CalDAV calendar at this address.")
    NO_CALENDAR = "no_calendar", _("The account has no calendar with this name.")
    SERVER = "server", _("The calendar server answered with an error.")


class CalendarConnection(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="calendar_connection"
    )
    url = models.URLField(_("server address"), max_length=500)
    calendar_url = models.URLField(_("calendar"), max_length=500)
    calendar_name = models.CharField(_("calendar name"), max_length=200, blank=True)
    username = models.CharField(_("user name"), max_length=200)
    password_encrypted = models.TextField(editable=False)
    is_paused = models.BooleanField(_("paused"), default=False)
    created_at = models.DateTimeField(_("connected"), default=timezone.now, editable=False)
    # The busy times: when they were last read (successfully) and how the last attempt went.
    busy_synced_at = models.DateTimeField(_("busy times read"), null=True, blank=True)
    busy_count = models.PositiveIntegerField(_("busy times"), default=0)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=20, choices=CalendarError.choices, blank=True)
    last_error_detail = models.CharField(_("server's answer"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("error at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar connection")
        verbose_name_plural = _("calendar connections")

    def __str__(self) -> str:
        return f"{self.username} · {self.calendar_url}"

    def get_absolute_url(self) -> str:
        return reverse("appointments:calendar_connection")

    def password(self) -> str:
        return secrets.decrypt(self.password_encrypted)

    def set_password(self, plain: str) -> None:
        self.password_encrypted = secrets.encrypt(plain)


class BusyTime(models.Model):
    """One busy interval of a user's own calendar (not a CRM appointment): replaced as a whole on
    every read, so an event deleted there frees its time at the next read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="busy_times"
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))

    class Meta:
        verbose_name = _("busy time")
        verbose_name_plural = _("busy times")
        ordering = ["start"]
        indexes = [models.Index(fields=["user", "start", "end"], name="appt_busy_user_idx")]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.start):%d.%m.%Y %H:%M}–{timezone.localtime(self.end):%H:%M}"


class CalendarPush(models.Model):
    """Where one appointment stands in its host's calendar. `etag` is the version the CRM last
    wrote or read there: a PUT or DELETE goes out with If-Match on it, so an edit made in the
    calendar meanwhile is never overwritten (412), and an edit there is recognised by a new etag."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be written to the calendar")
        SYNCED = "synced", _("In the host's calendar")
        REMOVED = "removed", _("Removed from the host's calendar (cancelled)")
        FAILED = "failed", _("Not written yet: the calendar server failed; retried automatically")
        CONFLICT = "conflict", _("Changed in the calendar and in the CRM: the host decides")
        DELETED_THERE = "deleted_there", _("Deleted in the host's calendar: the host confirms")

    appointment = models.OneToOneField(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="calendar_push"
    )
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="pushes")
    href = models.URLField(max_length=700)
    etag = models.CharField(max_length=200, blank=True)
    state = models.CharField(_("calendar state"), max_length=20, choices=State.choices, default=State.PENDING)
    # The start the CRM last wrote (or accepted from) the calendar: what "changed there" is measured against.
    pushed_start = models.DateTimeField(null=True, blank=True)
    # The start the calendar holds while in conflict (the CRM's own is on the appointment).
    remote_start = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar entry")
        verbose_name_plural = _("calendar entries")
        indexes = [models.Index(fields=["state"], name="appt_push_state_idx")]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.state}"
