import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter
from crm.models import Team
from crm.money import CURRENCIES
from crm.roles import MANAGER_ROLES, Role, has_role
from sales import money
from sales.models import Deal, Lead, Pipeline, Stage, Territory


def _sales_users(request=None):
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class OwnerTeamFilterSet(CrmFilterSet):
    owner = SafeModelChoiceFilter(label=_("Owner"), queryset=_sales_users, null_label=_("(nobody)"), empty_label=_("All"))
    team = SafeModelChoiceFilter(
        label=_("Team"), queryset=Team.objects.all(), method="filter_team", empty_label=_("All"),
        field_name="owner__teams",  # what filter_team follows; lets the API schema type the parameter
    )
    mine = django_filters.BooleanFilter(label=_("Only mine"), method="filter_mine", widget=forms.CheckboxInput)

    def filter_team(self, qs, name, value):
        return qs.filter(owner__teams=value) if value else qs

    def filter_mine(self, qs, name, value):
        return qs.filter(owner=self.request.user) if value and self.request else qs


class BoardFilter(OwnerTeamFilterSet):
    """The board's filters (the pipeline is chosen separately)."""

    territory = SafeModelChoiceFilter(label=_("Territory"), queryset=Territory.objects.all(), empty_label=_("All"))
    close_from = django_filters.DateFilter(
        label=_("Closing from"), field_name="expected_close_date", lookup_expr="gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    close_to = django_filters.DateFilter(
        label=_("Closing until"), field_name="expected_close_date", lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = Deal
        fields = ["owner", "team", "territory", "close_from", "close_to", "mine"]

    @classmethod
    def for_board(cls, request, queryset):
        """A sales rep's board opens on their own deals ("Only mine" ticked); a submitted filter
        form (which sends its other fields, even empty) widens it. Managers open on everything."""
        data = request.GET.copy()
        opened = not any(key in data for key in cls.base_filters)
        user = request.user
        if opened and has_role(user, Role.SALES_REP) and not has_role(user, *MANAGER_ROLES):
            data["mine"] = "on"
        return cls(data or None, queryset=queryset, request=request)


class DealFilter(BoardFilter):
    q = SearchKeyFilter(label=_("Search"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Deal.Status.choices, empty_label=_("All"))
    pipeline = SafeModelChoiceFilter(label=_("Pipeline"), queryset=Pipeline.objects.all(), empty_label=_("All"))
    stage = SafeModelChoiceFilter(label=_("Stage"), queryset=Stage.objects.select_related("pipeline"), empty_label=_("All"))
    forecast_category = django_filters.ChoiceFilter(
        label=_("Forecast category"), choices=Deal.ForecastCategory.choices, empty_label=_("All")
    )
    stale = django_filters.BooleanFilter(label=_("Only stale deals"), method="filter_stale", widget=forms.CheckboxInput)
    currency = django_filters.ChoiceFilter(label=_("Currency"), choices=CURRENCIES, empty_label=_("All"))
    no_rate = django_filters.BooleanFilter(
        label=_("Only deals without exchange rate"), method="filter_no_rate", widget=forms.CheckboxInput
    )
    organization = django_filters.NumberFilter(label=_("Organization"), widget=forms.HiddenInput)
    # Deals attributed to a campaign (utm_campaign): the marketing dashboard links here.
    campaign_code = django_filters.CharFilter(label=_("Campaign code"), widget=forms.HiddenInput)

    class Meta:
        model = Deal
        fields = [
            "q", "status", "pipeline", "stage", "owner", "team", "territory", "forecast_category", "close_from",
            "close_to", "currency", "stale", "no_rate", "mine", "organization", "campaign_code",
        ]

    def filter_stale(self, qs, name, value):
        return qs.stale() if value else qs

    def filter_no_rate(self, qs, name, value):
        """Deals that totals leave out: no exchange rate for their currency on their close date."""
        return qs.filter(money.rate_missing()) if value else qs


class LeadFilter(OwnerTeamFilterSet):
    q = SearchKeyFilter(label=_("Search"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Lead.Status.choices, empty_label=_("All"))
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Lead.Source.choices, empty_label=_("All"))
    rating = django_filters.ChoiceFilter(label=_("Rating"), choices=Lead.Rating.choices, empty_label=_("All"))
    campaign_code = django_filters.CharFilter(label=_("Campaign code"))

    class Meta:
        model = Lead
        fields = ["q", "status", "source", "rating", "owner", "team", "campaign_code", "mine"]
