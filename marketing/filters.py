import django_filters
from django.utils.translation import gettext_lazy as _

from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter
from marketing.forms import marketing_users
from marketing.models import Campaign, EmailTemplate, Segment, WebForm


class CampaignFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Campaign.Channel.choices, empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Campaign.Status.choices, empty_label=_("All"))
    owner = SafeModelChoiceFilter(label=_("Owner"), queryset=lambda request=None: marketing_users(), empty_label=_("All"))

    class Meta:
        model = Campaign
        fields = ["q", "channel", "status", "owner"]


class SegmentFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))

    class Meta:
        model = Segment
        fields = ["q"]


class EmailTemplateFilter(CrmFilterSet):
    q = django_filters.CharFilter(label=_("Name"), field_name="name", lookup_expr="icontains")
    language = django_filters.ChoiceFilter(label=_("Language"), choices=EmailTemplate.Language.choices, empty_label=_("All"))

    class Meta:
        model = EmailTemplate
        fields = ["q", "language"]


class WebFormFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))

    class Meta:
        model = WebForm
        fields = ["q"]
