"""Marketing on a person's timeline: opens, clicks, unsubscribes, consent changes and form entries.

Every CRM role sees these entries (service agents see a customer's campaign history here and
nowhere else). Three queries per timeline page, whatever the history holds.
"""

from django.utils.translation import gettext as _

from crm.roles import is_crm_user
from crm.timeline import TimelineEntry
from marketing.models import ConsentEvent, TrackingEvent, WebFormSubmission

ICONS = {"open": "envelope-open", "click": "cursor", "unsubscribe": "envelope-x"}


def marketing_entries(*, user, person=None, organization=None, before=None, limit: int):
    if person is None or not is_crm_user(user):
        return []
    entries = []
    events = TrackingEvent.objects.filter(person=person)
    consents = ConsentEvent.objects.filter(person=person)
    submissions = WebFormSubmission.objects.filter(person=person)
    if before is not None:
        events = events.filter(occurred_at__lt=before)
        consents = consents.filter(occurred_at__lt=before)
        submissions = submissions.filter(created_at__lt=before)
    for event in events.select_related("campaign").order_by("-occurred_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=event.occurred_at, kind=f"campaign-{event.kind}", kind_label=_("Campaign"),
            icon=ICONS.get(event.kind, "megaphone"),
            title=f"{event.get_kind_display()}: {event.campaign.name}",
            body=event.url, extra={"campaign_id": event.campaign_id},
        ))
    for event in consents.order_by("-occurred_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=event.occurred_at, kind="consent", kind_label=_("Consent"), icon="shield-check",
            title=f"{event.get_action_display()}: {event.get_purpose_display()} ({event.get_channel_display()})",
            body=" · ".join(p for p in [event.get_source_display(), event.text_version and _("text version %(v)s") % {"v": event.text_version}, event.ip_address or ""] if p),
        ))
    for submission in submissions.select_related("form").order_by("-created_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=submission.created_at, kind="form-response", kind_label=_("Response"), icon="ui-checks",
            title=_("Filled in web form %(name)s") % {"name": submission.form.name},
            body=submission.data.get("message", "") or ", ".join(f"{k}={v}" for k, v in submission.utm.items()),
        ))
    return entries
