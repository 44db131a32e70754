"""What the global search finds in marketing."""

from django.utils.translation import gettext_lazy as _

from crm.search import SearchProvider
from marketing.models import Campaign, Segment


def _describe_campaign(campaign: Campaign) -> tuple[str, str]:
    return campaign.name, " · ".join([campaign.get_channel_display(), campaign.get_status_display(), campaign.code])


def _describe_segment(segment: Segment) -> tuple[str, str]:
    return segment.name, str(_("Segment"))


PROVIDERS = [
    SearchProvider(
        kind="campaign", label=_("Campaigns"), model=Campaign, describe=_describe_campaign, icon="megaphone", order=60,
        only=("id", "name", "code", "channel", "status", "search_key"),
    ),
    SearchProvider(
        kind="segment", label=_("Segments"), model=Segment, describe=_describe_segment, icon="funnel", order=61,
        only=("id", "name", "search_key"),
    ),
]
