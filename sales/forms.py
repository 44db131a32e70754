"""Forms of the sales app: they validate and convert; workflows live in services."""

from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.forms import inlineformset_factory
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization, Person
from crm.customfields import CustomFieldsFormMixin
from crm.forms import SafeModelChoiceField
from crm.models import managed_user_ids
from crm.roles import Role, has_role
from crm.widgets import AutocompleteModelChoiceField
from sales.models import Deal, DealContact, Lead, LineItem, Pipeline, Product, Quota, Stage, Territory, TerritoryRule


def sales_users():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


UserChoiceField = SafeModelChoiceField  # users by name: crm.forms.UserNamesMixin


class StageChoiceField(SafeModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.pipeline.name} · {obj.name}"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def open_stages():
    return Stage.objects.filter(pipeline__is_active=True, is_won=False, is_lost=False).select_related("pipeline").order_by(
        "pipeline__position", "pipeline__name", "order"
    )


class DealForm(CustomFieldsFormMixin, forms.ModelForm):
    stage = StageChoiceField(label=_("Pipeline and stage"), queryset=open_stages())
    organization = AutocompleteModelChoiceField(
        Organization.objects.all(), url_name="contacts:organization_autocomplete", label=_("Organization"), required=False
    )
    owner = UserChoiceField(label=_("Owner"), queryset=sales_users(), required=False)

    class Meta:
        model = Deal
        fields = [
            "name", "organization", "stage", "owner", "amount", "currency", "expected_close_date", "probability",
            "probability_overridden", "forecast_category", "next_step", "source", "campaign_code", "competitor",
            "territory",
        ]
        widgets = {"expected_close_date": DateInput()}
        help_texts = {
            "amount": _("Without line items: the amount you type. With line items it becomes their total."),
            "currency": _("The amount and the prices of the line items are in this currency."),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.has_line_items = bool(self.instance.pk) and self.instance.line_items.exists()
        if self.has_line_items:
            # The amount is the line items' total (Deal.amount_from_line_items): shown, not typed.
            self.fields["amount"].disabled = True
            self.fields["amount"].help_text = _(
                "The total of the line items below: change them to change the amount."
            )
        self.fields["organization"].queryset = Organization.objects.visible_to(user)
        self.fields["territory"].queryset = Territory.objects.filter(is_active=True)
        self.fields["probability"].required = False
        if self.instance.pk and not self.instance.is_open:
            # A closed deal changes stage only by reopening it.
            del self.fields["stage"]
        if not self.instance.pk and user is not None and "owner" not in self.initial:
            self.initial["owner"] = user.pk
        self.add_custom_fields(user)

    def clean(self):
        cleaned = super().clean()
        stage = cleaned.get("stage")
        if stage is not None:
            self.instance.pipeline = stage.pipeline
            if not cleaned.get("probability_overridden") or cleaned.get("probability") is None:
                cleaned["probability"] = stage.probability
                cleaned["probability_overridden"] = False
        elif cleaned.get("probability") is None:
            cleaned["probability"] = self.instance.probability
        return cleaned


class LineItemForm(forms.ModelForm):
    product = SafeModelChoiceField(label=_("Product"), queryset=Product.objects.filter(is_active=True), required=False)

    class Meta:
        model = LineItem
        fields = ["product", "description", "quantity", "unit_price", "discount_percent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_price"].required = False
        self.fields["unit_price"].help_text = _("In the deal's currency; empty: the product's list price.")

    def clean(self):
        cleaned = super().clean()
        product = cleaned.get("product")
        if product is not None and cleaned.get("unit_price") is None and "unit_price" not in self.errors:
            deal_currency = self._deal_currency()
            if deal_currency and product.currency != deal_currency:
                # A list price in another currency is not silently taken as this deal's currency.
                self.add_error("unit_price", _(
                    "The list price of “%(product)s” is in %(product_currency)s, the deal is in %(deal_currency)s: "
                    "enter the unit price in %(deal_currency)s."
                ) % {"product": product.name, "product_currency": product.currency, "deal_currency": deal_currency})
            else:
                cleaned["unit_price"] = product.unit_price
        elif product is None and cleaned.get("unit_price") is None and "unit_price" not in self.errors:
            self.add_error("unit_price", _("Enter a unit price or choose a product."))
        return cleaned

    def _deal_currency(self) -> str:
        try:
            return self.instance.deal.currency
        except LineItem.deal.RelatedObjectDoesNotExist:
            return ""


LineItemFormSet = inlineformset_factory(Deal, LineItem, form=LineItemForm, extra=1, can_delete=True, max_num=100, validate_max=True)


class LostForm(forms.Form):
    lost_reason = forms.ChoiceField(label=_("Reason"), choices=Deal.LostReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class WonForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DealContactForm(forms.ModelForm):
    """A contact of a deal: one of the people of the deal's organization, picked by name."""

    person = AutocompleteModelChoiceField(
        Person.objects.none(), url_name="contacts:person_autocomplete", label=_("Person"),
        help_text=_("Type a name: people of the deal's organization are suggested."),
    )

    class Meta:
        model = DealContact
        fields = ["person", "role"]

    def __init__(self, *args, deal=None, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.deal = deal
        if deal is not None and deal.organization_id:
            field = self.fields["person"]
            field.queryset = Person.objects.visible_to(user).filter(employments__organization_id=deal.organization_id)
            field.widget.params = {"organization": deal.organization_id}

    def clean_person(self):
        person = self.cleaned_data["person"]
        if self.deal is not None and DealContact.objects.filter(deal=self.deal, person=person).exists():
            raise forms.ValidationError(_("This person is already a contact of this deal."))
        return person


class TaskForm(forms.Form):
    subject = forms.CharField(label=_("Task"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )


class LeadForm(CustomFieldsFormMixin, forms.ModelForm):
    owner = UserChoiceField(label=_("Owner"), queryset=sales_users(), required=False)

    class Meta:
        model = Lead
        fields = [
            "first_name", "last_name", "email", "phone", "company", "position", "country", "postal_code", "city",
            "industry", "source", "campaign_code", "status", "disqualify_reason", "rating", "owner", "note",
        ]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [c for c in Lead.Status.choices if c[0] != Lead.Status.CONVERTED]
        self.add_custom_fields(user)


class LeadConvertForm(forms.Form):
    create_deal = forms.BooleanField(label=_("Create a deal"), required=False, initial=True)
    deal_name = forms.CharField(label=_("Deal name"), max_length=200, required=False)
    stage = StageChoiceField(label=_("Pipeline and stage"), queryset=open_stages(), required=False)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0, required=False)
    organization = AutocompleteModelChoiceField(
        Organization.objects.all(), url_name="contacts:organization_autocomplete", label=_("Existing organization"),
        required=False, help_text=_("Leave empty to use the organization found by the duplicate check or create one."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.visible_to(user)
        if not self.is_bound and "stage" not in self.initial:
            # A new deal starts where the board's first pipeline starts.
            self.initial["stage"] = open_stages().order_by("pipeline__position", "pipeline__name", "order", "pk").first()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("create_deal"):
            if not cleaned.get("stage"):
                self.add_error("stage", _("Choose the stage of the new deal."))
            if not cleaned.get("deal_name"):
                self.add_error("deal_name", _("Give the deal a name."))
        return cleaned


class ReassignForm(forms.Form):
    new_owner = UserChoiceField(label=_("New owner"), queryset=sales_users())


# --- settings: pipelines, stages, territories, quotas -----------------------------------------


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "stale_after_days", "position", "is_active"]
        help_texts = {
            "stale_after_days": _("A deal without activity for this many days shows as stale on the board."),
            "position": _("Pipelines are listed by this number, smallest first."),
        }


class StageForm(forms.ModelForm):
    kind = forms.ChoiceField(
        label=_("kind"), choices=[("open", _("Open")), ("won", _("Won")), ("lost", _("Lost"))], initial="open",
        help_text=_("Deals entering a won or lost stage are closed."),
    )

    class Meta:
        model = Stage
        fields = ["name", "probability"]
        labels = {"probability": _("Probability (%)")}
        help_texts = {"probability": _("Deals entering the stage get this probability unless set by hand.")}

    def __init__(self, *args, pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.pipeline = pipeline
        if self.instance.pk:
            self.fields["kind"].initial = self.instance.kind
            if self.instance.deals.exists():
                self.fields["kind"].disabled = True
                self.fields["kind"].help_text = _("The stage holds deals: its kind stays as it is.")

    def clean(self):
        data = super().clean()
        kind = data.get("kind", "open")
        self.instance.is_won, self.instance.is_lost = kind == "won", kind == "lost"
        # The form has no pipeline field, so Django leaves the pipeline's unique names unchecked.
        name = data.get("name")
        if name and Stage.objects.filter(pipeline=self.instance.pipeline, name=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", _("This pipeline already has a stage of this name."))
        return data

    def save(self, commit=True):
        if self.instance._state.adding:
            last = Stage.objects.filter(pipeline=self.instance.pipeline).order_by("-order").values_list("order", flat=True).first()
            self.instance.order = 0 if last is None else last + 1
        return super().save(commit)


class StageDeleteForm(forms.Form):
    move_to = StageChoiceField(
        label=_("Move its deals to"), queryset=Stage.objects.none(), required=False, empty_label=_("Choose a stage"),
    )

    def __init__(self, *args, stage, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = (
            Stage.objects.filter(pipeline_id=stage.pipeline_id, is_won=stage.is_won, is_lost=stage.is_lost)
            .exclude(pk=stage.pk).select_related("pipeline").order_by("order", "pk")
        )


class TerritoryForm(forms.ModelForm):
    manager = UserChoiceField(label=_("manager"), queryset=get_user_model().objects.none())
    reps = forms.ModelMultipleChoiceField(
        label=_("reps"), queryset=get_user_model().objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("New leads and organizations of the territory go to these reps in turn."),
    )

    class Meta:
        model = Territory
        fields = ["name", "priority", "manager", "reps", "is_active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        people = sales_users()
        if not has_role(user, Role.ADMIN):
            people = people.filter(pk__in=managed_user_ids(user))
            self.fields["manager"].help_text = _("You or a member of a team you lead.")
        self.fields["manager"].queryset = people
        self.fields["reps"].queryset = people
        self.fields["reps"].label_from_instance = lambda u: u.get_full_name() or u.username
        if not self.instance.pk and not self.is_bound:
            self.initial["manager"] = user.pk


TerritoryRuleFormSet = inlineformset_factory(
    Territory, TerritoryRule, fields=["country", "postal_code_from", "postal_code_to", "industry"], extra=2, can_delete=True,
)


class TerritoryDeleteForm(forms.Form):
    move_to = forms.ModelChoiceField(
        label=_("Move its leads and deals to"), queryset=Territory.objects.none(), required=False,
        empty_label=_("No territory"),
    )

    def __init__(self, *args, territory, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = Territory.objects.editable_by(user).exclude(pk=territory.pk)


class QuotaPeriodForm(forms.Form):
    """Which period the quota grid shows: month or quarter, and which one (a year back to a year ahead)."""

    period = forms.ChoiceField(label=_("period"), choices=Quota.Period.choices, initial=Quota.Period.MONTH)
    start = forms.TypedChoiceField(label=_("period start"), coerce=date.fromisoformat)

    def __init__(self, data=None, *, starts, **kwargs):
        super().__init__(data, **kwargs)
        period = self.data.get("period") if data else self.initial.get("period")
        quarter = period == Quota.Period.QUARTER
        self.fields["start"].choices = [
            (day.isoformat(), f"Q{(day.month - 1) // 3 + 1} {day.year}" if quarter else formats.date_format(day, "YEAR_MONTH_FORMAT"))
            for day in starts
        ]


class AmountField(forms.DecimalField):
    """An amount as people type it in their language: "12.500,50" in German, "12,500.50" in
    English. Django's own localized field reads a German "12.500" as 12.5."""

    def to_python(self, value):
        if isinstance(value, str):
            text = value.strip().replace(" ", "").replace("\u00a0", "")
            decimal, thousand = formats.get_format("DECIMAL_SEPARATOR"), formats.get_format("THOUSAND_SEPARATOR")
            if thousand and thousand != decimal:
                text = text.replace(thousand, "")
            value = text.replace(decimal, ".")
        return super().to_python(value)


class QuotaGridForm(forms.Form):
    """One amount per rep; an empty box removes the rep's quota for the period."""

    def __init__(self, *args, reps, **kwargs):
        super().__init__(*args, **kwargs)
        for rep in reps:
            self.fields[f"amount_{rep.pk}"] = AmountField(
                label=rep.get_full_name() or rep.username, required=False, min_value=0, max_digits=14, decimal_places=2,
            )

    def amounts(self) -> dict:
        return {int(name.removeprefix("amount_")): value for name, value in self.cleaned_data.items()}
