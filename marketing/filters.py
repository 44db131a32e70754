import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.filters import CrmFilterSet, SafeModelChoiceFilter, SearchKeyFilter
from marketing.forms import marketing_users
from marketing.models import Campaign, Consent, EmailTemplate, Segment, WebForm


class CampaignFilter(CrmFilterSet):
    q = SearchKeyFilter(label=_("Search"))
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Campaign.Channel.choices, empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Campaign.Status.choices, empty_label=_("All"))
    owner = SafeModelChoiceFilter(label=_("Owner"), queryset=lambda request=None: marketing_users(), empty_label=_("All"))
    phase = django_filters.ChoiceFilter(
        label=_("Running or planned"), method="filter_phase", empty_label=_("All"),
        choices=[("running", _("Running now")), ("scheduled", _("Starting later"))],
    )

    class Meta:
        model = Campaign
        fields = ["q", "channel", "status", "owner", "phase"]

    def filter_phase(self, qs, name, value):
        """Running or scheduled as of today (Campaign.objects.running / scheduled, as the start page)."""
        if value == "running":
            return qs.running(timezone.localdate())
        if value == "scheduled":
            return qs.scheduled(timezone.localdate())
        return qs


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


class ConsentFilter(CrmFilterSet):
    """The consents of the API (a person's page shows them in its marketing panel)."""

    person = django_filters.NumberFilter(label=_("Person"), field_name="person_id", min_value=1, max_value=2**63 - 1)
    purpose = django_filters.ChoiceFilter(label=_("Purpose"), choices=Consent.Purpose.choices, empty_label=_("All"))
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Consent.Channel.choices, empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Consent.Status.choices, empty_label=_("All"))
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Consent.Source.choices, empty_label=_("All"))

    class Meta:
        model = Consent
        fields = ["person", "purpose", "channel", "status", "source"]
