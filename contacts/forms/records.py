"""Forms for organizations, people, their activities and attachments."""

import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.forms import inlineformset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Activity, Attachment, Employment, Organization, OrganizationAddress, Person
from contacts.services.duplicates import find_similar_organizations, find_similar_people
from crm.customfields import CustomFieldsFormMixin
from crm.forms import SafeModelChoiceField, SafeModelMultipleChoiceField, parse_id
from crm.roles import ALL_ROLES
from crm.widgets import AutocompleteModelChoiceField


def crm_users():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=ALL_ROLES)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


UserChoiceField = SafeModelChoiceField  # users by name: crm.forms.UserNamesMixin


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DuplicateCheckMixin:
    """On create, similar existing records stop the save until the user confirms it is new."""

    confirm_field = "confirm_new"

    def similar_records(self) -> list:
        return []

    def check_duplicates(self):
        if self.instance.pk or self.errors:
            return
        self.similar = self.similar_records()
        if self.similar and not self.data.get(self.add_prefix(self.confirm_field)):
            self.fields[self.confirm_field] = forms.BooleanField(
                label=_("It is not one of these: create it anyway"), required=False
            )
            raise forms.ValidationError(
                _("Similar records already exist (listed below). Open one of them, or confirm that this is a new one."),
                code="similar_exists",
            )


class OrganizationForm(CustomFieldsFormMixin, DuplicateCheckMixin, forms.ModelForm):
    owner = UserChoiceField(label=_("Owner"), queryset=crm_users(), required=False)

    class Meta:
        model = Organization
        fields = [
            "name", "legal_form", "relationship", "industry", "website", "email", "phone", "country",
            "employees", "annual_revenue", "owner", "tags", "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4}), "tags": forms.CheckboxSelectMultiple}
        field_classes = {"tags": SafeModelMultipleChoiceField}
        help_texts = {"phone": _("International format, e.g. +49 30 1234567.")}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk and user is not None:
            self.initial.setdefault("owner", user.pk)
        self.user = user
        self.add_custom_fields(user)

    def similar_records(self) -> list:
        return find_similar_organizations(name=self.cleaned_data.get("name", ""), user=self.user)

    def clean(self):
        cleaned = super().clean()
        self.check_duplicates()
        return cleaned


AddressFormSet = inlineformset_factory(
    Organization,
    OrganizationAddress,
    fields=["kind", "street", "postal_code", "city", "country"],
    extra=1,
    max_num=10,
    absolute_max=10,  # a forged TOTAL_FORMS must not make the server build thousands of forms
    can_delete=True,
)


class KnownEmails:
    """Who holds some email addresses, loaded in one query for many forms (a batch upsert of
    1,000 people): `clash()` answers what PersonForm.clean_email would ask the database, and
    `saved()` keeps it current as the people are saved. An address not loaded is asked for."""

    def __init__(self, emails):
        self.loaded = {e for e in emails if e}
        self.holders: dict[int, tuple[str, str, str]] = {}  # pk -> (email, email_secondary, full name)
        self.primary: dict[str, set[int]] = {}
        self.secondary: dict[str, set[int]] = {}
        if self.loaded:
            query = Person.objects.filter(models.Q(email__in=self.loaded) | models.Q(email_secondary__in=self.loaded))
            for person in query.only("pk", "email", "email_secondary", "academic_title", "first_name", "last_name"):
                self.saved(person)

    def saved(self, person) -> None:
        old = self.holders.pop(person.pk, None)
        if old is not None:
            self.primary.get(old[0], set()).discard(person.pk)
            self.secondary.get(old[1], set()).discard(person.pk)
        self.holders[person.pk] = (person.email, person.email_secondary, person.full_name)
        self.primary.setdefault(person.email, set()).add(person.pk)
        self.secondary.setdefault(person.email_secondary, set()).add(person.pk)

    def clash(self, email: str, exclude_pk):
        """The name of the person (the lowest id) who has `email`, first or second address, or None;
        NotImplemented for an address that was not loaded."""
        if email not in self.loaded:
            return NotImplemented
        for table in (self.primary, self.secondary):
            holders = table.get(email, set()) - {exclude_pk}
            if holders:
                return self.holders[min(holders)][2]
        return None


class PersonForm(CustomFieldsFormMixin, DuplicateCheckMixin, forms.ModelForm):
    owner = UserChoiceField(label=_("Owner"), queryset=crm_users(), required=False)

    class Meta:
        model = Person
        fields = [
            "salutation", "academic_title", "first_name", "last_name", "email", "email_secondary", "phone", "mobile",
            "street", "postal_code", "city", "country", "birthday", "preferred_language", "lifecycle_stage", "source",
            "owner", "tags", "description",
        ]
        widgets = {
            "birthday": DateInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
            "tags": forms.CheckboxSelectMultiple,
        }
        field_classes = {"tags": SafeModelMultipleChoiceField}
        help_texts = {
            "phone": _("International format, e.g. +49 30 1234567."),
            "mobile": _("International format, e.g. +49 171 1234567."),
        }

    def __init__(self, *args, user=None, known_emails: KnownEmails | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk and user is not None:
            self.initial.setdefault("owner", user.pk)
        self.user = user
        self.known_emails = known_emails
        self.add_custom_fields(user)

    def similar_records(self) -> list:
        # The organizations come from the employment rows of the same POST (prefix "rows").
        organization_ids = [
            parse_id(value) for key, value in self.data.items() if re.fullmatch(r"rows-\d+-organization", key)
        ]
        return find_similar_people(
            first_name=self.cleaned_data.get("first_name", ""),
            last_name=self.cleaned_data.get("last_name", ""),
            organization_ids=[pk for pk in organization_ids if pk is not None],
            user=self.user,
        )

    def clean(self):
        cleaned = super().clean()
        self.check_duplicates()
        return cleaned

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        if email:
            name = self.known_emails.clash(email, self.instance.pk) if self.known_emails else NotImplemented
            if name is NotImplemented:
                clash = Person.objects.filter(email=email).exclude(pk=self.instance.pk).first()
                if clash is None:
                    clash = Person.objects.filter(email_secondary=email).exclude(pk=self.instance.pk).first()
                name = clash.full_name if clash is not None else None
            if name is not None:
                raise forms.ValidationError(
                    _("%(name)s already has this email address. Open that person instead of creating a duplicate."),
                    params={"name": name},
                    code="duplicate_email",
                )
        return email


class EmploymentForm(forms.ModelForm):
    organization = AutocompleteModelChoiceField(
        Organization.objects.all(), url_name="contacts:organization_autocomplete", label=_("Organization")
    )

    class Meta:
        model = Employment
        fields = ["organization", "position", "department", "is_primary"]


class BaseEmploymentFormSet(forms.BaseInlineFormSet):
    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count() and self.initial_form_count():
            # A person who already has a main organization gets further ones as secondary.
            kwargs["initial"] = {"is_primary": False}
        return kwargs

    def clean(self):
        super().clean()
        seen = set()
        primaries = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE") or not form.cleaned_data:
                continue
            organization = form.cleaned_data.get("organization")
            if organization is not None:
                if organization.pk in seen:
                    form.add_error("organization", _("This organization is listed twice."))
                seen.add(organization.pk)
            primaries += bool(form.cleaned_data.get("is_primary"))
        if primaries > 1:
            raise forms.ValidationError(_("Only one organization can be the main one."))


EmploymentFormSet = inlineformset_factory(
    Person,
    Employment,
    form=EmploymentForm,
    formset=BaseEmploymentFormSet,
    extra=1,
    max_num=20,
    absolute_max=20,
    can_delete=True,
)


class NoteForm(forms.ModelForm):
    """A note, call, email or meeting logged on the timeline."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k, label) for k, label in Activity.Kind.choices if k != Activity.Kind.TASK],
        initial=Activity.Kind.NOTE,
    )

    class Meta:
        model = Activity
        fields = ["kind", "subject", "body", "occurred_at"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3}), "occurred_at": DateTimeInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))


class TaskForm(forms.ModelForm):
    assignee = UserChoiceField(label=_("Assigned to"), queryset=crm_users())

    class Meta:
        model = Activity
        fields = ["subject", "body", "due_at", "assignee"]
        widgets = {"body": forms.Textarea(attrs={"rows": 2}), "due_at": DateTimeInput()}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = crm_users()
        self.fields["due_at"].required = True
        if user is not None:
            self.initial.setdefault("assignee", user.pk)

    def save(self, commit=True):
        self.instance.kind = Activity.Kind.TASK
        return super().save(commit=commit)


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["file"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too big (%(size)s MB); the limit is %(limit)s MB."),
                params={"size": round(upload.size / 1_048_576, 1), "limit": settings.ATTACHMENT_MAX_BYTES // 1_048_576},
                code="too_big",
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
