"""Availability, appointment types, appointments, slot offers and sent reminders.

Times are stored in UTC; each host's availability carries the host's time zone, each
appointment the customer's, and pages show local times.

Record access: every CRM role reads appointments (they are part of the shared customer
view); hosts, the managers of the host's team and admins change them.
"""

import functools
import secrets
import uuid
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.models import ManagedRecordQuerySet, SearchIndexedModel, Team, managed_user_ids
from crm.roles import Role, has_role, is_crm_user

DEFAULT_TIME_ZONE = "Europe/Berlin"


@functools.cache
def time_zone_choices() -> list[tuple[str, str]]:
    # available_timezones() reads the zone files from disk: once per process is enough.
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


def german_subdivision_choices() -> list[tuple[str, str]]:
    import holidays

    return [("", _("Nationwide holidays only"))] + [(code, code) for code in holidays.Germany.subdivisions]


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(_("Unknown time zone."), code="time_zone") from error


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


def new_uid() -> str:
    return f"{uuid.uuid4()}@crm"


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class AvailabilityQuerySet(ManagedRecordQuerySet):
    managed_by_field = "user"


class Availability(models.Model):
    """A user's calendar settings: time zone, public holidays, and the secret feed token.
    The weekly working hours are its `hours`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="availability"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone]
    )
    holiday_subdivision = models.CharField(
        _("public holidays of"),
        max_length=8,
        blank=True,
        default="",
        help_text=_("German federal state whose public holidays are days off; empty: nationwide holidays only."),
    )
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)

    history = HistoricalRecords(excluded_fields=["feed_token"])
    objects = AvailabilityQuerySet.as_manager()

    class Meta:
        verbose_name = _("availability")
        verbose_name_plural = _("availabilities")

    def __str__(self) -> str:
        return str(_("Availability of %(user)s") % {"user": self.user.get_full_name() or self.user.username})

    def get_absolute_url(self) -> str:
        return reverse("appointments:availability_edit")

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def clean(self):
        valid = {code for code, _label in german_subdivision_choices()}
        if self.holiday_subdivision not in valid:
            raise ValidationError({"holiday_subdivision": _("Unknown federal state.")})


class WorkingHours(models.Model):
    availability = models.ForeignKey(
        Availability, verbose_name=_("availability"), on_delete=models.CASCADE, related_name="hours"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="appointments_hours_end_after_start",
                violation_error_message=_("The end must be after the start."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class AvailabilityException(models.Model):
    class Kind(models.TextChoices):
        ABSENCE = "absence", _("Absence")
        EXTRA = "extra", _("Extra hours")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ABSENCE)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()
    objects = AvailabilityQuerySet.as_manager()

    class Meta:
        verbose_name = _("availability exception")
        verbose_name_plural = _("availability exceptions")
        ordering = ["start"]
        indexes = [models.Index(fields=["user", "start", "end"], name="appt_exception_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="appointments_exception_end_after_start",
                violation_error_message=_("The end must be after the start."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {timezone.localtime(self.start):%d.%m.%Y %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("appointments:availability_edit")


class AppointmentTypeQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.all() if is_crm_user(user) else self.none()

    def editable_by(self, user):
        if not is_crm_user(user):
            return self.none()
        if has_role(user, Role.ADMIN):
            return self.all()
        return self.filter(Q(host_user_id__in=managed_user_ids(user)) | Q(host_team__manager=user))

    def active(self):
        return self.filter(is_active=True)


def default_reminder_offsets() -> list[int]:
    return [1440, 60]


class AppointmentType(models.Model):
    class LocationKind(models.TextChoices):
        OFFICE = "office", _("In our office")
        PHONE = "phone", _("Phone call")
        VIDEO = "video", _("Video call")
        CUSTOMER = "customer", _("At the customer's")

    class Assignment(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        FIRST_FREE = "first_free", _("First free")

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    duration = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(600)]
    )
    buffer_before = models.PositiveSmallIntegerField(
        _("buffer before (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    buffer_after = models.PositiveSmallIntegerField(
        _("buffer after (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    slot_interval = models.PositiveSmallIntegerField(
        _("start times every (minutes)"), default=15, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    location_kind = models.CharField(
        _("location"), max_length=10, choices=LocationKind.choices, default=LocationKind.VIDEO
    )
    location_detail = models.CharField(
        _("address, phone number or video link"), max_length=300, blank=True
    )
    min_notice = models.PositiveIntegerField(
        _("minimum notice (minutes)"), default=240, validators=[MaxValueValidator(60 * 24 * 60)]
    )
    max_days_ahead = models.PositiveSmallIntegerField(
        _("bookable days ahead"), default=60, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    host_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("host"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="hosted_appointment_types",
    )
    host_team = models.ForeignKey(
        Team,
        verbose_name=_("host team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="appointment_types",
    )
    assignment = models.CharField(
        _("team assignment"), max_length=12, choices=Assignment.choices, default=Assignment.ROUND_ROBIN
    )
    reminder_offsets = models.JSONField(
        _("reminders (minutes before)"), default=default_reminder_offsets, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    history = HistoricalRecords()
    objects = AppointmentTypeQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["is_active", "name"], name="appt_type_active_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(host_user__isnull=False, host_team__isnull=True) | Q(host_user__isnull=True, host_team__isnull=False)),
                name="appointments_type_one_host",
                violation_error_message=_("Choose either one host or a host team."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("appointments:type_update", args=[self.pk])

    def clean(self):
        if bool(self.host_user_id) == bool(self.host_team_id):
            raise ValidationError(_("Choose either one host or a host team."))
        offsets = self.reminder_offsets
        if not isinstance(offsets, list) or not all(isinstance(o, int) and 0 < o <= 60 * 24 * 30 for o in offsets):
            raise ValidationError({"reminder_offsets": _("Give whole minutes between 1 and 43200.")})

    def host_ids(self) -> list[int]:
        """The users who may host this type, in a stable order (one query for a team)."""
        if self.host_user_id:
            return [self.host_user_id]
        return sorted(self.host_team.members.filter(is_active=True).values_list("pk", flat=True))


class AppointmentQuerySet(ManagedRecordQuerySet):
    managed_by_field = "host"

    def active(self):
        """Appointments that occupy their host's time (everything but cancelled)."""
        return self.exclude(status=Appointment.Status.CANCELLED)

    def overlapping(self, start, end):
        return self.filter(blocked_start__lt=end, blocked_end__gt=start)

    def about(self, *, person=None, organization=None):
        if person is not None:
            return self.filter(person=person)
        if organization is not None:
            return self.filter(person_id__in=organization.people_ids())
        return self.none()


class Appointment(SearchIndexedModel):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        HELD = "held", _("Held")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    appointment_type = models.ForeignKey(
        AppointmentType, verbose_name=_("appointment type"), on_delete=models.PROTECT, related_name="appointments"
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("host"), on_delete=models.PROTECT, related_name="hosted_appointments"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    # Start and end widened by the type's buffers: the time this appointment takes from its host.
    blocked_start = models.DateTimeField(editable=False)
    blocked_end = models.DateTimeField(editable=False)
    person = models.ForeignKey(
        "contacts.Person",
        verbose_name=_("person"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
    )
    customer_name = models.CharField(_("name"), max_length=200)
    customer_email = models.EmailField(_("email"))
    customer_time_zone = models.CharField(
        _("time zone"), max_length=64, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone]
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="de")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    uid = models.CharField(_("calendar UID"), max_length=100, unique=True, default=new_uid, editable=False)
    sequence = models.PositiveIntegerField(_("sequence"), default=0, editable=False)
    regarding_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("regarding")
    )
    regarding_id = models.PositiveBigIntegerField(null=True, blank=True)
    regarding = GenericForeignKey("regarding_type", "regarding_id")
    offer = models.ForeignKey(
        "SlotOffer", on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)  # crm.customfields
    history = HistoricalRecords(excluded_fields=["search_key", "updated_at", "blocked_start", "blocked_end"])
    # No double booking: on Postgres an exclusion constraint over (host, [blocked_start, blocked_end))
    # of the active rows (migration 0002, outside the model state because SQLite cannot hold it);
    # on SQLite appointment_book() checks inside the writing transaction.
    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "pk"]
        indexes = [
            models.Index(fields=["host", "blocked_start"], name="appt_host_start_idx"),
            models.Index(fields=["start"], name="appt_start_idx"),
            models.Index(fields=["status", "start"], name="appt_status_start_idx"),
            models.Index(fields=["person", "-start"], name="appt_person_idx"),
            models.Index(fields=["appointment_type", "start"], name="appt_type_start_idx"),
            models.Index(fields=["regarding_type", "regarding_id"], name="appt_regarding_idx"),
            # Bookings made in a period (the appointments dashboard, the list's "booked from" filter).
            models.Index(fields=["created_at"], name="appt_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="appointments_end_after_start",
                violation_error_message=_("The end must be after the start."),
            ),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.start)
        return f"{self.appointment_type.name}: {self.customer_name}, {local:%d.%m.%Y %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("appointments:appointment_detail", args=[self.pk])

    def search_text(self) -> list:
        return [self.customer_name, self.customer_email, self.appointment_type.name if self.appointment_type_id else ""]

    def set_times(self, start, *, appointment_type=None) -> None:
        kind = appointment_type or self.appointment_type
        self.start = start
        self.end = start + timedelta(minutes=kind.duration)
        self.blocked_start = self.start - timedelta(minutes=kind.buffer_before)
        self.blocked_end = self.end + timedelta(minutes=kind.buffer_after)

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.CANCELLED

    @property
    def is_past(self) -> bool:
        return self.start <= timezone.now()

    @property
    def customer_zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.customer_time_zone)


class SlotOffer(models.Model):
    """Times offered to a customer: concrete slots (each a one-click link) or the booking page."""

    class Mode(models.TextChoices):
        SLOTS = "slots", _("Propose concrete times")
        LINK = "link", _("Send a link to the booking page")

    appointment_type = models.ForeignKey(
        AppointmentType, verbose_name=_("appointment type"), on_delete=models.CASCADE, related_name="offers"
    )
    mode = models.CharField(_("how"), max_length=10, choices=Mode.choices, default=Mode.SLOTS)
    # [{"start": ISO 8601 UTC, "host": user id}, ...]
    slots = models.JSONField(_("proposed times"), default=list, blank=True)
    person = models.ForeignKey(
        "contacts.Person", verbose_name=_("person"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer_name = models.CharField(_("name"), max_length=200)
    customer_email = models.EmailField(_("email"))
    customer_time_zone = models.CharField(
        _("time zone"), max_length=64, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone]
    )
    message = models.TextField(_("message"), blank=True, max_length=2000)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="de")
    regarding_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    regarding_id = models.PositiveBigIntegerField(null=True, blank=True)
    regarding = GenericForeignKey("regarding_type", "regarding_id")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sent by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("valid until"))

    class Meta:
        verbose_name = _("slot offer")
        verbose_name_plural = _("slot offers")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.appointment_type.name} → {self.customer_name}"

    def get_absolute_url(self) -> str:
        return reverse("appointments:appointment_list")


class Reminder(models.Model):
    """One reminder of one appointment: the row is claimed before the email goes out, so a
    second beat run or a restarted worker finds it taken and sends nothing."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    offset = models.PositiveIntegerField(_("minutes before"))
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "offset"],
                name="appointments_reminder_once",
                violation_error_message=_("This reminder was already sent."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id} −{self.offset} min"


# The calendar sync's models live in their own module; imported here so Django finds them.
from appointments.calendars.models import BusyTime, CalendarConnection, CalendarPush  # noqa: E402, F401
