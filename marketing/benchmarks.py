"""The marketing pages measured by `manage.py benchmark` (see crm.benchmarks)."""

from django.urls import reverse

from contacts.benchmarks import random_row
from crm.benchmarks import Endpoint, register
from crm.roles import Role
from marketing.models import Campaign, Segment


def _campaign_detail(user, rng) -> str:
    row = random_row(Campaign, rng, "pk")
    return reverse("marketing:campaign_detail", args=[row[0] if row else 0])


def _segment_detail(user, rng) -> str:
    row = random_row(Segment, rng, "pk")
    return reverse("marketing:segment_detail", args=[row[0] if row else 0])


def _sent_campaign_progress(user, rng) -> str:
    campaign = Campaign.objects.filter(status=Campaign.Status.SENT).order_by("pk").values_list("pk", flat=True).first()
    return reverse("marketing:campaign_progress", args=[campaign or 0])


ENDPOINTS = [
    Endpoint("campaign_list", lambda user, rng: reverse("marketing:campaign_list"), role=Role.MARKETING),
    Endpoint("campaign_detail", _campaign_detail, role=Role.MARKETING),
    Endpoint("campaign_progress", _sent_campaign_progress, role=Role.MARKETING),
    Endpoint("campaign_results", lambda user, rng: reverse("marketing:campaign_results"), role=Role.SALES_MANAGER),
    Endpoint("segment_list", lambda user, rng: reverse("marketing:segment_list"), role=Role.MARKETING),
    Endpoint("segment_detail", _segment_detail, role=Role.MARKETING),
]

for endpoint in ENDPOINTS:
    register(endpoint)
