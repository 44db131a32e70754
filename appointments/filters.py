import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment, AppointmentType
from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter


def _active_users(request=None):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class AppointmentFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Appointment.Status.choices, empty_label=_("All"))
    host = SafeModelChoiceFilter(label=_("Host"), queryset=_active_users, empty_label=_("All"))
    appointment_type = SafeModelChoiceFilter(
        label=_("Appointment type"), queryset=AppointmentType.objects.all(), empty_label=_("All")
    )
    upcoming = django_filters.BooleanFilter(label=_("Only upcoming"), method="filter_upcoming", widget=forms.CheckboxInput)

    class Meta:
        model = Appointment
        fields = ["q", "status", "host", "appointment_type", "upcoming"]

    def filter_upcoming(self, qs, name, value):
        return qs.filter(start__gte=timezone.now()) if value else qs


class AppointmentTypeFilter(CrmFilterSet):
    q = django_filters.CharFilter(label=_("Name"), field_name="name", lookup_expr="icontains")
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = AppointmentType
        fields = ["q", "is_active"]
