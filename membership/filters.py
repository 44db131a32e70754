import django_filters
from django.utils.translation import gettext_lazy as _

from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter
from membership.models import Member, MembershipType


class MemberFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"), help_text=_("Member number or name"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Member.Status.choices, empty_label=_("All"))
    membership_type = SafeModelChoiceFilter(label=_("Membership type"), queryset=MembershipType.objects.all(), empty_label=_("All"))

    class Meta:
        model = Member
        fields = ["q", "status", "membership_type"]


class MembershipTypeFilter(CrmFilterSet):
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = MembershipType
        fields = ["is_active"]
