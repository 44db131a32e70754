"""Organizations, people, and what happens with them (activities, attachments).

Record access: every CRM role reads the shared customer view (`visible_to`); owners,
the managers of the owner's team and admins change a record (`editable_by`).
"""

import mimetypes
import os
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from contacts.dedupe import organization_name_key, person_name_key
from crm.changefeed import ChangeFeedModel
from crm.models import ManagedRecordQuerySet, SearchIndexedModel, managed_user_ids
from crm.roles import Role, has_role, is_crm_user

# Roles that may change records nobody owns.
UNOWNED_EDITOR_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SUPPORT_LEAD, Role.MARKETING)


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Sales, service and marketing all read the shared customer view."""
        return self.all() if is_crm_user(user) else self.none()

    def editable_by(self, user):
        if not is_crm_user(user):
            return self.none()
        if has_role(user, Role.ADMIN):
            return self.all()
        condition = Q(owner_id__in=managed_user_ids(user))
        if has_role(user, *UNOWNED_EDITOR_ROLES):
            condition |= Q(owner__isnull=True)
        return self.filter(condition)

    def owned_by(self, user):
        return self.filter(owner=user)

    def without_owner(self):
        return self.filter(owner__isnull=True)

    def stale(self, cutoff):
        """Unchanged since `cutoff` and with no activity since then: nobody is looking after them."""
        related = self.model.activities.field
        recent = related.model.objects.filter(**{related.name: OuterRef("pk"), "occurred_at__gte": cutoff})
        return self.filter(updated_at__lt=cutoff).exclude(Exists(recent))


class PersonQuerySet(ContactQuerySet):
    def without_email(self):
        return self.filter(email="", email_secondary="")

    def without_phone(self):
        return self.filter(Q(phone="") | Q(phone__isnull=True), Q(mobile="") | Q(mobile__isnull=True))

    def without_organization(self):
        return self.exclude(Exists(Employment.objects.filter(person=OuterRef("pk"))))

    def with_organization_names(self, user):
        """Prefetches the names of the organizations of each person that `user` may see (one
        query for all rows), main one first; read them with `Person.organization_label`."""
        employments = (
            Employment.objects.filter(organization__in=Organization.objects.visible_to(user))
            .select_related("organization")
            .only("person_id", "is_primary", "organization__name")
            .order_by("-is_primary", "pk")
        )
        return self.prefetch_related(models.Prefetch("employments", queryset=employments, to_attr="visible_employments"))

    def not_erased(self):
        """Without the people erased for data protection (their anonymised rows stay, so deals and
        statistics keep pointing at something, but they are nobody to show or to copy anywhere)."""
        from crm.models import ChangeEvent

        erased = ChangeEvent.objects.filter(
            kind="person", object_id=OuterRef("pk"), action=ChangeEvent.Action.DELETED, reason="erased"
        )
        return self.exclude(Exists(erased))


class EditableByMixin:
    def is_editable_by(self, user) -> bool:
        if not is_crm_user(user):
            return False
        if has_role(user, Role.ADMIN):
            return True
        if self.owner_id is None:
            return has_role(user, *UNOWNED_EDITOR_ROLES)
        return self.owner_id in managed_user_ids(user)


class Tag(models.Model):
    class Color(models.TextChoices):
        GREY = "secondary", _("Grey")
        BLUE = "primary", _("Blue")
        GREEN = "success", _("Green")
        RED = "danger", _("Red")
        YELLOW = "warning", _("Yellow")
        CYAN = "info", _("Cyan")

    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=10, choices=Color.choices, default=Color.GREY)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExternalIdModel(models.Model):
    """The id a record has in another system (the web shop, the ERP), for syncing through the API:
    unique per source system; a record without one has neither."""

    external_source = models.CharField(
        _("external system"), max_length=50, null=True, blank=True,
        help_text=_("The system the external id belongs to, e.g. “shop” or “erp”."),
    )
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def external_constraints(cls, prefix: str) -> list:
        return [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                name=f"{prefix}_external_id_unique",
                violation_error_message=_("Another record already has this external id in this system."),
            ),
            models.CheckConstraint(
                condition=Q(external_source__isnull=True, external_id__isnull=True)
                | Q(external_source__isnull=False, external_id__isnull=False),
                name=f"{prefix}_external_id_with_source",
                violation_error_message=_("An external id needs its system, and a system needs the id."),
            ),
        ]

    def clean(self):
        super().clean()
        # Empty strings mean "none", so that the unique constraint ignores them (NULLs are distinct).
        # The pairing and uniqueness are the constraints' (checked with the form's other ones).
        self.external_source = (self.external_source or "").strip() or None
        self.external_id = (self.external_id or "").strip() or None


class Organization(EditableByMixin, ChangeFeedModel, ExternalIdModel, SearchIndexedModel):
    class LegalForm(models.TextChoices):
        GMBH = "gmbh", "GmbH"
        GMBH_CO_KG = "gmbh_co_kg", "GmbH & Co. KG"
        AG = "ag", "AG"
        KG = "kg", "KG"
        OHG = "ohg", "OHG"
        GBR = "gbr", "GbR"
        UG = "ug", "UG (haftungsbeschränkt)"
        EK = "ek", "e. K."
        EV = "ev", "e. V."
        SE = "se", "SE"
        SOLE = "sole", _("Sole proprietor")
        PUBLIC = "public", _("Public body")
        OTHER = "other", _("Other")

    class Industry(models.TextChoices):
        MANUFACTURING = "manufacturing", _("Manufacturing")
        MECHANICAL = "mechanical_engineering", _("Mechanical engineering")
        AUTOMOTIVE = "automotive", _("Automotive")
        CHEMICALS = "chemicals", _("Chemicals and pharma")
        CONSTRUCTION = "construction", _("Construction")
        RETAIL = "retail", _("Retail")
        WHOLESALE = "wholesale", _("Wholesale")
        IT = "it", _("IT and software")
        TELECOM = "telecom", _("Telecommunications")
        FINANCE = "finance", _("Banking and insurance")
        HEALTH = "health", _("Health care")
        ENERGY = "energy", _("Energy")
        LOGISTICS = "logistics", _("Transport and logistics")
        HOSPITALITY = "hospitality", _("Hotels and restaurants")
        CONSULTING = "consulting", _("Consulting")
        MEDIA = "media", _("Media and marketing")
        EDUCATION = "education", _("Education")
        PUBLIC = "public_sector", _("Public sector")
        CRAFTS = "crafts", _("Crafts")
        AGRICULTURE = "agriculture", _("Agriculture")
        OTHER = "other", _("Other")

    class Relationship(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        FORMER_CUSTOMER = "former_customer", _("Former customer")
        PARTNER = "partner", _("Partner")
        SUPPLIER = "supplier", _("Supplier")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    name_key = models.CharField(max_length=200, editable=False, blank=True, db_index=True)
    legal_form = models.CharField(_("legal form"), max_length=20, choices=LegalForm.choices, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    website = models.URLField(_("website"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    country = CountryField(_("country"), default="DE", blank=True)
    employees = models.PositiveIntegerField(
        _("employees"), null=True, blank=True, validators=[MaxValueValidator(10_000_000)]
    )
    annual_revenue = models.DecimalField(
        _("annual revenue (EUR)"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    relationship = models.CharField(
        _("relationship"), max_length=20, choices=Relationship.choices, default=Relationship.PROSPECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_organizations",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="organizations")
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)  # crm.customfields
    history = HistoricalRecords(excluded_fields=["search_key", "name_key", "updated_at"])
    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["name", "id"], name="org_name_idx"),
            models.Index(fields=["relationship", "name"], name="org_relationship_idx"),
            models.Index(fields=["country", "name"], name="org_country_idx"),
            models.Index(fields=["industry", "name"], name="org_industry_idx"),
            models.Index(fields=["owner", "name"], name="org_owner_idx"),
            models.Index(fields=["-updated_at"], name="org_updated_idx"),
            models.Index(fields=["-created_at"], name="org_created_idx"),
        ]
        constraints = ExternalIdModel.external_constraints("org")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("contacts:organization_detail", args=[self.pk])

    def people_ids(self):
        """The ids of the people who work here, as a subquery: the 360° view of an organization
        includes what happened with its people (their tickets, deals, campaign emails ...)."""
        return Employment.objects.filter(organization=self).values("person_id")

    derived_fields = ("search_key", "name_key")

    def refresh_search_key(self) -> None:
        super().refresh_search_key()
        self.name_key = organization_name_key(self.name)

    def search_text(self) -> list:
        domain = self.website.split("//")[-1].removeprefix("www.").split("/")[0] if self.website else ""
        return [self.name, self.email, domain, self.phone.as_e164 if self.phone else ""]


class OrganizationAddress(models.Model):
    class Kind(models.TextChoices):
        MAIN = "main", _("Main address")
        BILLING = "billing", _("Billing address")
        SHIPPING = "shipping", _("Shipping address")
        BRANCH = "branch", _("Branch")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.MAIN)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True, db_index=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = CountryField(_("country"), default="DE", blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["organization", "kind", "pk"]

    def __str__(self) -> str:
        return ", ".join(p for p in [self.street, f"{self.postal_code} {self.city}".strip()] if p)


class Person(EditableByMixin, ChangeFeedModel, ExternalIdModel, SearchIndexedModel):
    class Salutation(models.TextChoices):
        MR = "mr", _("Mr")
        MS = "ms", _("Ms")
        NONE = "none", _("(no salutation)")

    class AcademicTitle(models.TextChoices):
        NONE = "", _("(none)")
        DR = "dr", "Dr."
        PROF = "prof", "Prof."
        PROF_DR = "prof_dr", "Prof. Dr."
        DIPL_ING = "dipl_ing", "Dipl.-Ing."

    class Lifecycle(models.TextChoices):
        SUBSCRIBER = "subscriber", _("Subscriber")
        LEAD = "lead", _("Lead")
        QUALIFIED = "qualified", _("Qualified")
        CUSTOMER = "customer", _("Customer")
        FORMER_CUSTOMER = "former_customer", _("Former customer")

    class Source(models.TextChoices):
        WEBSITE = "website", _("Website")
        REFERRAL = "referral", _("Referral")
        TRADE_FAIR = "trade_fair", _("Trade fair")
        COLD_CALL = "cold_call", _("Cold call")
        CAMPAIGN = "campaign", _("Campaign")
        PARTNER = "partner", _("Partner")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    class Language(models.TextChoices):
        GERMAN = "de", _("German")
        ENGLISH = "en", _("English")

    salutation = models.CharField(_("salutation"), max_length=5, choices=Salutation.choices, default=Salutation.NONE)
    academic_title = models.CharField(
        _("academic title"), max_length=10, choices=AcademicTitle.choices, blank=True, default=""
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    name_key = models.CharField(max_length=200, editable=False, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    email_secondary = models.EmailField(_("second email"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    mobile = PhoneNumberField(_("mobile"), blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = CountryField(_("country"), default="DE", blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.GERMAN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_people",
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.LEAD
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="people")
    organizations = models.ManyToManyField(
        Organization, through="Employment", verbose_name=_("organizations"), related_name="people", blank=True
    )
    description = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)  # crm.customfields
    history = HistoricalRecords(excluded_fields=["search_key", "name_key", "updated_at"])
    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_idx"),
            models.Index(fields=["email"], name="person_email_idx"),
            models.Index(fields=["email_secondary"], name="person_email2_idx"),
            models.Index(fields=["lifecycle_stage", "last_name"], name="person_lifecycle_idx"),
            models.Index(fields=["owner", "last_name"], name="person_owner_idx"),
            models.Index(fields=["country", "last_name"], name="person_country_idx"),
            models.Index(fields=["source", "last_name"], name="person_source_idx"),
            models.Index(fields=["city", "last_name"], name="person_city_idx"),
            models.Index(fields=["-updated_at"], name="person_updated_idx"),
            models.Index(fields=["-created_at"], name="person_created_idx"),
        ]
        constraints = ExternalIdModel.external_constraints("person")

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("contacts:person_detail", args=[self.pk])

    @property
    def organization_label(self) -> str:
        """The main organization's name (and "+ n" for further ones), from
        `with_organization_names()`; empty when not prefetched, so it never queries."""
        employments = getattr(self, "visible_employments", None) or []
        if not employments:
            return ""
        name = employments[0].organization.name
        return f"{name} +{len(employments) - 1}" if len(employments) > 1 else name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in [self.get_academic_title_display() if self.academic_title else "", self.first_name, self.last_name] if p)

    @property
    def letter_salutation(self) -> str:
        """How a letter to this person opens, in their preferred language."""
        title = f"{self.get_academic_title_display()} " if self.academic_title else ""
        if self.preferred_language == self.Language.ENGLISH:
            greetings = {self.Salutation.MR: "Dear Mr", self.Salutation.MS: "Dear Ms"}
            return f"{greetings.get(self.salutation, 'Dear')} {title}{self.last_name if self.salutation != self.Salutation.NONE else self.first_name + ' ' + self.last_name}".strip()
        if self.salutation == self.Salutation.MR:
            return f"Sehr geehrter Herr {title}{self.last_name}"
        if self.salutation == self.Salutation.MS:
            return f"Sehr geehrte Frau {title}{self.last_name}"
        return f"Guten Tag {self.first_name} {self.last_name}".replace("  ", " ")

    derived_fields = ("search_key", "name_key")

    def refresh_search_key(self) -> None:
        super().refresh_search_key()
        self.name_key = person_name_key(self.first_name, self.last_name)

    def search_text(self) -> list:
        return [
            self.first_name,
            self.last_name,
            self.email,
            self.email_secondary,
            self.city,
            self.phone.as_e164 if self.phone else "",
            self.mobile.as_e164 if self.mobile else "",
        ]

    def primary_organization(self):
        """The organization marked as main, else the first one linked; None without any."""
        employment = self.employments.select_related("organization").order_by("-is_primary", "pk").first()
        return employment.organization if employment else None

    def clean(self):
        super().clean()
        if self.email and self.email_secondary and self.email.lower() == self.email_secondary.lower():
            raise ValidationError({"email_secondary": _("The second email is the same as the first.")})
        if self.birthday and self.birthday > timezone.localdate():
            raise ValidationError({"birthday": _("The birthday cannot be in the future.")})

    def before_save(self) -> None:
        self.email = self.email.strip().lower()
        self.email_secondary = self.email_secondary.strip().lower()
        super().before_save()


class Employment(models.Model):
    """A person's role at an organization. A person may work for several."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="employments")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="employments")
    position = models.CharField(_("position"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("main organization"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("position at an organization")
        verbose_name_plural = _("positions at organizations")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organization"],
                name="employment_unique_person_org",
                violation_error_message=_("This person is already linked to this organization."),
            )
        ]
        indexes = [models.Index(fields=["organization", "person"], name="employment_org_idx")]

    def __str__(self) -> str:
        return f"{self.person} – {self.organization}" + (f" ({self.position})" if self.position else "")


class ActivityQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The shared customer view, less the synced emails another user marked private."""
        from contacts.mailboxes.models import private_filter

        return self.filter(private_filter(user)) if is_crm_user(user) else self.none()

    def editable_by(self, user):
        if not is_crm_user(user):
            return self.none()
        if has_role(user, Role.ADMIN):
            return self.all()
        ids = managed_user_ids(user)
        return self.filter(Q(created_by_id__in=ids) | Q(assignee_id__in=ids))

    def tasks(self):
        return self.filter(kind=Activity.Kind.TASK)

    def open_tasks(self):
        return self.tasks().filter(done=False)

    def due_by(self, moment):
        return self.open_tasks().filter(due_at__lte=moment)

    def about(self, *, person=None, organization=None):
        condition = Q()
        if person is not None:
            condition |= Q(person=person)
        if organization is not None:
            condition |= Q(organization=organization) | Q(person_id__in=organization.people_ids())
        return self.filter(condition) if condition else self.none()


class Activity(ExternalIdModel):
    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        TASK = "task", _("Task")

    ICONS = {"note": "sticky", "call": "telephone", "email": "envelope", "meeting": "people", "task": "check2-square"}

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NOTE)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="activities_created",
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_activities",
    )
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # A record of another app the activity is about (a deal, a lead), without contacts importing it.
    regarding_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+", editable=False
    )
    regarding_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    regarding = GenericForeignKey("regarding_type", "regarding_id")
    # Claimed atomically by the reminder job, so each reminder goes out once.
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    # An email brought in by a mailbox sync (contacts.mailboxes): at most once per person, and
    # once on an organization's timeline; private_to hides it from everybody but that user.
    synced_email = models.ForeignKey(
        "contacts.SyncedEmail", verbose_name=_("synced email"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="activities", editable=False,
    )
    private_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("private to"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="+", editable=False,
    )

    history = HistoricalRecords()
    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False) | Q(organization__isnull=False) | Q(regarding_id__isnull=False),
                name="activity_about_someone",
                violation_error_message=_("An activity is about a person or an organization."),
            ),
            *ExternalIdModel.external_constraints("activity"),
            # Without a condition (NULLs are distinct: other activities never clash), so that a
            # merge of two people who both got the email keeps one (duplicates._combine_clashes).
            models.UniqueConstraint(
                fields=["synced_email", "person"],
                name="activity_email_once_per_person",
                violation_error_message=_("This email is already on this person's timeline."),
            ),
            models.UniqueConstraint(
                fields=["synced_email", "organization"],
                name="activity_email_once_per_organization",
                violation_error_message=_("This email is already on this organization's timeline."),
            ),
        ]
        indexes = [
            models.Index(fields=["person", "-occurred_at"], name="activity_person_time_idx"),
            models.Index(fields=["organization", "-occurred_at"], name="activity_org_time_idx"),
            models.Index(fields=["assignee", "done", "due_at"], name="activity_task_due_idx"),
            models.Index(fields=["regarding_type", "regarding_id", "-occurred_at"], name="activity_regarding_idx"),
            models.Index(
                fields=["due_at"], name="activity_reminder_due_idx",
                condition=Q(kind="task", done=False, reminder_sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @classmethod
    def new_about(cls, *, person=None, organization=None, created_by=None) -> "Activity":
        """An unsaved activity. One about a person also belongs on the timeline of their main
        organization, so sales, service and marketing see it there too."""
        if person is not None and organization is None:
            organization = person.primary_organization()
        return cls(person=person, organization=organization, created_by=created_by)

    def get_absolute_url(self) -> str:
        target = self.person or self.organization or self.regarding
        return f"{target.get_absolute_url()}#activity-{self.pk}"

    @property
    def icon(self) -> str:
        return self.ICONS.get(self.kind, "dot")

    @property
    def is_overdue(self) -> bool:
        return self.kind == self.Kind.TASK and not self.done and self.due_at is not None and self.due_at < timezone.now()

    def clean(self):
        super().clean()
        if self.person_id is None and self.organization_id is None and self.regarding_id is None:
            raise ValidationError(_("An activity is about a person or an organization."))
        if self.kind == self.Kind.TASK and not self.due_at:
            raise ValidationError({"due_at": _("A task needs a due date.")})

    def mark_done(self, *, done: bool = True) -> None:
        self.done = done
        self.done_at = timezone.now() if done else None
        self.save(update_fields=["done", "done_at"])


def attachment_path(instance, filename: str) -> str:
    stem, ext = os.path.splitext(os.path.basename(filename))
    return f"attachments/{timezone.now():%Y/%m}/{stem[:80]}{ext[:10].lower()}"


class AttachmentQuerySet(ManagedRecordQuerySet):
    managed_by_field = "uploaded_by"

    def visible_to(self, user):
        from contacts.mailboxes.models import private_filter

        return super().visible_to(user).filter(private_filter(user))


class Attachment(models.Model):
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.SET_NULL, null=True
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    # An attachment of a synced email (stored once, with the email's first person).
    synced_email = models.ForeignKey(
        "contacts.SyncedEmail", on_delete=models.CASCADE, null=True, blank=True, related_name="attachments",
        editable=False,
    )
    private_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+", editable=False
    )

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False) | Q(organization__isnull=False),
                name="attachment_about_someone",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("contacts:attachment_download", args=[self.pk])

    @classmethod
    def store_upload(cls, upload, *, person=None, organization=None, user=None) -> "Attachment":
        """An uploaded file (checked by AttachmentForm) stored on a person or an organization, with
        its name, size and type as the browser or API client sent them."""
        attachment = cls(
            file=upload, name=upload.name[:200], size=upload.size,
            content_type=(getattr(upload, "content_type", "") or mimetypes.guess_type(upload.name)[0] or "")[:100],
            uploaded_by=user, person=person, organization=organization,
        )
        attachment.save()
        return attachment


class MergeRecord(models.Model):
    """What a merge did: which record survived, what the merged one held, where its relations went."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANIZATION = "organization", _("Organization")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    survivor_id = models.BigIntegerField(_("survivor"))
    merged_id = models.BigIntegerField(_("merged record"))
    merged_label = models.CharField(_("merged record name"), max_length=250)
    merged_data = models.JSONField(_("merged data"), default=dict)
    moved = models.JSONField(_("moved relations"), default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name=_("by"))
    merged_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-merged_at"]
        indexes = [models.Index(fields=["kind", "survivor_id"], name="merge_survivor_idx")]

    def __str__(self) -> str:
        return f"{self.merged_label} → #{self.survivor_id}"


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        if has_role(user, Role.ADMIN):
            return self.all()
        return self.filter(created_by=user) if is_crm_user(user) else self.none()

    editable_by = visible_to


class ImportJob(models.Model):
    """One import from a CSV or vCard file: the uploaded file, the column mapping, progress and the report."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        VCARD = "vcard", _("vCard")
        XLSX = "xlsx", _("Excel workbook")

    class Target(models.TextChoices):
        PEOPLE = "person", _("People")
        ORGANIZATIONS = "organization", _("Organizations")
        LEADS = "lead", _("Leads")  # declared by sales (sales.imports), which plugs into this machinery

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        MAPPED = "mapped", _("Mapped")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    target = models.CharField(_("import into"), max_length=20, choices=Target.choices)
    file_format = models.CharField(_("file format"), max_length=5, choices=Format.choices, default=Format.CSV)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(max_length=64, blank=True)
    encoding = models.CharField(_("encoding"), max_length=20, default="utf-8")
    delimiter = models.CharField(_("delimiter"), max_length=1, default=";")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    skipped_count = models.PositiveIntegerField(_("already present"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    errors = models.JSONField(_("rejected lines"), default=list)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name=_("by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Set when queued and at least every HEARTBEAT_SECONDS while a worker runs the job; a stale one
    # means the worker is gone (importing.imports_resume_stalled then resumes the job).
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The accepted lines whose records are committed: a resumed run continues after them.
    written_rows = models.PositiveIntegerField(default=0, editable=False)
    # How often a dead worker's run was resumed; each run writes only while this is unchanged.
    interruptions = models.PositiveIntegerField(default=0, editable=False)

    objects = ImportJobQuerySet.as_manager()

    # A running worker writes its heartbeat at least this often; after SILENT_SECONDS without one
    # the page says the import was interrupted (it is resumed after CRM_IMPORT_STALLED_SECONDS).
    HEARTBEAT_SECONDS = 5
    SILENT_SECONDS = 30

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("contacts:import_detail", args=[self.pk])

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def is_interrupted(self) -> bool:
        """The worker running it went silent, or a resumed run waits for a worker: the page says
        "interrupted, resuming" instead of showing a bar that does not move."""
        if self.status == self.Status.QUEUED:
            return self.interruptions > 0
        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return False
        return self.heartbeat_at < timezone.now() - timedelta(seconds=self.SILENT_SECONDS)


from contacts.addressbooks.models import AddressBookCard, AddressBookConflict, AddressBookConnection  # noqa: E402,F401  (models of this app)
from contacts.mailboxes.models import MailboxConnection, MailboxFolder, SyncedEmail  # noqa: E402,F401  (models of this app)
