from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contacts.models import Person
from crm.customfields import CustomFieldsFormMixin
from crm.forms import SafeModelChoiceField
from crm.roles import SERVICE_ROLES, Role
from crm.widgets import AutocompleteModelChoiceField
from sales.models import Deal
from service.models import Ticket

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def agent_choices():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(groups__name__in=[*SERVICE_ROLES, Role.ADMIN], is_active=True).distinct().order_by("last_name", "first_name")


class TicketCreateForm(forms.ModelForm):
    person = AutocompleteModelChoiceField(
        Person.objects.none(), url_name="contacts:person_autocomplete", label=_("Customer"), required=False,
        help_text=_("Type a name, email or organization and pick the person."),
    )

    class Meta:
        model = Ticket
        fields = ["subject", "description", "person", "channel", "category", "priority", "product"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.visible_to(user)


class TicketForm(CustomFieldsFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    related_deal = AutocompleteModelChoiceField(
        Deal.objects.none(), url_name="sales:deal_autocomplete", label=_("Related deal"), required=False,
        help_text=_("Type the deal's name and pick it."),
    )

    class Meta:
        model = Ticket
        fields = ["subject", "status", "priority", "category", "team", "assignee", "product", "related_deal", "tags",
                  "is_complaint", "complaint_cause", "complaint_measures", "complaint_compensation"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agent_choices()
        self.fields["version"].initial = self.instance.version
        # Only deals the user may see can be linked. One already linked by a colleague who sees
        # more stays linked when this user saves, but its name is not shown to them.
        visible = Deal.objects.visible_to(user)
        field = self.fields["related_deal"]
        linked = Q(pk=self.instance.related_deal_id) if self.instance.related_deal_id else Q(pk__in=[])
        field.queryset = Deal.objects.filter(Q(pk__in=visible.values("pk")) | linked)
        field.widget.queryset = visible
        self.add_custom_fields(user)

    def clean(self):
        data = super().clean()
        if data.get("is_complaint") and not data.get("complaint_cause"):
            self.add_error("complaint_cause", _("A complaint needs a cause."))
        return data


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=50_000)
    public = forms.TypedChoiceField(
        label=_("Kind"), choices=[("1", _("Reply to the customer (email)")), ("0", _("Internal note"))],
        coerce=lambda v: v == "1", initial="1", widget=forms.RadioSelect,
    )
    status = forms.ChoiceField(label=_("Then set status"), choices=[("", _("(unchanged)")), *Ticket.Status.choices], required=False)
    attachment = forms.FileField(label=_("Attachment"), required=False)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload and upload.size > MAX_ATTACHMENT_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return upload


class BulkForm(forms.Form):
    tickets = forms.ModelMultipleChoiceField(Ticket.objects.none())
    assignee = SafeModelChoiceField(None, required=False, label=_("Assign to"))
    status = forms.ChoiceField(choices=[("", "–"), *Ticket.Status.choices], required=False, label=_("Status"))
    priority = forms.ChoiceField(choices=[("", "–"), *Ticket.Priority.choices], required=False, label=_("Priority"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].queryset = Ticket.objects.editable_by(user)
        self.fields["assignee"].queryset = agent_choices()
        for name in ("status", "priority"):
            self.fields[name].widget.attrs.update(id=f"bulk-{name}", **{"class": "form-select form-select-sm"})


class PortalLoginForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"))


class PortalTicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=50_000)


class PortalReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=50_000)


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(label=_("Rating"), choices=[(n, str(n)) for n in range(5, 0, -1)], coerce=int,
                                    widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)


