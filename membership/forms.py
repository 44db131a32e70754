from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization, Person
from crm.widgets import AutocompleteModelChoiceField
from membership.models import Member, MembershipType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MembershipTypeForm(forms.ModelForm):
    class Meta:
        model = MembershipType
        fields = ["name", "fee", "fee_period", "shared_by_household", "notice_months", "notice_to", "is_active"]


def apply_service_error(form, error) -> None:
    """A service's ValidationError at the field it names (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class MemberJoinForm(forms.Form):
    person = AutocompleteModelChoiceField(
        Person.objects.none(), url_name="contacts:person_autocomplete", label=_("Person"), required=False,
    )
    organization = AutocompleteModelChoiceField(
        Organization.objects.none(), url_name="contacts:organization_autocomplete", label=_("Organization"), required=False,
        help_text=_("Either a person or an organization becomes the member."),
    )
    membership_type = forms.ModelChoiceField(MembershipType.objects.none(), label=_("Membership type"))
    household_number = forms.CharField(
        label=_("Household of member number"), max_length=30, required=False,
        help_text=_("For a membership that households share: the member number of the household's member."),
    )
    start_date = forms.DateField(label=_("Date"), widget=DATE, help_text=_("Start of the membership, or the day of the application."))
    admit = forms.BooleanField(
        label=_("Admit at once"), required=False, initial=True,
        help_text=_("Without: the member is an applicant and gets a member number when admitted."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.visible_to(user)
        self.fields["organization"].queryset = Organization.objects.visible_to(user)
        self.fields["membership_type"].queryset = MembershipType.objects.visible_to(user).active()
        self.fields["start_date"].initial = timezone.localdate()

    def clean_household_number(self):
        number = self.cleaned_data["household_number"].strip()
        if not number:
            return None
        member = Member.objects.select_related("membership_type").filter(member_number__iexact=number).first()
        if member is None:
            raise forms.ValidationError(_("No member has this number."))
        return member

    def clean(self):
        cleaned = super().clean()
        if not self.errors and bool(cleaned.get("person")) == bool(cleaned.get("organization")):
            self.add_error("person", _("Choose a person or an organization (one of them)."))
        return cleaned


class MemberChangeTypeForm(forms.Form):
    membership_type = forms.ModelChoiceField(MembershipType.objects.none(), label=_("New membership type"))

    def __init__(self, *args, user, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership_type"].queryset = MembershipType.objects.visible_to(user).active().exclude(pk=member.membership_type_id)


class MemberAdmitForm(forms.Form):
    start_date = forms.DateField(label=_("Member since"), widget=DATE)


class MemberResignForm(forms.Form):
    received_on = forms.DateField(label=_("Resignation received on"), widget=DATE)


class MemberEndForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[(Member.EndReason.EXCLUSION, Member.EndReason.EXCLUSION.label), (Member.EndReason.DEATH, Member.EndReason.DEATH.label)],
    )
    end_date = forms.DateField(label=_("Member until"), widget=DATE)
