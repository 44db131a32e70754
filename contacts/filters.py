import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization, Person, Tag
from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter, country_choices


def _active_users(request=None):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class OwnerFilterMixin(CrmFilterSet):
    owner = SafeModelChoiceFilter(
        label=_("Owner"), queryset=_active_users, null_label=_("(nobody)"), empty_label=_("All")
    )
    mine = django_filters.BooleanFilter(label=_("Only mine"), method="filter_mine", widget=forms.CheckboxInput)

    def filter_mine(self, qs, name, value):
        return qs.filter(owner=self.request.user) if value and self.request else qs


class OrganizationFilter(OwnerFilterMixin):
    q = SearchKeyFilter(label=_("Search"))
    relationship = django_filters.ChoiceFilter(label=_("Relationship"), choices=Organization.Relationship.choices, empty_label=_("All"))
    industry = django_filters.ChoiceFilter(label=_("Industry"), choices=Organization.Industry.choices, empty_label=_("All"))
    country = django_filters.ChoiceFilter(label=_("Country"), choices=country_choices, empty_label=_("All"))
    tags = SafeModelChoiceFilter(label=_("Tag"), queryset=Tag.objects.all(), empty_label=_("All"))

    class Meta:
        model = Organization
        fields = ["q", "relationship", "industry", "country", "owner", "tags", "mine"]


class PersonFilter(OwnerFilterMixin):
    q = SearchKeyFilter(label=_("Search"))
    lifecycle_stage = django_filters.ChoiceFilter(label=_("Lifecycle stage"), choices=Person.Lifecycle.choices, empty_label=_("All"))
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Person.Source.choices, empty_label=_("All"))
    country = django_filters.ChoiceFilter(label=_("Country"), choices=country_choices, empty_label=_("All"))
    organization = django_filters.NumberFilter(label=_("Organization"), field_name="employments__organization", widget=forms.HiddenInput)
    tags = SafeModelChoiceFilter(label=_("Tag"), queryset=Tag.objects.all(), empty_label=_("All"))

    class Meta:
        model = Person
        fields = ["q", "lifecycle_stage", "source", "country", "owner", "tags", "mine", "organization"]
