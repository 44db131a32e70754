"""Marketing figures: the campaign funnel (targeted → sent → opened → clicked → leads → deals → won
revenue) over the campaigns of the period and per campaign, cost per lead and return on
investment per campaign and per channel, consent growth and unsubscribes per week or month.

The campaign figures are marketing's own (`marketing.services.campaign_results` and
`channel_results`), so the dashboard and the campaign pages never disagree; like those pages they
count every lead and deal attributed to a campaign code. Only campaigns and consent changes the user
may see are counted (`visible_to(user)`). A fixed number of queries whatever the number of
campaigns, members or consent changes: campaigns in scope (1), campaign results (3 in marketing,
2 in sales), consent changes per week or month (1).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from analytics.figures import Figure, money_rows
from analytics.scope import Period, Scope, scope_from
from analytics.snapshots import serializable
from crm.roles import Role, has_role
from marketing import services as marketing_services
from marketing.models import Campaign, CampaignMember, Consent, ConsentEvent

# The campaigns of a period shown and summed at most (newest first); the page says when there are more.
MAX_CAMPAIGNS = 500
DAY = timedelta(days=1)
CENT = Decimal("0.01")
TENTH = Decimal("0.1")

FUNNEL = [
    ("targeted", _("Targeted")),
    ("sent", _("Sent")),
    ("opened", _("Opened")),
    ("clicked", _("Clicked")),
    ("leads", _("Leads")),
    ("deals", _("Deals")),
    ("won_deals", _("Won deals")),
]
CAMPAIGN_MEASURES = [
    *FUNNEL,
    ("unsubscribed", _("Unsubscribed")),
    ("won_revenue", _("Won revenue")),
    ("cost", _("Cost")),
    ("cost_per_lead", _("Cost per lead")),
    ("roi", _("Return on investment in %")),
]
CHANNEL_MEASURES = [("campaigns", _("Campaigns")), *CAMPAIGN_MEASURES]
CONSENT_MEASURES = [
    ("granted", _("Granted")),
    ("withdrawn", _("Withdrawn")),
    ("net", _("Net growth")),
    ("unsubscribed", _("Unsubscribed by link")),
]


def percent(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@serializable
@dataclass
class MarketingDashboard:
    cards: list[Figure]
    funnel: list[dict]
    campaigns: list[dict]
    channels: list[dict]
    totals: dict
    consent: list[dict]
    consent_totals: dict
    bucket: str  # "week" or "month"
    truncated: bool

    def csv_rows(self) -> Iterator[tuple]:
        """(figure, item, measure, value): every number of the page, one per row."""
        yield from money_rows(self.totals)
        for card in self.cards:
            yield card.label, "", _("Value"), card.value
        section = _("Campaign funnel")
        for row in self.funnel:
            yield section, row["label"], _("Count"), row["value"]
            yield section, row["label"], _("Share of targeted in %"), row["share"]
        section = _("Per campaign")
        for row in self.campaigns:
            for key, measure in CAMPAIGN_MEASURES:
                yield section, row["label"], measure, row[key]
        section = _("Per channel")
        for row in [*self.channels, self.totals]:
            for key, measure in CHANNEL_MEASURES:
                yield section, row["label"], measure, row[key]
        section = _("Consent changes")
        for row in [*self.consent, self.consent_totals]:
            for key, measure in CONSENT_MEASURES:
                yield section, row["label"], measure, row[key]


def marketing_scope(params):
    """The marketing dashboard's filter form (owner, team, period) and its scope."""
    return scope_from(params)


def compute(user, params) -> MarketingDashboard:
    """For analytics.snapshots: the dashboard of `user` for the filter `params`."""
    return marketing_dashboard(user=user, scope=marketing_scope(params)[1])


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(scope.start, time.min), tz),
        timezone.make_aware(datetime.combine(scope.end + DAY, time.min), tz),
    )


def scoped_campaigns(*, user, scope: Scope):
    """Campaigns the user may see, of the scope's owners, running in the period: from the start date
    (or the day the campaign was created, without one) to the end date (or the start, without one)."""
    first_day = Coalesce("start_date", TruncDate("created_at"))
    return (
        scope.owned(Campaign.objects.visible_to(user))
        .annotate(first_day=first_day, last_day=Coalesce("end_date", first_day))
        .filter(first_day__lte=scope.end, last_day__gte=scope.start)
    )


def _members_url(campaign_id: int, status: str = "") -> str:
    url = reverse("marketing:campaign_detail", args=[campaign_id])
    return f"{url}?{urlencode({'member_status': status})}#c-members" if status else f"{url}#c-members"


def _campaign_list_url(scope: Scope) -> str:
    """The campaign list, of the scope's owner when there is one (it filters by one owner, not by team)."""
    url = reverse("marketing:campaign_list")
    if scope.owner_ids is not None and len(scope.owner_ids) == 1 and not scope.team_id:
        return f"{url}?{urlencode({'owner': next(iter(scope.owner_ids))})}"
    return url


def _buckets(scope: Scope) -> tuple[str, list[date]]:
    """Weeks (Monday first) for periods up to a quarter, months for longer ones."""
    if scope.period in (Period.THIS_YEAR, Period.LAST_12_MONTHS):
        day, starts = scope.start.replace(day=1), []
        while day <= scope.end:
            starts.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return "month", starts
    day = scope.start - timedelta(days=scope.start.weekday())
    starts = []
    while day <= scope.end:
        starts.append(day)
        day += timedelta(days=7)
    return "week", starts


def _bucket_label(bucket: str, day: date) -> str:
    if bucket == "month":
        return formats.date_format(day, "YEAR_MONTH_FORMAT")
    return _("Week of %(day)s") % {"day": formats.date_format(day, "SHORT_DATE_FORMAT")}


def _consent_rows(*, user, scope: Scope) -> tuple[str, list[dict], dict]:
    """Consent changes in the period per week or month: grants, withdrawals (of them, by unsubscribe
    link) and the net growth. Owner and team do not apply: consent belongs to people, not campaigns."""
    bucket, starts = _buckets(scope)
    start_at, end_at = _bounds(scope)
    trunc = TruncMonth if bucket == "month" else TruncWeek
    granted, withdrawn = ConsentEvent.Action.GRANTED, ConsentEvent.Action.WITHDRAWN
    counted = {}
    rows = (
        ConsentEvent.objects.visible_to(user)
        .filter(occurred_at__gte=start_at, occurred_at__lt=end_at, action__in=[granted, withdrawn])
        .annotate(bucket=trunc("occurred_at"))
        .values("bucket")
        .annotate(
            granted=Count("pk", filter=Q(action=granted)),
            withdrawn=Count("pk", filter=Q(action=withdrawn)),
            unsubscribed=Count("pk", filter=Q(action=withdrawn, source=Consent.Source.UNSUBSCRIBE)),
        )
        .order_by()
    )
    for row in rows:
        moment = row["bucket"]  # the start of the week or month, in the current time zone
        counted[timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()] = row
    consent = []
    for day in starts:
        row = counted.get(day, {})
        g, w, u = row.get("granted", 0), row.get("withdrawn", 0), row.get("unsubscribed", 0)
        consent.append({"label": _bucket_label(bucket, day), "start": day, "granted": g, "withdrawn": w,
                        "net": g - w, "unsubscribed": u})
    totals = {key: sum(row[key] for row in consent) for key in ("granted", "withdrawn", "net", "unsubscribed")}
    totals["label"] = _("Total")
    return bucket, consent, totals


def marketing_dashboard(*, user, scope: Scope) -> MarketingDashboard:
    campaigns = list(
        scoped_campaigns(user=user, scope=scope)
        .only("pk", "name", "code", "channel", "status", "cost", "start_date", "end_date", "created_at")
        .order_by("-first_day", "-pk")[: MAX_CAMPAIGNS + 1]
    )
    truncated = len(campaigns) > MAX_CAMPAIGNS
    campaigns = campaigns[:MAX_CAMPAIGNS]
    figures = marketing_services.campaign_results(campaigns)
    # Sales' lead and deal lists only show what a sales role may see: link there for those roles only.
    sales_links = has_role(user, Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)

    campaign_rows = []
    for campaign in campaigns:
        f = figures[campaign.pk]
        url = campaign.get_absolute_url()
        query = {"campaign_code": campaign.code}
        campaign_rows.append({
            "label": campaign.name, "campaign_id": campaign.pk, "channel": str(campaign.get_channel_display()),
            "start": campaign.first_day, "end": campaign.last_day, "url": url,
            **{key: f[key] for key, _label in CAMPAIGN_MEASURES},
            "targeted_url": _members_url(campaign.pk),
            "unsubscribed_url": _members_url(campaign.pk, CampaignMember.Status.OPTED_OUT),
            "responded": f["responded"], "responded_url": _members_url(campaign.pk, CampaignMember.Status.RESPONDED),
            "leads_url": f"{reverse('sales:lead_list')}?{urlencode(query)}" if sales_links else "",
            "deals_url": f"{reverse('sales:deal_list')}?{urlencode(query)}" if sales_links else "",
            "won_url": f"{reverse('sales:deal_list')}?{urlencode({**query, 'status': 'won'})}" if sales_links else "",
        })

    channels = marketing_services.channel_results(campaigns, figures)
    for row in channels:
        row["url"] = f"{reverse('marketing:campaign_list')}?{urlencode({'channel': row['channel']})}"
    totals = {"label": _("All campaigns"), "channel": "", "url": _campaign_list_url(scope),
              "campaigns": len(campaigns), "cost": sum((row["cost"] for row in channels), Decimal("0.00"))}
    for key in marketing_services.SUMMED:
        totals[key] = sum((row[key] for row in channels), 0)
    totals["won_revenue"] = Decimal(totals["won_revenue"]).quantize(CENT)
    totals["cost_per_lead"] = (totals["cost"] / totals["leads"]).quantize(CENT) if totals["leads"] else None
    totals["roi"] = ((totals["won_revenue"] - totals["cost"]) / totals["cost"] * 100).quantize(TENTH) if totals["cost"] else None

    funnel = [
        {"key": key, "label": str(label), "value": totals[key], "share": percent(totals[key], totals["targeted"])}
        for key, label in FUNNEL
    ]

    bucket, consent, consent_totals = _consent_rows(user=user, scope=scope)
    list_url = _campaign_list_url(scope)
    cards = [
        Figure("campaigns", _("Campaigns"), len(campaigns), None, list_url,
               _("Campaigns running in the period.")),
        Figure("targeted", _("Targeted"), totals["targeted"], None, list_url,
               _("Members of these campaigns.")),
        Figure("leads", _("Leads"), totals["leads"], None, "",
               _("Leads attributed to these campaigns by their campaign code.")),
        Figure("won_revenue", _("Won revenue"), totals["won_revenue"], None, "",
               _("Amount of the won deals attributed to these campaigns.")),
        Figure("cost_per_lead", _("Cost per lead"), totals["cost_per_lead"], None, "",
               _("Actual cost of these campaigns divided by their leads.")),
        Figure("roi", _("Return on investment"), totals["roi"], None, "",
               _("(Won revenue − cost) ÷ cost of these campaigns.")),
        Figure("consent_net", _("Consent growth"), consent_totals["net"], None, "",
               _("Consents granted minus consents withdrawn in the period.")),
        Figure("unsubscribed", _("Unsubscribed"), consent_totals["unsubscribed"], None, "",
               _("Consents withdrawn by the unsubscribe link in the period.")),
    ]
    return MarketingDashboard(cards, funnel, campaign_rows, channels, totals, consent, consent_totals, bucket, truncated)
