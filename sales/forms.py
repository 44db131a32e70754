"""Forms of the sales app: they validate and convert; workflows live in services."""

from django import forms
from django.contrib.auth import get_user_model
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization, Person
from crm.customfields import CustomFieldsFormMixin
from crm.forms import SafeModelChoiceField
from crm.roles import Role
from crm.widgets import AutocompleteModelChoiceField
from sales.models import Deal, DealContact, Lead, LineItem, Product, Stage, Territory


def sales_users():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class UserChoiceField(SafeModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


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
