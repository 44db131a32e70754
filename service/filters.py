import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm.filters import CrmFilterSet, SearchKeyFilter
from service.models import Category, ServiceTeam, Ticket


class TicketFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=Ticket.Status.choices)
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=Ticket.Priority.choices)
    category = django_filters.ModelChoiceFilter(label=_("Category"), queryset=Category.objects.all())
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=ServiceTeam.objects.all())
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Ticket.Channel.choices)
    is_complaint = django_filters.BooleanFilter(
        label=_("Complaint"),
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Ticket
        fields = ["q", "status", "priority", "category", "team", "channel", "is_complaint"]
