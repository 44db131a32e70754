"""Start page widgets of marketing: running and scheduled campaigns with their progress, consent
gained and lost in the last 30 days, and the newest web form entries."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from marketing.models import Campaign, ConsentEvent, Delivery, WebForm, WebFormSubmission

WIDGET_ROWS = 8
CONSENT_DAYS = 30
CAMPAIGN_FIELDS = ("id", "name", "channel", "status", "start_date", "end_date")


def _progress(campaign, deliveries: dict, today) -> None:
    """An email campaign's send (messages done of all); any other campaign's run time (days
    passed of its days from start to end). None when neither can be told."""
    counts = deliveries.get(campaign.pk)
    campaign.progress = None
    campaign.progress_kind = ""
    if campaign.channel == Campaign.Channel.EMAIL and counts and counts["total"]:
        campaign.progress = round(100 * counts["done"] / counts["total"])
        campaign.progress_kind = "send"
        campaign.sent_count, campaign.total_count = counts["done"], counts["total"]
    elif campaign.start_date and campaign.end_date and campaign.start_date <= today:
        days = (campaign.end_date - campaign.start_date).days + 1
        passed = min((today - campaign.start_date).days + 1, days)
        campaign.progress = round(100 * passed / days)
        campaign.progress_kind = "time"
        campaign.day, campaign.days = passed, days


def campaigns(user) -> dict:
    """Running campaigns (ending first) and the next scheduled ones; three queries."""
    today = timezone.localdate()
    visible = Campaign.objects.visible_to(user).only(*CAMPAIGN_FIELDS)
    running = list(visible.running(today).order_by("end_date", "start_date", "pk")[: WIDGET_ROWS + 1])
    scheduled = list(visible.scheduled(today).order_by("start_date", "pk")[: WIDGET_ROWS // 2 + 1])
    deliveries = {
        row["campaign_id"]: row
        for row in Delivery.objects.filter(campaign_id__in=[c.pk for c in running[:WIDGET_ROWS]])
        .values("campaign_id").annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status__in=[Delivery.Status.SENT, Delivery.Status.BOUNCED, Delivery.Status.FAILED])),
        ).order_by()
    } if running else {}
    for campaign in running[:WIDGET_ROWS]:
        _progress(campaign, deliveries, today)
    return {
        "running": running[:WIDGET_ROWS], "more_running": len(running) > WIDGET_ROWS,
        "scheduled": scheduled[: WIDGET_ROWS // 2], "more_scheduled": len(scheduled) > WIDGET_ROWS // 2,
    }


def consent_growth(user) -> dict:
    """Consents granted and withdrawn in the last CONSENT_DAYS days (every purpose and channel),
    from the consent history; one query."""
    since = timezone.now() - timedelta(days=CONSENT_DAYS)
    counts = ConsentEvent.objects.visible_to(user).filter(occurred_at__gte=since).aggregate(
        granted=Count("pk", filter=Q(action=ConsentEvent.Action.GRANTED)),
        withdrawn=Count("pk", filter=Q(action=ConsentEvent.Action.WITHDRAWN)),
        requested=Count("pk", filter=Q(action=ConsentEvent.Action.REQUESTED)),
    )
    counts["net"] = counts["granted"] - counts["withdrawn"]
    largest = max(counts["granted"], counts["withdrawn"])
    counts["granted_share"] = round(100 * counts["granted"] / largest) if largest else 0
    counts["withdrawn_share"] = round(100 * counts["withdrawn"] / largest) if largest else 0
    return {**counts, "days": CONSENT_DAYS}


def form_leads(user) -> dict:
    """The newest web form entries (the people they created or updated) of the forms the user sees."""
    qs = (
        WebFormSubmission.objects.filter(form__in=WebForm.objects.visible_to(user))
        .select_related("form", "person")
        .only("id", "created_at", "form__id", "form__name", "person__id", "person__first_name",
              "person__last_name", "person__academic_title")
        .order_by("-created_at", "-pk")
    )
    rows = list(qs[: WIDGET_ROWS + 1])
    return {"submissions": rows[:WIDGET_ROWS], "more": len(rows) > WIDGET_ROWS}
