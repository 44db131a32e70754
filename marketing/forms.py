"""Forms of the marketing pages: they validate and convert, nothing more."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization, Person, Tag
from crm.filters import country_choices
from crm.forms import SafeModelChoiceField, SafeModelMultipleChoiceField
from crm.roles import Role
from crm.widgets import AutocompleteModelChoiceField
from marketing.models import Campaign, CampaignMember, Consent, EmailTemplate, Segment, WebForm
from marketing.render import PLACEHOLDERS, unknown_placeholders
from marketing.segments import KEYS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def marketing_users():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.MARKETING, Role.ADMIN])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class SegmentFilterForm(forms.Form):
    """The filter of a segment; `definition()` is what the segment stores."""

    lifecycle_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stage"), choices=Person.Lifecycle.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.ModelMultipleChoiceField(label=_("Tags"), queryset=Tag.objects.all(), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    postal_code_prefix = forms.CharField(label=_("Postal code starts with"), max_length=12, required=False)
    industries = forms.MultipleChoiceField(
        label=_("Industry of the organization"), choices=Organization.Industry.choices, required=False
    )
    inactive_days = forms.IntegerField(label=_("No activity in the last … days"), min_value=0, max_value=100_000, required=False)
    active_days = forms.IntegerField(label=_("Activity in the last … days"), min_value=0, max_value=100_000, required=False)
    customer_since_before = forms.DateField(label=_("In the CRM since before"), required=False, widget=DATE)
    customer_since_after = forms.DateField(label=_("In the CRM since after"), required=False, widget=DATE)
    open_deal_value_min = forms.IntegerField(
        label=_("Open deal value of the organization at least (EUR)"), min_value=0, max_value=1_000_000_000, required=False
    )
    won_revenue_min = forms.IntegerField(
        label=_("Won revenue of the organization at least (EUR)"), min_value=0, max_value=1_000_000_000, required=False
    )
    email_consent = forms.BooleanField(label=_("Only with email consent"), required=False)
    postal_consent = forms.BooleanField(label=_("Only with postal consent"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", _("All")), *country_choices()]

    def definition(self) -> dict:
        data = self.cleaned_data
        definition = {}
        for key in KEYS:
            value = data.get(key)
            if key == "tags":
                value = [t.pk for t in value] if value else []
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            if value not in (None, "", [], False):
                definition[key] = value
        return definition

    @classmethod
    def initial_from(cls, definition: dict) -> dict:
        return {k: v for k, v in (definition or {}).items() if k in KEYS}


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name", "code", "channel", "goal", "budget", "cost", "start_date", "end_date", "owner", "segments", "template",
        ]
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 2}), "start_date": DATE, "end_date": DATE,
            "segments": forms.CheckboxSelectMultiple,
        }
        # An id beyond the database's integers is an invalid choice, not a server error.
        field_classes = {"owner": SafeModelChoiceField, "template": SafeModelChoiceField,
                         "segments": SafeModelMultipleChoiceField}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = marketing_users()
        self.fields["segments"].queryset = Segment.objects.order_by("name")
        self.fields["template"].queryset = EmailTemplate.objects.order_by("name")
        if user is not None and not self.instance.pk:
            self.initial.setdefault("owner", user.pk)
        if self.instance.pk and self.instance.status != Campaign.Status.DRAFT:
            # What was sent stays as it was sent.
            for name in ("template", "channel", "code"):
                self.fields[name].disabled = True

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", _("The end cannot be before the start."))
        return data


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "language", "subject", "body_html", "body_text"]
        widgets = {"body_html": forms.Textarea(attrs={"rows": 12}), "body_text": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = ", ".join("{{ " + p + " }}" for p in PLACEHOLDERS)
        self.fields["body_html"].help_text = _("Placeholders: %(names)s") % {"names": names}

    def clean(self):
        data = super().clean()
        unknown = unknown_placeholders(data.get("subject", ""), data.get("body_html", ""), data.get("body_text", ""))
        if unknown:
            self.add_error(
                "body_html",
                _("Unknown placeholders: %(names)s") % {"names": ", ".join("{{ " + u + " }}" for u in unknown)},
            )
        return data


class PreviewPersonForm(forms.Form):
    """Whose data fills a template's preview (read by marketing.views.templates.preview_person)."""

    person = AutocompleteModelChoiceField(
        Person.objects.none(), url_name="contacts:person_autocomplete", label=_("Preview with the data of"), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.visible_to(user)


class WebFormForm(forms.ModelForm):
    fields = forms.MultipleChoiceField(
        label=_("Fields besides last name and email"), choices=WebForm.Field.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebForm
        fields = ["name", "title", "fields", "campaign", "consent_text", "consent_text_version", "thank_you", "is_active"]
        widgets = {"consent_text": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.order_by("-created_at")


class PublicForm(forms.Form):
    """The form a website visitor fills in; built from the web form's chosen fields."""

    salutation = forms.ChoiceField(label=_("Salutation"), choices=Person.Salutation.choices, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    email = forms.EmailField(label=_("Email"))
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    message = forms.CharField(label=_("Message"), max_length=3000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    newsletter = forms.BooleanField(required=False)
    # The honeypot: hidden from people, filled in by bots.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    OPTIONAL = ("salutation", "first_name", "company", "phone", "postal_code", "city", "message")

    def __init__(self, *args, web_form: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.OPTIONAL:
            if name not in web_form.fields:
                del self.fields[name]
        self.fields["newsletter"].label = web_form.consent_text

    def clean_phone(self):
        from phonenumber_field.phonenumber import PhoneNumber

        raw = self.cleaned_data.get("phone", "").strip()
        if not raw:
            return ""
        number = PhoneNumber.from_string(raw, region="DE") if raw else None
        if number is None or not number.is_valid():
            raise forms.ValidationError(_("Please enter a valid phone number."))
        return number.as_e164


class CallLogForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CampaignMember.CallOutcome.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class PreferencesForm(forms.Form):
    newsletter_email = forms.BooleanField(label=_("Newsletter and offers by email"), required=False)
    events_email = forms.BooleanField(label=_("Event invitations by email"), required=False)
    newsletter_mail = forms.BooleanField(label=_("Offers by post"), required=False)

    FIELDS = {
        "newsletter_email": (Consent.Purpose.NEWSLETTER, Consent.Channel.EMAIL),
        "events_email": (Consent.Purpose.EVENTS, Consent.Channel.EMAIL),
        "newsletter_mail": (Consent.Purpose.NEWSLETTER, Consent.Channel.MAIL),
    }
