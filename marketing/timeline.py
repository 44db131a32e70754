"""Marketing on a person's timeline (and their organization's): campaign emails sent, opens, clicks,
unsubscribes, consent changes and form entries.

Every CRM role sees these entries (service agents see a customer's campaign history here and
nowhere else). Four queries per timeline page, whatever the history holds.
"""

from django.utils.translation import gettext as _

from crm.roles import is_crm_user
from crm.timeline import TimelineEntry
from marketing.models import ConsentEvent, Delivery, TrackingEvent, WebFormSubmission

ICONS = {"open": "envelope-open", "click": "cursor", "unsubscribe": "envelope-x"}


def marketing_entries(*, user, person=None, organization=None, before=None, limit: int):
    if (person is None and organization is None) or not is_crm_user(user):
        return []
    entries = []
    # An organization's timeline shows its people's campaign history, each entry naming the person.
    about = {"person": person} if person is not None else {"person_id__in": organization.people_ids()}
    named = person is None

    def who(entry_person) -> str:
        return entry_person.full_name if named and entry_person is not None else ""

    events = TrackingEvent.objects.filter(**about)
    consents = ConsentEvent.objects.filter(**about)
    submissions = WebFormSubmission.objects.filter(**about)
    sent = Delivery.objects.filter(**about, sent_at__isnull=False)
    if named:
        events, consents, submissions, sent = (qs.select_related("person") for qs in (events, consents, submissions, sent))
    if before is not None:
        sent = sent.filter(sent_at__lt=before)
        events = events.filter(occurred_at__lt=before)
        consents = consents.filter(occurred_at__lt=before)
        submissions = submissions.filter(created_at__lt=before)
    for delivery in sent.select_related("campaign").order_by("-sent_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=delivery.sent_at, kind="campaign-sent", kind_label=_("Campaign"), icon="envelope",
            title=_("Campaign email sent: %(campaign)s") % {"campaign": delivery.campaign.name},
            body=delivery.get_status_display() if delivery.status != Delivery.Status.SENT else "",
            actor=who(delivery.person), extra={"campaign_id": delivery.campaign_id},
        ))
    for event in events.select_related("campaign").order_by("-occurred_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=event.occurred_at, kind=f"campaign-{event.kind}", kind_label=_("Campaign"),
            icon=ICONS.get(event.kind, "megaphone"),
            title=f"{event.get_kind_display()}: {event.campaign.name}",
            body=event.url, actor=who(event.person), extra={"campaign_id": event.campaign_id},
        ))
    for event in consents.order_by("-occurred_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=event.occurred_at, kind="consent", kind_label=_("Consent"), icon="shield-check",
            title=f"{event.get_action_display()}: {event.get_purpose_display()} ({event.get_channel_display()})",
            body=" · ".join(p for p in [event.get_source_display(), event.text_version and _("text version %(v)s") % {"v": event.text_version}, event.ip_address or ""] if p),
            actor=who(event.person),
        ))
    for submission in submissions.select_related("form").order_by("-created_at", "-pk")[:limit]:
        entries.append(TimelineEntry(
            when=submission.created_at, kind="form-response", kind_label=_("Response"), icon="ui-checks",
            title=_("Filled in web form %(name)s") % {"name": submission.form.name},
            body=submission.data.get("message", "") or ", ".join(f"{k}={v}" for k, v in submission.utm.items()),
            actor=who(submission.person),
        ))
    return entries
