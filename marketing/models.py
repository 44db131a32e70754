"""Marketing: segments, campaigns and their members, consent, email templates, sends with
tracking, bounced addresses, and web forms.

Record access: marketing and admins change marketing records; sales roles read them; service
roles see a person's campaign history only on that person's timeline.
"""

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contacts.models import Person
from crm.models import SearchIndexedModel
from crm.roles import SALES_ROLES, Role, has_role

READ_ROLES = (Role.ADMIN, Role.MARKETING, *SALES_ROLES)
EDIT_ROLES = (Role.ADMIN, Role.MARKETING)


class MarketingQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.all() if has_role(user, *READ_ROLES) else self.none()

    def editable_by(self, user):
        return self.all() if has_role(user, *EDIT_ROLES) else self.none()


def can_edit_marketing(user) -> bool:
    return has_role(user, *EDIT_ROLES)


class Segment(SearchIndexedModel):
    """A saved, dynamic filter over people (and their organizations); evaluated when used."""

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("filter"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="marketing_segments",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["search_key", "updated_at"])
    objects = MarketingQuerySet.as_manager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["name", "id"], name="segment_name_idx"),
            models.Index(fields=["-updated_at"], name="segment_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:segment_detail", args=[self.pk])

    def search_text(self) -> list:
        return [self.name, self.description]

    def people(self):
        from marketing.segments import people_matching

        return people_matching(self.definition)


class EmailTemplate(models.Model):
    """Subject and body with placeholders such as {{ salutation }} and {{ organization }}."""

    class Language(models.TextChoices):
        GERMAN = "de", _("German")
        ENGLISH = "en", _("English")

    name = models.CharField(_("name"), max_length=150)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.GERMAN)
    subject = models.CharField(_("subject"), max_length=200)
    body_html = models.TextField(_("HTML body"))
    body_text = models.TextField(_("plain-text body"), blank=True, help_text=_("Left empty, it is made from the HTML body."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = MarketingQuerySet.as_manager()

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["name", "id"], name="emailtemplate_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_language_display()})"

    def get_absolute_url(self) -> str:
        return reverse("marketing:template_detail", args=[self.pk])


class CampaignQuerySet(MarketingQuerySet):
    def running(self, today):
        """Campaigns under way: being sent or active and started (or without a start date), and
        sent ones whose period has not ended yet (their answers are still coming in)."""
        started = Q(start_date__isnull=True) | Q(start_date__lte=today)
        return self.filter(
            Q(status__in=[Campaign.Status.SENDING, Campaign.Status.ACTIVE]) & started
            | Q(status=Campaign.Status.SENT, end_date__gte=today) & started
        )

    def scheduled(self, today):
        """Campaigns planned to start after `today` (drafts and active ones with a later start)."""
        return self.filter(status__in=[Campaign.Status.DRAFT, Campaign.Status.ACTIVE], start_date__gt=today)


class Campaign(SearchIndexedModel):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone call list")
        MAIL = "mail", _("Direct mail")
        SOCIAL = "social", _("Social media")
        EVENT = "event", _("Event or webinar")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        ACTIVE = "active", _("Active")
        DONE = "done", _("Done")

    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(
        _("code"), max_length=60, unique=True,
        help_text=_("Short unique code; used as utm_campaign to attribute leads and deals to this campaign."),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    goal = models.TextField(_("goal"), blank=True)
    budget = models.DecimalField(_("budget (EUR)"), max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    cost = models.DecimalField(_("actual cost (EUR)"), max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    start_date = models.DateField(_("start"), null=True, blank=True)
    end_date = models.DateField(_("end"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="marketing_campaigns",
    )
    segments = models.ManyToManyField(Segment, verbose_name=_("target segments"), blank=True, related_name="campaigns")
    template = models.ForeignKey(
        EmailTemplate, verbose_name=_("email template"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="campaigns",
    )
    # What was sent, frozen when the send starts: later template edits do not change tracked links.
    sent_subject = models.CharField(max_length=200, blank=True, editable=False)
    sent_html = models.TextField(blank=True, editable=False)
    sent_text = models.TextField(blank=True, editable=False)
    sent_language = models.CharField(max_length=2, blank=True, editable=False)
    links = models.JSONField(default=list, blank=True, editable=False)
    send_started_at = models.DateTimeField(_("send started"), null=True, blank=True, editable=False)
    # Set when the recipient list (one Delivery per recipient) is complete; the send is done only after.
    recipients_ready_at = models.DateTimeField(_("recipients listed"), null=True, blank=True, editable=False)
    send_finished_at = models.DateTimeField(_("send finished"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["search_key", "updated_at", "sent_subject", "sent_html", "sent_text", "links", "sent_language"]
    )
    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="campaign_dates_in_order",
                violation_error_message=_("The end cannot be before the start."),
            )
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="campaign_name_idx"),
            models.Index(fields=["channel", "-created_at"], name="campaign_channel_idx"),
            models.Index(fields=["status", "-created_at"], name="campaign_status_idx"),
            models.Index(fields=["owner", "-created_at"], name="campaign_owner_idx"),
            models.Index(fields=["-start_date"], name="campaign_start_idx"),
            models.Index(fields=["-created_at"], name="campaign_created_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:campaign_detail", args=[self.pk])

    def search_text(self) -> list:
        return [self.name, self.code, self.goal]

    @property
    def is_email(self) -> bool:
        return self.channel == self.Channel.EMAIL

    @property
    def can_start_send(self) -> bool:
        return self.is_email and self.status == self.Status.DRAFT and self.template_id is not None


class CampaignMember(models.Model):
    class Status(models.TextChoices):
        TARGETED = "targeted", _("Targeted")
        SENT = "sent", _("Sent")
        RESPONDED = "responded", _("Responded")
        CONVERTED = "converted", _("Converted")
        OPTED_OUT = "opted_out", _("Opted out")

    class CallOutcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        CALL_BACK = "call_back", _("Call back")
        NOT_INTERESTED = "not_interested", _("Not interested")
        APPOINTMENT = "appointment", _("Appointment")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="campaign_memberships")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.TARGETED)
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    call_outcome = models.CharField(_("call outcome"), max_length=15, choices=CallOutcome.choices, blank=True)
    call_note = models.CharField(_("call note"), max_length=500, blank=True)
    called_at = models.DateTimeField(_("called"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("called by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )

    objects = MarketingQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "person"], name="campaignmember_unique",
                violation_error_message=_("This person is already a member of the campaign."),
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="member_status_idx"),
            models.Index(fields=["person", "-added_at"], name="member_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.campaign_id}"

    def get_absolute_url(self) -> str:
        return reverse("marketing:campaign_detail", args=[self.campaign_id])


class Consent(models.Model):
    """The current consent of one person for one purpose on one channel; ConsentEvent keeps every change."""

    class Purpose(models.TextChoices):
        NEWSLETTER = "newsletter", _("Newsletter and offers")
        EVENTS = "events", _("Event invitations")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        MAIL = "mail", _("Postal mail")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting confirmation")
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in confirmation")
        PREFERENCES = "preferences", _("Preference centre")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
        STAFF = "staff", _("Entered by staff")
        IMPORT = "import", _("Import")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices, default=Purpose.NEWSLETTER)
    channel = models.CharField(_("channel"), max_length=6, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(_("source"), max_length=15, choices=Source.choices)
    text_version = models.CharField(_("consent text version"), max_length=40, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["person", "purpose", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose", "channel"], name="consent_unique_person_purpose_channel",
                violation_error_message=_("This person already has a consent for this purpose and channel."),
            )
        ]
        indexes = [models.Index(fields=["purpose", "channel", "status", "person"], name="consent_valid_idx")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} / {self.get_channel_display()}: {self.get_status_display()}"


class ConsentEvent(models.Model):
    class Action(models.TextChoices):
        REQUESTED = "requested", _("Requested (confirmation email sent)")
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="events")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consent_events")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Consent.Purpose.choices)
    channel = models.CharField(_("channel"), max_length=6, choices=Consent.Channel.choices)
    source = models.CharField(_("source"), max_length=15, choices=Consent.Source.choices)
    text_version = models.CharField(_("consent text version"), max_length=40, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = MarketingQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["person", "-occurred_at"], name="consentevent_person_idx"),
            # The marketing dashboard counts changes per week or month of a period.
            models.Index(fields=["occurred_at", "action"], name="consentevent_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.get_purpose_display()} ({self.get_channel_display()})"


class EmailAddressStatus(models.Model):
    """Addresses that must not be mailed again: hard bounces (kept here, not on the person)."""

    class Status(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")

    email = models.EmailField(_("email"), unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.HARD_BOUNCE)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked email address")
        verbose_name_plural = _("blocked email addresses")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.email}: {self.get_status_display()}"


class Delivery(models.Model):
    """One email of a campaign to one person: unique per campaign and person, claimed before sending.

    pending -> claimed (by one sender, with its claim token) -> sent | bounced | failed.
    A failed attempt that may succeed later puts the row back to pending, due at `next_attempt_at`;
    after CRM_EMAIL_MAX_ATTEMPTS it fails, with the reason in `error` (marketing.sending).
    The sender commits `sent` after the message body reached the server and just before the
    final "." that makes the server accept it (marketing.sending), so a killed worker leaves
    rows either claimed (the server discarded the unfinished message; sent again) or sent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("Being sent")
        SENT = "sent", _("Sent")
        BOUNCED = "bounced", _("Bounced")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="campaign_deliveries")
    email = models.EmailField()
    batch = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # After a failed attempt the row waits (backoff) and is not claimed before this time.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "person"], name="delivery_unique_campaign_person",
                violation_error_message=_("This person already has a message in this campaign."),
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "batch", "status"], name="delivery_batch_idx"),
            models.Index(fields=["campaign", "status"], name="delivery_status_idx"),
            models.Index(fields=["person"], name="delivery_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class TrackingEvent(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", _("Opened")
        CLICK = "click", _("Clicked")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tracking_events")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tracking_events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    url = models.URLField(max_length=1000, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["person", "-occurred_at"], name="tracking_person_idx"),
            models.Index(fields=["campaign", "kind"], name="tracking_campaign_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.url}".strip()


def new_form_key() -> str:
    return secrets.token_urlsafe(9)


class WebForm(SearchIndexedModel):
    """A lead-capture form a company puts on its website (public page or embedded snippet)."""

    class Field(models.TextChoices):
        SALUTATION = "salutation", _("Salutation")
        FIRST_NAME = "first_name", _("First name")
        COMPANY = "company", _("Company")
        PHONE = "phone", _("Phone")
        POSTAL_CODE = "postal_code", _("Postal code")
        CITY = "city", _("City")
        MESSAGE = "message", _("Message")

    name = models.CharField(_("name"), max_length=150)
    key = models.SlugField(_("public key"), max_length=20, unique=True, default=new_form_key, editable=False)
    title = models.CharField(_("heading on the form"), max_length=200)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.SET_NULL, null=True, blank=True, related_name="web_forms"
    )
    consent_text = models.TextField(
        _("consent text"),
        default="Ja, ich möchte den Newsletter mit Angeboten per E-Mail erhalten. Ich kann die Einwilligung jederzeit widerrufen.",
    )
    consent_text_version = models.CharField(_("consent text version"), max_length=40, default="2026-01")
    thank_you = models.CharField(_("thank-you text"), max_length=300, default="Vielen Dank! Wir melden uns bei Ihnen.")
    is_active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["search_key", "updated_at"])
    objects = MarketingQuerySet.as_manager()

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["name", "id"], name="webform_name_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:webform_detail", args=[self.pk])

    def get_public_url(self) -> str:
        return reverse("marketing:form_public", args=[self.key])

    def embed_snippet(self, base: str) -> str:
        """The iframe a customer pastes into their own website; the title is escaped, so a quote
        or a tag in it cannot break out of the attribute into the customer's page."""
        return format_html(
            '<iframe src="{}?embed=1" title="{}" style="width:100%;min-height:640px;border:0" loading="lazy"></iframe>',
            base + self.get_public_url(), self.title,
        )

    def search_text(self) -> list:
        return [self.name, self.title]


class WebFormSubmission(models.Model):
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="form_submissions")
    data = models.JSONField(default=dict)
    utm = models.JSONField(default=dict, blank=True)
    wants_newsletter = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["form", "-created_at"], name="submission_form_idx"),
            # The newest entries of all forms (the marketing start page).
            models.Index(fields=["-created_at", "-id"], name="submission_created_idx"),
            models.Index(fields=["person", "-created_at"], name="submission_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.created_at:%Y-%m-%d %H:%M}"


class SuppressedAddress(models.Model):
    """An erased person's email address, kept only as a keyed hash (HMAC-SHA-256 with SECRET_KEY)
    so that it is never mailed again (GDPR art. 17 erasure without losing the objection to
    marketing). See marketing.privacy."""

    email_hash = models.CharField(_("email hash (HMAC-SHA-256)"), max_length=64, unique=True)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("suppressed email address")
        verbose_name_plural = _("suppressed email addresses")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return self.email_hash[:12]
