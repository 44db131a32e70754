"""Leads, pipelines and stages, deals, products, territories, quotas and automation rules.

Record access for deals and leads: the owner edits; the owner's teammates see; the managers of the
owner's team see and edit; admins see and edit everything. An admin setting (`SalesSettings`) makes
deals and leads visible to every CRM user.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from contacts.models import ExternalIdModel, Organization
from crm.changefeed import ChangeFeedModel
from crm.models import SearchIndexedModel, managed_user_ids, teammate_ids
from crm.money import CURRENCIES, company_currency
from crm.roles import Role, has_role, is_crm_user

MONEY = {"max_digits": 14, "decimal_places": 2}
CENT = Decimal("0.01")


class SalesSettings(models.Model):
    """One row of settings that admins change in the Django admin."""

    deals_visible_to_everyone = models.BooleanField(
        _("deals and leads visible to every CRM user"),
        default=False,
        help_text=_("Off: reps see their team's deals, managers their teams'. On: everyone sees all deals."),
    )

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return str(_("Sales settings"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "SalesSettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class ExchangeRate(models.Model):
    """What one unit of a currency is worth in the company currency (CRM_CURRENCY), from
    `valid_from` on until the currency's next rate. Admins maintain the rates in the Django admin;
    `sales.money` converts with them (a deal at the rate valid on its close date)."""

    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    rate = models.DecimalField(
        _("rate"), max_digits=18, decimal_places=8, validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text=_("Value of one unit of the currency in the company currency, e.g. 1 CHF = 1.04 EUR."),
    )
    valid_from = models.DateField(_("valid from"), help_text=_("Valid from this day until the next rate of the currency."))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "valid_from"],
                name="exchangerate_unique_day",
                violation_error_message=_("This currency already has a rate from this day."),
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0), name="exchangerate_rate_positive",
                violation_error_message=_("A rate is more than zero."),
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {company_currency()} ({self.valid_from:%Y-%m-%d})"

    def clean(self):
        super().clean()
        if self.currency == company_currency():
            raise ValidationError({"currency": _("The company currency needs no rate: it is worth 1 by definition.")})


def deals_visible_to_everyone(user) -> bool:
    cached = getattr(user, "_sales_visible_all", None)
    if cached is None:
        cached = SalesSettings.objects.filter(pk=1, deals_visible_to_everyone=True).exists()
        user._sales_visible_all = cached
    return cached


class OwnedQuerySet(models.QuerySet):
    """Visibility by owner: teammates see, managers see and edit, admins everything."""

    def visible_to(self, user):
        if not is_crm_user(user):
            return self.none()
        if has_role(user, Role.ADMIN) or deals_visible_to_everyone(user):
            return self.all()
        if not has_role(user, Role.SALES_MANAGER, Role.SALES_REP):
            return self.none()
        ids = managed_user_ids(user) | teammate_ids(user)
        condition = Q(owner_id__in=ids)
        if has_role(user, Role.SALES_MANAGER):
            condition |= Q(owner__isnull=True)
        return self.filter(condition)

    def editable_by(self, user):
        if not is_crm_user(user):
            return self.none()
        if has_role(user, Role.ADMIN):
            return self.all()
        if not has_role(user, Role.SALES_MANAGER, Role.SALES_REP):
            return self.none()
        condition = Q(owner_id__in=managed_user_ids(user))
        if has_role(user, Role.SALES_MANAGER):
            condition |= Q(owner__isnull=True)
        return self.filter(condition)


def is_editable(record, user) -> bool:
    """The one-record twin of OwnedQuerySet.editable_by (no query once the user's teams are cached)."""
    if has_role(user, Role.ADMIN):
        return True
    if record.owner_id is None:
        return has_role(user, Role.SALES_MANAGER)
    return has_role(user, Role.SALES_MANAGER, Role.SALES_REP) and record.owner_id in managed_user_ids(user)


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after (days without activity)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:board") + f"?pipeline={self.pk}"

    def get_settings_url(self) -> str:
        return reverse("sales:pipeline_update", args=[self.pk])

    def first_stage(self):
        return self.stages.filter(is_won=False, is_lost=False).order_by("order", "pk").first()


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("default win probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    is_won = models.BooleanField(_("won stage"), default=False)
    is_lost = models.BooleanField(_("lost stage"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "name"],
                name="stage_unique_name",
                violation_error_message=_("This pipeline already has a stage of this name."),
            ),
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)),
                name="stage_not_won_and_lost",
                violation_error_message=_("A stage cannot be both won and lost."),
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100),
                name="stage_probability_max_100",
                violation_error_message=_("A probability is at most 100 %."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost

    @property
    def kind(self) -> str:
        """open, won or lost: deals move on deletion only to a stage of the same kind."""
        return "won" if self.is_won else "lost" if self.is_lost else "open"

    def get_absolute_url(self) -> str:
        return reverse("sales:pipeline_update", args=[self.pipeline_id]) + f"#stage-{self.pk}"


class Product(ExternalIdModel, SearchIndexedModel):
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("article number"), max_length=50, unique=True)
    description = models.TextField(_("description"), blank=True)
    unit_price = models.DecimalField(_("list price"), validators=[MinValueValidator(0)], **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default=company_currency)
    tax_rate = models.DecimalField(
        _("VAT rate (%)"), max_digits=5, decimal_places=2, default=Decimal("19.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords(excluded_fields=["search_key"])
    money_fields = ("unit_price",)  # in `currency` (crm.history shows them as money)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["is_active", "name"], name="product_active_name_idx")]
        constraints = ExternalIdModel.external_constraints("product")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def search_text(self) -> list:
        return [self.name, self.sku]


class PriceList(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default=company_currency)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_from__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="pricelist_valid_range",
                violation_error_message=_("The end of validity is before its start."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items", verbose_name=_("price list"))
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_list_items", verbose_name=_("product"))
    unit_price = models.DecimalField(_("unit price"), validators=[MinValueValidator(0)], **MONEY)

    class Meta:
        verbose_name = _("price list entry")
        verbose_name_plural = _("price list entries")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product"],
                name="pricelist_item_unique",
                violation_error_message=_("This product already has a price in this list."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.unit_price}"


class TerritoryQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.all() if has_role(user, Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP) else self.none()

    def editable_by(self, user):
        """Admins change every territory; a sales manager the territories they or a member of a
        team they lead manage (their own team's)."""
        if has_role(user, Role.ADMIN):
            return self.all()
        if not has_role(user, Role.SALES_MANAGER):
            return self.none()
        return self.filter(manager_id__in=managed_user_ids(user))


class Territory(models.Model):
    """A sales area. New leads and organizations matching one of its rules get one of its reps,
    in turn (round-robin)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers are checked first.")
    )
    reps = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("reps"), related_name="sales_territories", blank=True
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="managed_territories",
    )
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = TerritoryQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["last_assigned"])

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:territory_list") + f"#territory-{self.pk}"


class TerritoryRule(models.Model):
    """All filled conditions must match: country, postal code range (as text, prefix-padded), industry."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="rules", verbose_name=_("territory"))
    country = CountryField(_("country"), blank=True)
    postal_code_from = models.CharField(_("postal code from"), max_length=12, blank=True)
    postal_code_to = models.CharField(_("postal code to"), max_length=12, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Organization.Industry.choices, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("territory rule")
        verbose_name_plural = _("territory rules")
        ordering = ["territory", "pk"]

    def __str__(self) -> str:
        parts = [str(self.country.name) if self.country else "", self.get_industry_display() if self.industry else ""]
        if self.postal_code_from or self.postal_code_to:
            parts.append(f"{self.postal_code_from}–{self.postal_code_to}")
        return " · ".join(p for p in parts if p) or str(_("everything"))

    def clean(self):
        super().clean()
        if self.postal_code_from and self.postal_code_to and self.postal_code_from > self.postal_code_to:
            raise ValidationError({"postal_code_to": _("The range ends before it starts.")})

    def matches(self, *, country: str = "", postal_code: str = "", industry: str = "") -> bool:
        if self.country and str(self.country) != (country or ""):
            return False
        if self.industry and self.industry != industry:
            return False
        code = (postal_code or "").strip()
        if self.postal_code_from or self.postal_code_to:
            if not code:
                return False
            width = max(len(self.postal_code_from), len(self.postal_code_to))
            probe = code[:width]
            if self.postal_code_from and probe < self.postal_code_from:
                return False
            if self.postal_code_to and probe > self.postal_code_to:
                return False
        return True


class LeadQuerySet(OwnedQuerySet):
    def open(self):
        return self.exclude(status__in=[Lead.Status.DISQUALIFIED, Lead.Status.CONVERTED])


class Lead(ChangeFeedModel, SearchIndexedModel):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    class Rating(models.TextChoices):
        COLD = "cold", _("Cold")
        WARM = "warm", _("Warm")
        HOT = "hot", _("Hot")

    class Source(models.TextChoices):
        WEBSITE = "website", _("Website")
        WEB_FORM = "web_form", _("Web form")
        REFERRAL = "referral", _("Referral")
        TRADE_FAIR = "trade_fair", _("Trade fair")
        COLD_CALL = "cold_call", _("Cold call")
        CAMPAIGN = "campaign", _("Campaign")
        PARTNER = "partner", _("Partner")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    class DisqualifyReason(models.TextChoices):
        NO_BUDGET = "no_budget", _("No budget")
        NO_NEED = "no_need", _("No need")
        NO_AUTHORITY = "no_authority", _("No decision authority")
        COMPETITOR = "competitor", _("Chose a competitor")
        UNREACHABLE = "unreachable", _("Not reachable")
        SPAM = "spam", _("Spam or fake")
        OTHER = "other", _("Other")

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    position = models.CharField(_("position"), max_length=100, blank=True)
    country = CountryField(_("country"), default="DE", blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Organization.Industry.choices, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.OTHER)
    campaign_code = models.CharField(_("campaign code"), max_length=64, blank=True, db_index=True)
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    disqualify_reason = models.CharField(
        _("reason for disqualification"), max_length=20, choices=DisqualifyReason.choices, blank=True
    )
    rating = models.CharField(_("rating"), max_length=10, choices=Rating.choices, default=Rating.WARM)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="sales_leads",
    )
    territory = models.ForeignKey(
        Territory, verbose_name=_("territory"), on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    note = models.TextField(_("notes"), blank=True)
    converted_person = models.ForeignKey(
        "contacts.Person", verbose_name=_("converted to person"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="converted_leads",
    )
    converted_organization = models.ForeignKey(
        "contacts.Organization", verbose_name=_("converted to organization"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="converted_leads",
    )
    converted_deal = models.ForeignKey(
        "Deal", verbose_name=_("converted to deal"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)  # crm.customfields
    history = HistoricalRecords(excluded_fields=["search_key", "updated_at"])
    objects = LeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="disqualified") | ~Q(disqualify_reason=""),
                name="lead_disqualified_has_reason",
                violation_error_message=_("A disqualified lead needs a reason."),
            )
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            models.Index(fields=["owner", "-created_at"], name="lead_owner_idx"),
            models.Index(fields=["source", "-created_at"], name="lead_source_idx"),
            models.Index(fields=["rating", "-created_at"], name="lead_rating_idx"),
            models.Index(fields=["email"], name="lead_email_idx"),
            models.Index(fields=["last_name", "first_name"], name="lead_name_idx"),
            models.Index(fields=["company"], name="lead_company_idx"),
            models.Index(fields=["-created_at"], name="lead_created_idx"),
        ]

    def __str__(self) -> str:
        name = " ".join(p for p in [self.first_name, self.last_name] if p)
        return f"{name} ({self.company})" if self.company else name

    def get_absolute_url(self) -> str:
        return reverse("sales:lead_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return " ".join(p for p in [self.first_name, self.last_name] if p)

    @property
    def is_open(self) -> bool:
        return self.status not in {self.Status.DISQUALIFIED, self.Status.CONVERTED}

    def is_editable_by(self, user) -> bool:
        return is_editable(self, user)

    def search_text(self) -> list:
        return [self.first_name, self.last_name, self.email, self.company, self.phone, self.city]

    def clean(self):
        super().clean()
        if self.status == self.Status.DISQUALIFIED and not self.disqualify_reason:
            raise ValidationError({"disqualify_reason": _("A disqualified lead needs a reason.")})

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        if self.status != self.Status.DISQUALIFIED:
            self.disqualify_reason = ""
        super().save(*args, **kwargs)


class DealQuerySet(OwnedQuerySet):
    def open(self):
        return self.filter(status=Deal.Status.OPEN)

    def won(self):
        return self.filter(status=Deal.Status.WON)

    def stale(self, now=None):
        """Open deals whose last activity is older than their pipeline's limit."""
        now = now or timezone.now()
        condition = Q(pk__in=[])
        for pipeline_id, days in Pipeline.objects.values_list("pk", "stale_after_days"):
            condition |= Q(pipeline_id=pipeline_id, last_activity_at__lt=now - timedelta(days=days))
        return self.open().filter(condition)

    def with_board_fields(self):
        return self.select_related("organization", "owner", "stage").only(
            "pk", "name", "amount", "currency", "expected_close_date", "status", "stage_entered_at",
            "last_activity_at", "pipeline_id", "stage_id", "stage__is_won", "stage__is_lost", "stage__name",
            "organization__name", "owner__username", "owner__first_name", "owner__last_name", "owner_id",
            "probability",
        )


class Deal(ChangeFeedModel, ExternalIdModel, SearchIndexedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    class ForecastCategory(models.TextChoices):
        PIPELINE = "pipeline", _("Pipeline")
        BEST_CASE = "best_case", _("Best case")
        COMMIT = "commit", _("Commit")
        OMITTED = "omitted", _("Omitted")

    class LostReason(models.TextChoices):
        PRICE = "price", _("Price")
        COMPETITOR = "competitor", _("Competitor")
        NO_DECISION = "no_decision", _("No decision")
        TIMING = "timing", _("Timing")
        PRODUCT_FIT = "product_fit", _("Product does not fit")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals")
    organization = models.ForeignKey(
        "contacts.Organization", verbose_name=_("organization"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="deals",
    )
    contacts = models.ManyToManyField(
        "contacts.Person", through="DealContact", verbose_name=_("contact people"), related_name="deals", blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="sales_deals",
    )
    territory = models.ForeignKey(
        Territory, verbose_name=_("territory"), on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    amount = models.DecimalField(_("amount"), default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default=company_currency)
    # The amount in the company currency by the rule of sales.money (NULL: no exchange rate for the
    # deal's currency on its day). Written by save() and sales.services.deals_convert, never typed;
    # totals add it up. Code that changes amount, currency or the dates with QuerySet.update() or
    # bulk inserts calls deals_convert afterwards.
    converted_amount = models.DecimalField(_("amount in the company currency"), null=True, blank=True, editable=False, **MONEY)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    probability_overridden = models.BooleanField(
        _("probability set by hand"), default=False,
        help_text=_("Otherwise the probability follows the stage."),
    )
    forecast_category = models.CharField(
        _("forecast category"), max_length=10, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Lead.Source.choices, blank=True)
    campaign_code = models.CharField(_("campaign code"), max_length=64, blank=True, db_index=True)
    competitor = models.CharField(_("competitor"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    lost_reason = models.CharField(_("reason lost"), max_length=20, choices=LostReason.choices, blank=True)
    close_note = models.TextField(_("won/lost note"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    lead = models.ForeignKey(
        Lead, verbose_name=_("from lead"), on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)  # crm.customfields
    history = HistoricalRecords(excluded_fields=["search_key", "updated_at", "last_activity_at", "converted_amount"])
    objects = DealQuerySet.as_manager()
    money_fields = ("amount",)  # in `currency` (crm.history shows them as money)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__lte=100),
                name="deal_probability_max_100",
                violation_error_message=_("A probability is at most 100 %."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="deal_amount_not_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(status="lost") | ~Q(lost_reason=""),
                name="deal_lost_has_reason",
                violation_error_message=_("A lost deal needs a reason."),
            ),
            *ExternalIdModel.external_constraints("deal"),
        ]
        indexes = [
            models.Index(fields=["stage", "status", "-amount"], name="deal_stage_idx"),
            models.Index(fields=["pipeline", "status", "stage"], name="deal_pipeline_idx"),
            models.Index(fields=["owner", "status", "-created_at"], name="deal_owner_idx"),
            models.Index(fields=["status", "-created_at"], name="deal_status_idx"),
            models.Index(fields=["status", "expected_close_date"], name="deal_close_date_idx"),
            models.Index(fields=["-amount", "-id"], name="deal_amount_idx"),
            models.Index(fields=["name", "id"], name="deal_name_idx"),
            models.Index(fields=["expected_close_date", "id"], name="deal_close_sort_idx"),
            models.Index(fields=["organization", "status"], name="deal_org_idx"),
            models.Index(fields=["territory", "status"], name="deal_territory_idx"),
            models.Index(fields=["status", "closed_at"], name="deal_closed_idx"),
            models.Index(fields=["status", "last_activity_at"], name="deal_activity_idx"),
            models.Index(fields=["-created_at", "-id"], name="deal_created_idx"),
            # The board's column totals read only this index (an index-only scan on Postgres).
            models.Index(
                fields=["pipeline", "status", "stage", "owner", "closed_at", "converted_amount"],
                name="deal_board_totals_idx",
            ),
            models.Index(fields=["stage", "status", "-amount", "-id"], name="deal_board_cards_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:deal_detail", args=[self.pk])

    def search_text(self) -> list:
        return [self.name, self.competitor, self.next_step]

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def next_stage(self):
        """The open stage after this deal's stage in its pipeline, or None: from the last open stage
        a deal goes on with "Mark as won" (or lost), which ask for what closing needs."""
        if not self.is_open or self.stage is None:
            return None
        return (
            self.pipeline.stages.filter(is_won=False, is_lost=False)
            .filter(models.Q(order__gt=self.stage.order) | models.Q(order=self.stage.order, pk__gt=self.stage.pk))
            .order_by("order", "pk")
            .first()
        )

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / 100).quantize(CENT, ROUND_HALF_UP)

    @property
    def days_in_stage(self) -> int:
        return max(0, (timezone.now() - self.stage_entered_at).days)

    def is_stale(self, now=None) -> bool:
        now = now or timezone.now()
        return self.is_open and self.last_activity_at < now - timedelta(days=self.pipeline.stale_after_days)

    def is_editable_by(self, user) -> bool:
        return is_editable(self, user)

    def clean(self):
        super().clean()
        if self.stage_id and self.pipeline_id and self.stage.pipeline_id != self.pipeline_id:
            raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
        if self.status == self.Status.LOST and not self.lost_reason:
            raise ValidationError({"lost_reason": _("A lost deal needs a reason.")})

    CONVERSION_FIELDS = frozenset({"amount", "currency", "closed_at", "expected_close_date"})

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or self.CONVERSION_FIELDS & set(update_fields):
            from sales.money import converted_amount_of

            self.converted_amount = converted_amount_of(self)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "converted_amount"}
        super().save(*args, **kwargs)

    def amount_from_line_items(self) -> tuple[Decimal, Decimal] | None:
        """A deal with line items is worth their total: set and save the amount when it differs
        (the history records the change with its reason) and return (old, new). A deal without line
        items keeps the amount typed for it (None)."""
        total = self.line_items.aggregate(total=models.Sum("total"))["total"]
        if total is None or total == self.amount:
            return None
        old, self.amount = self.amount, total
        self._change_reason = str(_("Amount set to the total of the line items"))
        self.save(update_fields=["amount", "updated_at"])
        del self._change_reason
        return old, total


class DealContact(models.Model):
    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        CHAMPION = "champion", _("Champion")
        INFLUENCER = "influencer", _("Influencer")
        TECHNICAL = "technical", _("Technical contact")
        USER = "user", _("User")
        PURCHASING = "purchasing", _("Purchasing")
        OTHER = "other", _("Other")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts", verbose_name=_("deal"))
    person = models.ForeignKey(
        "contacts.Person", on_delete=models.CASCADE, related_name="deal_roles", verbose_name=_("person")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OTHER)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact person of a deal")
        verbose_name_plural = _("contact people of deals")
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "person"],
                name="dealcontact_unique",
                violation_error_message=_("This person is already a contact of this deal."),
            )
        ]
        indexes = [models.Index(fields=["person", "deal"], name="dealcontact_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} ({self.get_role_display()})"


class LineItem(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items", verbose_name=_("deal"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="line_items", verbose_name=_("product")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=10, decimal_places=2, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("99999999"))],
    )
    unit_price = models.DecimalField(_("unit price"), validators=[MinValueValidator(0)], **MONEY)
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    total = models.DecimalField(_("total"), default=Decimal("0"), editable=False, **MONEY)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("line item")
        verbose_name_plural = _("line items")
        ordering = ["deal", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="lineitem_discount_range",
                violation_error_message=_("The discount is between 0 and 100 %."),
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="lineitem_quantity_positive",
                violation_error_message=_("The quantity must be positive."),
            ),
        ]

    def __str__(self) -> str:
        return self.description or str(self.product_id or "")

    def compute_total(self) -> Decimal:
        gross = (self.quantity or 0) * (self.unit_price or 0)
        return (gross * (Decimal("100") - (self.discount_percent or 0)) / 100).quantize(CENT, ROUND_HALF_UP)

    def clean(self):
        super().clean()
        if not self.product_id and not self.description:
            raise ValidationError({"description": _("Choose a product or describe the item.")})

    def save(self, *args, **kwargs):
        self.total = self.compute_total()
        super().save(*args, **kwargs)


class StageChange(models.Model):
    """A deal entered `to_stage` at `changed_at` and left it at `left_at` (null while it is there)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("deal"))
    from_stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("from stage")
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+", verbose_name=_("to stage"))
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["deal", "changed_at", "pk"]
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="stagechange_deal_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_stage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"

    @property
    def duration(self) -> timedelta:
        return (self.left_at or timezone.now()) - self.changed_at

    @property
    def duration_days(self) -> int:
        return self.duration.days


class QuotaQuerySet(models.QuerySet):
    def editable_by(self, user):
        """Admins set every quota; a sales manager those of the members of the teams they lead."""
        if has_role(user, Role.ADMIN):
            return self.all()
        if not has_role(user, Role.SALES_MANAGER):
            return self.none()
        return self.filter(user_id__in=managed_user_ids(user) - {user.pk})


class Quota(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_quotas", verbose_name=_("rep")
    )
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, default=Period.MONTH)
    period_start = models.DateField(_("period start"))
    amount = models.DecimalField(_("quota"), validators=[MinValueValidator(0)], **MONEY)

    objects = QuotaQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["-period_start", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period", "period_start"],
                name="quota_unique_period",
                violation_error_message=_("This rep already has a quota for this period."),
            )
        ]
        indexes = [models.Index(fields=["period", "period_start"], name="quota_period_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} {self.period_start}: {self.amount}"

    def clean(self):
        super().clean()
        if self.period_start and self.period_start.day != 1:
            raise ValidationError({"period_start": _("A period starts on the first of a month.")})
        if self.period == self.Period.QUARTER and self.period_start and self.period_start.month not in (1, 4, 7, 10):
            raise ValidationError({"period_start": _("A quarter starts in January, April, July or October.")})


class AutomationRule(models.Model):
    class Trigger(models.TextChoices):
        DEAL_STAGE = "deal_stage", _("Deal enters a stage")
        LEAD_STATUS = "lead_status", _("Lead gets a status")

    class Action(models.TextChoices):
        CREATE_TASK = "create_task", _("Create a task for the owner")
        NOTIFY_OWNER = "notify_owner", _("Email the owner")
        NOTIFY_MANAGER = "notify_manager", _("Email the owner's managers")
        SET_FIELD = "set_field", _("Set a field")

    SETTABLE_FIELDS = {
        "deal": ("next_step", "forecast_category", "probability", "competitor"),
        "lead": ("rating",),
    }

    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("when"), max_length=20, choices=Trigger.choices)
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.CASCADE, null=True, blank=True, related_name="automation_rules"
    )
    lead_status = models.CharField(_("lead status"), max_length=20, choices=Lead.Status.choices, blank=True)
    action = models.CharField(_("then"), max_length=20, choices=Action.choices)
    task_subject = models.CharField(_("task subject / email subject"), max_length=200, blank=True)
    task_due_days = models.PositiveSmallIntegerField(_("task due in (days)"), default=1)
    field_name = models.CharField(_("field"), max_length=50, blank=True)
    field_value = models.CharField(_("value"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["name"]
        indexes = [models.Index(fields=["trigger", "is_active"], name="rule_trigger_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.trigger == self.Trigger.DEAL_STAGE and not self.stage_id:
            raise ValidationError({"stage": _("Choose the stage that triggers the rule.")})
        if self.trigger == self.Trigger.LEAD_STATUS and not self.lead_status:
            raise ValidationError({"lead_status": _("Choose the status that triggers the rule.")})
        if self.action == self.Action.SET_FIELD:
            target = "deal" if self.trigger == self.Trigger.DEAL_STAGE else "lead"
            if self.field_name not in self.SETTABLE_FIELDS[target]:
                raise ValidationError(
                    {"field_name": _("Choose one of: %(fields)s.") % {"fields": ", ".join(self.SETTABLE_FIELDS[target])}}
                )
        if self.action == self.Action.CREATE_TASK and not self.task_subject:
            raise ValidationError({"task_subject": _("A task needs a subject.")})


class AutomationRun(models.Model):
    """One execution of a rule for one event. The unique key is claimed before the action runs,
    so an event processed twice runs each rule once."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs", verbose_name=_("rule"))
    event_key = models.CharField(_("event"), max_length=100)
    deal = models.ForeignKey(Deal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CLAIMED)
    message = models.TextField(_("result"), blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("automation run")
        verbose_name_plural = _("automation runs")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_key"], name="automation_run_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} · {self.event_key}"
