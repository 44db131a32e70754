from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment, AppointmentType
from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter
from crm.models import Team


def _active_users(request=None):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


DATE = forms.DateInput(attrs={"type": "date"})


class AppointmentFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Appointment.Status.choices, empty_label=_("All"))
    host = SafeModelChoiceFilter(label=_("Host"), queryset=_active_users, empty_label=_("All"))
    appointment_type = SafeModelChoiceFilter(
        label=_("Appointment type"), queryset=AppointmentType.objects.all(), empty_label=_("All")
    )
    team = SafeModelChoiceFilter(
        label=_("Team"), queryset=Team.objects.all(), method="filter_team", empty_label=_("All"),
        field_name="host__teams",  # not what filter_team follows (members and manager), but it types the API's parameter
    )
    upcoming = django_filters.BooleanFilter(label=_("Only upcoming"), method="filter_upcoming", widget=forms.CheckboxInput)
    # Days in the current time zone, compared as moments so that the indexes on start and created_at serve.
    start_from = django_filters.DateFilter(label=_("Starts from"), method="filter_from", field_name="start", widget=DATE)
    start_to = django_filters.DateFilter(label=_("Starts until"), method="filter_to", field_name="start", widget=DATE)
    booked_from = django_filters.DateFilter(label=_("Booked from"), method="filter_from", field_name="created_at", widget=DATE)
    booked_to = django_filters.DateFilter(label=_("Booked until"), method="filter_to", field_name="created_at", widget=DATE)

    class Meta:
        model = Appointment
        fields = ["q", "status", "host", "team", "appointment_type", "upcoming", "start_from", "start_to", "booked_from", "booked_to"]

    def filter_upcoming(self, qs, name, value):
        return qs.filter(start__gte=timezone.now()) if value else qs

    def filter_team(self, qs, name, value):
        """Hosted by the team's members or its manager (as the dashboards' team filter counts)."""
        if not value:
            return qs
        return qs.filter(host_id__in={*value.members.values_list("pk", flat=True), value.manager_id} - {None})

    def filter_from(self, qs, name, value):
        return qs.filter(**{f"{name}__gte": _day_start(value)}) if value else qs

    def filter_to(self, qs, name, value):
        return qs.filter(**{f"{name}__lt": _day_start(value + timedelta(days=1))}) if value else qs


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class AppointmentTypeFilter(CrmFilterSet):
    q = django_filters.CharFilter(label=_("Name"), field_name="name", lookup_expr="icontains")
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = AppointmentType
        fields = ["q", "is_active"]
