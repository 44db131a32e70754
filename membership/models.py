"""The register of members of an association (Verein) or non-profit: membership types and members.

A member is a contacts person or organization. Members of a type that households share may
belong to another member's household (a family membership: one fee, each with a number).

Record access: the membership roles (admin, membership manager) read and change members and
types; the other roles see none of it (members are not part of the shared customer view).
"""

import calendar
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.models import SearchIndexedModel
from crm.roles import MEMBERSHIP_ROLES, has_role


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.all() if has_role(user, *MEMBERSHIP_ROLES) else self.none()

    editable_by = visible_to


class MembershipTypeQuerySet(MembershipQuerySet):
    def active(self):
        return self.filter(is_active=True)


class MembershipType(models.Model):
    """What a membership costs, how often it is paid, and how it is given notice."""

    class FeePeriod(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")
        YEARLY = "yearly", _("Yearly")

    class NoticeTo(models.TextChoices):
        MONTH = "month", _("End of the month")
        QUARTER = "quarter", _("End of the quarter")
        YEAR = "year", _("End of the year")

    name = models.CharField(_("name"), max_length=100, unique=True)
    fee = models.DecimalField(
        _("fee"), max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)],
        help_text=_("Amount per period, in the CRM's currency."),
    )
    fee_period = models.CharField(_("fee period"), max_length=10, choices=FeePeriod.choices, default=FeePeriod.YEARLY)
    shared_by_household = models.BooleanField(
        _("shared by the household"), default=False,
        help_text=_("Other people of a member's household may join under this membership (a family membership)."),
    )
    notice_months = models.PositiveSmallIntegerField(
        _("notice period (months)"), default=3, validators=[MaxValueValidator(24)],
        help_text=_("How many months before the end a resignation must be received."),
    )
    notice_to = models.CharField(
        _("resignation takes effect at"), max_length=10, choices=NoticeTo.choices, default=NoticeTo.YEAR,
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Only active types can be chosen for new members."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = MembershipTypeQuerySet.as_manager()
    money_fields = ("fee",)

    class Meta:
        verbose_name = _("membership type")
        verbose_name_plural = _("membership types")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee__gte=0), name="membership_type_fee_not_negative",
                violation_error_message=_("The fee cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("membership:type_update", args=[self.pk])

    def resignation_end_date(self, received_on: date) -> date:
        """The last day of membership for a resignation received on `received_on`: the notice
        period counted from that day, then on to the end of its month, quarter or year
        (received 10.02., 3 months to the end of the quarter: 30.06.)."""
        month_index = received_on.month - 1 + self.notice_months
        year, month = received_on.year + month_index // 12, month_index % 12 + 1
        day = min(received_on.day, calendar.monthrange(year, month)[1])
        earliest = date(year, month, day)
        if self.notice_to == self.NoticeTo.YEAR:
            return date(earliest.year, 12, 31)
        if self.notice_to == self.NoticeTo.QUARTER:
            last_month = (earliest.month - 1) // 3 * 3 + 3
            return date(earliest.year, last_month, calendar.monthrange(earliest.year, last_month)[1])
        return date(earliest.year, earliest.month, calendar.monthrange(earliest.year, earliest.month)[1])


class MemberNumberCounter(models.Model):
    """The last member number given (one row): numbers run on and are never given twice, even
    when a member is deleted or the prefix changes."""

    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("member number counter")
        verbose_name_plural = _("member number counters")

    def __str__(self) -> str:
        return str(self.last)


class MemberQuerySet(MembershipQuerySet):
    def of(self, *, person=None, organization=None):
        if person is not None:
            return self.filter(person=person)
        if organization is not None:
            return self.filter(organization=organization)
        return self.none()

    def due_to_end(self, today: date):
        """Active members whose end date has passed (a resignation that has taken effect)."""
        return self.filter(status=Member.Status.ACTIVE, end_date__lt=today)


class Member(SearchIndexedModel):
    class Status(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        RESIGNATION = "resignation", _("Resignation")
        EXCLUSION = "exclusion", _("Exclusion")
        DEATH = "death", _("Death")

    person = models.ForeignKey(
        "contacts.Person", verbose_name=_("person"), on_delete=models.PROTECT, null=True, blank=True, related_name="memberships",
    )
    organization = models.ForeignKey(
        "contacts.Organization", verbose_name=_("organization"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="memberships",
    )
    member_number = models.CharField(_("member number"), max_length=30, unique=True, null=True, blank=True, editable=False)
    membership_type = models.ForeignKey(MembershipType, verbose_name=_("membership type"), on_delete=models.PROTECT, related_name="members")
    household_of = models.ForeignKey(
        "self", verbose_name=_("household of"), on_delete=models.PROTECT, null=True, blank=True, related_name="household_members",
        help_text=_("The member whose membership this one shares."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLICANT)
    applied_on = models.DateField(_("applied on"), default=timezone.localdate)
    start_date = models.DateField(_("member since"), null=True, blank=True)
    end_date = models.DateField(_("member until"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=12, choices=EndReason.choices, blank=True, default="")
    resignation_received_on = models.DateField(_("resignation received on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["search_key", "updated_at"])
    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["member_number"]
        indexes = [
            models.Index(fields=["status", "member_number"], name="membership_member_status"),
            models.Index(fields=["membership_type", "member_number"], name="membership_member_type"),
            models.Index(fields=["start_date"], name="membership_member_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False, organization__isnull=True) | Q(person__isnull=True, organization__isnull=False)),
                name="membership_member_person_or_organization",
                violation_error_message=_("A member is either a person or an organization."),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="membership_member_end_after_start",
                violation_error_message=_("The membership cannot end before it started."),
            ),
            models.CheckConstraint(
                condition=Q(status="applicant") | Q(member_number__isnull=False),
                name="membership_member_number_when_admitted",
                violation_error_message=_("An admitted member has a member number."),
            ),
        ]

    def __str__(self) -> str:
        name = str(self.person or self.organization or "")
        return f"{self.member_number} · {name}" if self.member_number else name

    def get_absolute_url(self) -> str:
        return reverse("membership:member_detail", args=[self.pk])

    @property
    def subject(self):
        """The person or organization who is the member."""
        return self.person or self.organization

    @property
    def is_ending(self) -> bool:
        return self.status == self.Status.ACTIVE and self.end_date is not None

    def search_text(self) -> list:
        subject = self.subject
        return [self.member_number or "", str(subject) if subject else ""]

    def clean(self):
        if self.household_of_id:
            primary = self.household_of
            if primary.pk == self.pk or primary.household_of_id:
                raise ValidationError({"household_of": _("Choose the member who holds the household membership.")})
            if not primary.membership_type.shared_by_household:
                raise ValidationError({"household_of": _("That member's membership type is not shared by households.")})
            if self.person_id is None:
                raise ValidationError({"household_of": _("Only people belong to a household.")})


class MemberEvent(models.Model):
    """One step of a membership (applied, joined, type changed, resigned, ended): the status
    history on the member's page and the entries on the person's or organization's timeline."""

    class Kind(models.TextChoices):
        APPLIED = "applied", _("Applied")
        JOINED = "joined", _("Joined")
        TYPE_CHANGED = "type_changed", _("Membership type changed")
        RESIGNED = "resigned", _("Resigned")
        ENDED = "ended", _("Membership ended")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    status = models.CharField(_("status afterwards"), max_length=10, choices=Member.Status.choices)
    effective_on = models.DateField(_("effective on"))
    detail = models.CharField(_("detail"), max_length=200, blank=True, default="")
    occurred_at = models.DateTimeField(_("recorded"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("membership event")
        verbose_name_plural = _("membership events")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["member", "-occurred_at"], name="membership_event_member")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.effective_on:%d.%m.%Y})"
