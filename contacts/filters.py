from datetime import timedelta

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Activity, Attachment, Organization, Person, Tag
from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter, country_choices
from crm.models import managed_user_ids


def _active_users(request=None):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class OwnerFilterMixin(CrmFilterSet):
    owner = SafeModelChoiceFilter(
        label=_("Owner"), queryset=_active_users, null_label=_("(nobody)"), empty_label=_("All")
    )
    mine = django_filters.BooleanFilter(label=_("Only mine"), method="filter_mine", widget=forms.CheckboxInput)
    stale = django_filters.BooleanFilter(
        label=_("Unattended for a year"), method="filter_stale", widget=forms.CheckboxInput
    )

    def filter_mine(self, qs, name, value):
        return qs.filter(owner=self.request.user) if value and self.request else qs

    def filter_stale(self, qs, name, value):
        return qs.stale(stale_cutoff()) if value else qs


def stale_cutoff():
    return timezone.now() - timedelta(days=settings.CRM_STALE_DAYS)


class OrganizationFilter(OwnerFilterMixin):
    q = SearchKeyFilter(label=_("Search"))
    relationship = django_filters.ChoiceFilter(label=_("Relationship"), choices=Organization.Relationship.choices, empty_label=_("All"))
    industry = django_filters.ChoiceFilter(label=_("Industry"), choices=Organization.Industry.choices, empty_label=_("All"))
    country = django_filters.ChoiceFilter(label=_("Country"), choices=country_choices, empty_label=_("All"))
    tags = SafeModelChoiceFilter(label=_("Tag"), queryset=Tag.objects.all(), empty_label=_("All"))

    class Meta:
        model = Organization
        fields = ["q", "relationship", "industry", "country", "owner", "tags", "mine", "stale"]


# The choice of the "missing" filter and the PersonQuerySet method that finds those people.
MISSING = {"email": "without_email", "phone": "without_phone", "organization": "without_organization"}


class PersonFilter(OwnerFilterMixin):
    q = SearchKeyFilter(label=_("Search"))
    missing = django_filters.ChoiceFilter(
        label=_("Missing"),
        choices=[("email", _("Email")), ("phone", _("Phone or mobile")), ("organization", _("Organization"))],
        empty_label=_("Nothing"),
        method="filter_missing",
    )

    def filter_missing(self, qs, name, value):
        return getattr(qs, MISSING[value])() if value in MISSING else qs

    lifecycle_stage = django_filters.ChoiceFilter(label=_("Lifecycle stage"), choices=Person.Lifecycle.choices, empty_label=_("All"))
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Person.Source.choices, empty_label=_("All"))
    country = django_filters.ChoiceFilter(label=_("Country"), choices=country_choices, empty_label=_("All"))
    organization = django_filters.NumberFilter(label=_("Organization"), field_name="employments__organization", widget=forms.HiddenInput)
    tags = SafeModelChoiceFilter(label=_("Tag"), queryset=Tag.objects.all(), empty_label=_("All"))

    class Meta:
        model = Person
        fields = ["q", "lifecycle_stage", "source", "country", "owner", "tags", "mine", "missing", "stale", "organization"]


class TaskFilter(CrmFilterSet):
    SCOPES = [("mine", _("Assigned to me")), ("team", _("My team")), ("all", _("Everyone"))]
    scope = django_filters.ChoiceFilter(label=_("Whose"), choices=SCOPES, method="filter_scope", empty_label=None)
    done = django_filters.BooleanFilter(
        label=_("Status"),
        widget=forms.Select(
            choices=[("", _("All")), ("false", _("Open")), ("true", _("Done"))]
        ),
    )
    overdue = django_filters.BooleanFilter(label=_("Overdue only"), method="filter_overdue", widget=forms.CheckboxInput)

    class Meta:
        model = Activity
        fields = ["scope", "done", "overdue"]

    def __init__(self, data=None, *args, **kwargs):
        data = (data or {}).copy() if data is not None else {}
        data.setdefault("scope", "mine")
        data.setdefault("done", "false")
        super().__init__(data, *args, **kwargs)

    def filter_scope(self, qs, name, value):
        user = self.request.user
        if value == "team":
            return qs.filter(assignee_id__in=managed_user_ids(user))
        if value == "all":
            return qs
        return qs.filter(assignee=user)

    def filter_overdue(self, qs, name, value):
        return qs.filter(due_at__lt=timezone.now(), done=False) if value else qs


class ActivityFilter(CrmFilterSet):
    """The activities of the API (the pages show them on each record's timeline)."""

    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Activity.Kind.choices)
    person = django_filters.NumberFilter(label=_("Person"), field_name="person_id", min_value=1, max_value=2**63 - 1)
    organization = django_filters.NumberFilter(
        label=_("Organization"), field_name="organization_id", min_value=1, max_value=2**63 - 1
    )
    done = django_filters.BooleanFilter(label=_("Done"))

    class Meta:
        model = Activity
        fields = ["kind", "person", "organization", "done"]


class AttachmentFilter(CrmFilterSet):
    """The files of one person or organization (the API; the pages show them on the record)."""

    person = django_filters.NumberFilter(label=_("Person"), field_name="person_id", min_value=1, max_value=2**63 - 1)
    organization = django_filters.NumberFilter(
        label=_("Organization"), field_name="organization_id", min_value=1, max_value=2**63 - 1
    )

    class Meta:
        model = Attachment
        fields = ["person", "organization"]
