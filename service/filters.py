from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Tag
from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter
from crm.roles import SERVICE_ROLES, Role
from service.models import Category, ServiceTeam, Ticket, sla_outcomes

# The longest age a ticket can be filtered by (100 years): more would overflow the date arithmetic.
MAX_AGE_DAYS = 36_500
NO_CAUSE = "none"


def _service_users(request=None):
    # Inactive agents stay choosable: their tickets do not vanish when they leave.
    return (
        get_user_model().objects.filter(groups__name__in=[Role.ADMIN, *SERVICE_ROLES]).distinct()
        .order_by("first_name", "last_name", "username")
    )


def day_start(day):
    """Midnight at the start of `day` in the current time zone (the day of the person filtering)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _date_input():
    return forms.DateInput(attrs={"type": "date"})


class DayRangeFilter(django_filters.DateFilter):
    """A date bound on a datetime column: `gte` from the start of the day, `lt` before the start of
    the next one, so that "from 1 March until 31 March" holds the whole of 31 March."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if self.lookup_expr == "lt":
            value = value + timedelta(days=1)
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": day_start(value)})


class TicketFilter(CrmFilterSet):
    # The queue (mine, team, ...) is chosen by the view; the form carries it along so that changing
    # a filter keeps the queue (e.g. "all tickets" opened from a dashboard link).
    scope = django_filters.CharFilter(method="keep_queue", widget=forms.HiddenInput)
    q = SearchKeyFilter(label=_("Search"))
    # A column of the ticket, no join: no DISTINCT needed (django-filter adds one by default, which
    # makes the database sort every matching row).
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=Ticket.Status.choices, distinct=False)
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=Ticket.Priority.choices)
    category = SafeModelChoiceFilter(label=_("Category"), queryset=Category.objects.all())
    team = SafeModelChoiceFilter(label=_("Team"), queryset=ServiceTeam.objects.all())
    assignee = SafeModelChoiceFilter(label=_("Assignee"), queryset=_service_users, null_label=_("(nobody)"),
                                     empty_label=_("All"))
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Ticket.Channel.choices)
    tag = SafeModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all(), empty_label=_("All"))
    is_complaint = django_filters.BooleanFilter(
        label=_("Complaint"),
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]),
    )
    complaint_cause = django_filters.ChoiceFilter(
        label=_("Complaint cause"), method="filter_complaint_cause", empty_label=_("All"),
        choices=[*Ticket._meta.get_field("complaint_cause").choices, (NO_CAUSE, _("No cause given"))],
    )
    created_from = DayRangeFilter(label=_("Created from"), field_name="created_at", lookup_expr="gte", widget=_date_input())
    created_to = DayRangeFilter(label=_("Created until"), field_name="created_at", lookup_expr="lt", widget=_date_input())
    age_min_days = django_filters.NumberFilter(
        label=_("Created at least … days ago"), method="filter_age", min_value=0, max_value=MAX_AGE_DAYS)
    age_max_days = django_filters.NumberFilter(
        label=_("Created less than … days ago"), method="filter_age", min_value=0, max_value=MAX_AGE_DAYS)
    responded_from = DayRangeFilter(
        label=_("First response from"), field_name="first_responded_at", lookup_expr="gte", widget=_date_input())
    responded_to = DayRangeFilter(
        label=_("First response until"), field_name="first_responded_at", lookup_expr="lt", widget=_date_input())
    resolved_from = DayRangeFilter(label=_("Resolved from"), field_name="resolved_at", lookup_expr="gte", widget=_date_input())
    resolved_to = DayRangeFilter(label=_("Resolved until"), field_name="resolved_at", lookup_expr="lt", widget=_date_input())
    due = django_filters.ChoiceFilter(
        label=_("SLA now"), method="filter_due", empty_label=_("All"),
        choices=[("breached", _("Overdue")), ("due_soon", _("Due soon"))],
    )
    sla = django_filters.MultipleChoiceFilter(
        label=_("SLA"), method="filter_sla", widget=forms.CheckboxSelectMultiple,
        choices=[("response_met", _("First response in time")), ("response_missed", _("First response late")),
                 ("resolution_met", _("Resolution in time")), ("resolution_missed", _("Resolution late"))],
    )

    class Meta:
        model = Ticket
        fields = [
            "scope", "q", "status", "priority", "category", "team", "assignee", "channel", "tag", "is_complaint",
            "complaint_cause", "created_from", "created_to", "age_min_days", "age_max_days", "responded_from",
            "responded_to", "resolved_from", "resolved_to", "due", "sla",
        ]

    def keep_queue(self, qs, name, value):
        return qs  # TicketListView.base_queryset applies the queue

    def filter_complaint_cause(self, qs, name, value):
        # A cause belongs to a complaint: the filter finds complaints (and uses ticket_complaint_idx).
        return qs.filter(is_complaint=True, complaint_cause="" if value == NO_CAUSE else value) if value else qs

    def filter_age(self, qs, name, value):
        """Age since creation, as the service dashboard's backlog counts it: at least `age_min_days`
        (created at or before now minus those days), less than `age_max_days`."""
        if value is None:
            return qs
        cutoff = timezone.now() - timedelta(days=float(value))
        return qs.filter(created_at__lte=cutoff) if name == "age_min_days" else qs.filter(created_at__gt=cutoff)

    def filter_due(self, qs, name, value):
        """Open tickets whose running SLA target is overdue or due soon (as the start page shows them)."""
        if value == "breached":
            return qs.sla_breached(timezone.now())
        if value == "due_soon":
            return qs.sla_due_soon(timezone.now())
        return qs

    def filter_sla(self, qs, name, value):
        """Tickets with any of the chosen SLA outcomes (service.models.sla_outcomes)."""
        outcomes = sla_outcomes(timezone.now())
        condition = Q(pk__in=[])
        for key in value:
            condition |= outcomes[key]
        return qs.filter(condition) if value else qs
