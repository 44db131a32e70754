"""Marketing workflows: consent, double opt-in, unsubscribe, campaign sends, call lists, web forms."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from contacts.models import Activity, Person
from crm import outbox, webhooks
from marketing import render, tokens
from marketing.models import (
    Campaign,
    CampaignMember,
    Consent,
    ConsentEvent,
    Delivery,
    EmailAddressStatus,
    Segment,
    TrackingEvent,
    WebForm,
    WebFormSubmission,
)
from marketing.privacy import is_in, suppressed_hashes
from marketing.segments import MAX_ORGANIZATION_IDS, consent_condition
from sales.services import campaign_figures, lead_capture

BATCH_SIZE = 1_000
ACTION_FOR_STATUS = {
    Consent.Status.PENDING: ConsentEvent.Action.REQUESTED,
    Consent.Status.GRANTED: ConsentEvent.Action.GRANTED,
    Consent.Status.WITHDRAWN: ConsentEvent.Action.WITHDRAWN,
}


# --- Consent -----------------------------------------------------------------------------------


@transaction.atomic
def consent_set(
    *, person: Person, status: str, source: str, purpose: str = Consent.Purpose.NEWSLETTER,
    channel: str = Consent.Channel.EMAIL, text_version: str = "", ip_address: str | None = None,
    user_agent: str = "", campaign: Campaign | None = None, user=None,
) -> Consent:
    """Set one consent and record the change; setting the state it already has records nothing."""
    consent, created = Consent.objects.select_for_update().get_or_create(
        person=person, purpose=purpose, channel=channel,
        defaults={"status": status, "source": source, "text_version": text_version, "ip_address": ip_address},
    )
    if not created:
        if consent.status == status:
            return consent
        consent.status, consent.source, consent.changed_at = status, source, timezone.now()
        consent.ip_address = ip_address
        if text_version:
            consent.text_version = text_version
        consent.save()
    ConsentEvent.objects.create(
        consent=consent, person=person, action=ACTION_FOR_STATUS[status], purpose=purpose, channel=channel,
        source=source, text_version=consent.text_version, ip_address=ip_address, user_agent=user_agent[:300],
        campaign=campaign, recorded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if status == Consent.Status.GRANTED:
        webhooks.emit("consent.granted", consent)
    elif status == Consent.Status.WITHDRAWN:
        webhooks.emit("consent.withdrawn", consent)
    return consent


@transaction.atomic
def consent_request_double_opt_in(
    *, person: Person, text_version: str, ip_address: str | None, user_agent: str = "",
    source: str = Consent.Source.WEB_FORM, campaign: Campaign | None = None, user=None,
) -> Consent:
    """Newsletter consent by email waits for the person to confirm the link we send them.
    `user`: who recorded the request (an API client's user; nobody for the public web form)."""
    current = Consent.objects.filter(person=person, purpose=Consent.Purpose.NEWSLETTER, channel=Consent.Channel.EMAIL).first()
    if current is not None and current.status == Consent.Status.GRANTED:
        return current
    consent = consent_set(
        person=person, status=Consent.Status.PENDING, source=source, text_version=text_version,
        ip_address=ip_address, user_agent=user_agent, campaign=campaign, user=user,
    )
    link = render.base_url() + reverse("marketing:consent_confirm", args=[tokens.confirm_token(consent.pk)])
    language = person.preferred_language if person.preferred_language in ("de", "en") else "de"
    with override(language):
        subject = _("Please confirm your newsletter subscription")
        body = _(
            "%(salutation)s,\n\nplease confirm that you want to receive our newsletter by opening this link:\n\n"
            "%(link)s\n\nIf you did not ask for it, ignore this email: without your confirmation you get nothing.\n"
        ) % {"salutation": person.letter_salutation, "link": link}
    outbox.email_queue(to=person.email, subject=subject, body=body, regarding=consent)
    return consent


def consent_confirm(*, token: str, ip_address: str | None, user_agent: str = "") -> Consent | None:
    """The double opt-in link: grants the pending consent (again opening it changes nothing)."""
    consent_id = tokens.read_confirm_token(token)
    consent = Consent.objects.select_related("person").filter(pk=consent_id).first() if consent_id else None
    if consent is None:
        return None
    if consent.status == Consent.Status.PENDING:
        consent = consent_set(
            person=consent.person, status=Consent.Status.GRANTED, source=Consent.Source.DOUBLE_OPT_IN,
            purpose=consent.purpose, channel=consent.channel, ip_address=ip_address, user_agent=user_agent,
        )
    return consent


@transaction.atomic
def unsubscribe(
    *, person: Person, campaign_id: int | None, ip_address: str | None, user_agent: str = "", user=None,
) -> Consent:
    """One-click unsubscribe: withdraws email newsletter consent; idempotent. `user`: who recorded
    it for the person (an API client's user; nobody for the link in the email)."""
    consent = Consent.objects.filter(person=person, purpose=Consent.Purpose.NEWSLETTER, channel=Consent.Channel.EMAIL).first()
    already = consent is not None and consent.status == Consent.Status.WITHDRAWN
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    consent = consent_set(
        person=person, status=Consent.Status.WITHDRAWN, source=Consent.Source.UNSUBSCRIBE,
        ip_address=ip_address, user_agent=user_agent, campaign=campaign, user=user,
    )
    if campaign is not None and not already:
        CampaignMember.objects.filter(campaign=campaign, person=person).update(status=CampaignMember.Status.OPTED_OUT)
        delivery = Delivery.objects.filter(campaign=campaign, person=person).first()
        if delivery is not None:
            TrackingEvent.objects.create(delivery=delivery, campaign=campaign, person=person, kind=TrackingEvent.Kind.UNSUBSCRIBE)
    return consent


# --- Tracking ----------------------------------------------------------------------------------


def tracking_record_open(*, delivery_id: int) -> None:
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return
    now = timezone.now()
    if Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now):
        TrackingEvent.objects.create(delivery=delivery, campaign_id=delivery.campaign_id, person_id=delivery.person_id, kind=TrackingEvent.Kind.OPEN)


def tracking_record_click(*, delivery_id: int, link_index: int) -> str | None:
    """The link's target if it was in the message of that delivery; None otherwise (no open redirect)."""
    delivery = Delivery.objects.select_related("campaign").filter(pk=delivery_id).first()
    if delivery is None or not 0 <= link_index < len(delivery.campaign.links):
        return None
    url = delivery.campaign.links[link_index]
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id, clicked_at__isnull=True).update(clicked_at=now)
        Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now)
        TrackingEvent.objects.create(delivery=delivery, campaign_id=delivery.campaign_id, person_id=delivery.person_id, kind=TrackingEvent.Kind.CLICK, url=url)
        CampaignMember.objects.filter(
            campaign_id=delivery.campaign_id, person_id=delivery.person_id,
            status__in=[CampaignMember.Status.TARGETED, CampaignMember.Status.SENT],
        ).update(status=CampaignMember.Status.RESPONDED)
    return url


# --- Segments ----------------------------------------------------------------------------------


def segment_create_for_organizations(*, name: str, organization_ids, owner, description: str = "") -> Segment:
    """A segment of the people working at exactly these organizations (a list chosen elsewhere,
    such as the customers dashboard's win-back candidates). At most MAX_ORGANIZATION_IDS, in the
    order given; the rest are left out."""
    ids = list(dict.fromkeys(int(pk) for pk in organization_ids))[:MAX_ORGANIZATION_IDS]
    return Segment.objects.create(
        name=name[:150], description=description, owner=owner, definition={"organization_ids": ids}
    )


# --- Campaigns ---------------------------------------------------------------------------------


def segment_people(campaign: Campaign):
    segments = list(campaign.segments.all())
    if not segments:
        return Person.objects.none()
    condition = Q()
    for segment in segments:
        condition |= Q(pk__in=segment.people().values("pk"))
    return Person.objects.filter(condition)


@transaction.atomic
def campaign_members_refresh(*, campaign: Campaign) -> int:
    """Add the people of the target segments as members (those already in stay as they are)."""
    before = CampaignMember.objects.filter(campaign=campaign).count()
    # All ids at once (a few MB for 100,000 people): a server-side cursor over the segment query
    # runs a fast-start plan that took minutes for 100,000 members.
    person_ids = list(segment_people(campaign).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    chunk = []
    for person_id in person_ids:
        chunk.append(CampaignMember(campaign=campaign, person_id=person_id, added_at=now))
        if len(chunk) >= 5_000:
            CampaignMember.objects.bulk_create(chunk, ignore_conflicts=True)
            chunk = []
    CampaignMember.objects.bulk_create(chunk, ignore_conflicts=True)
    return CampaignMember.objects.filter(campaign=campaign).count() - before


def email_recipients(campaign: Campaign):
    """Members who may get campaign email: an address, granted email consent, no hard bounce."""
    blocked = EmailAddressStatus.objects.values("email")
    return (
        Person.objects.filter(campaign_memberships__campaign=campaign)
        .exclude(email="")
        .filter(consent_condition("email"))
        .exclude(email__in=blocked)
    )


class SendRefused(Exception):
    """The campaign cannot be sent (not an email campaign in draft with a template)."""


def campaign_start_send(*, campaign: Campaign, user=None) -> None:
    """Freeze the content and start the send: the recipient list and the batches are made by a
    Celery task (`campaign_prepare_send`), not in the request, whatever the number of recipients.

    Refuses a campaign that is not an email campaign in draft with a template."""
    from marketing.tasks import prepare_send

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if not campaign.can_start_send:
            raise SendRefused(_("Only an email campaign in draft with a template can be sent."))
        content = render.template_content(campaign.template)
        campaign.sent_subject, campaign.sent_html, campaign.sent_text = content.subject, content.html, content.text
        campaign.sent_language, campaign.links = content.language, list(content.links)
        campaign.status, campaign.send_started_at = Campaign.Status.SENDING, timezone.now()
        campaign.recipients_ready_at = None
        campaign.save()
        campaign_id = campaign.pk
        transaction.on_commit(lambda: prepare_send.delay(campaign_id))


def campaign_prepare_send(*, campaign_id: int) -> int:
    """Add the segments' people as members, make one delivery per recipient with email consent,
    and queue the batches. Idempotent: a second run (a redelivered task, beat after a killed
    worker) finds the list made and adds nothing. Returns the number of recipients."""
    from marketing.tasks import send_batch

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, status=Campaign.Status.SENDING).first()
        if campaign is None or campaign.recipients_ready_at is not None:
            return 0
        campaign_members_refresh(campaign=campaign)
        count, last_pk = 0, 0
        suppressed = suppressed_hashes()
        recipients = email_recipients(campaign).order_by("pk").values_list("pk", "email")
        # Pages by primary key, not a server-side cursor (whose fast-start plan is slow here).
        while page := list(recipients.filter(pk__gt=last_pk)[:5_000]):
            last_pk = page[-1][0]
            rows = []
            for person_id, email in page:
                if is_in(email, suppressed):
                    continue  # the address of an erased person (marketing.privacy)
                rows.append(Delivery(campaign=campaign, person_id=person_id, email=email, batch=count // BATCH_SIZE))
                count += 1
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        if count and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE marketing_delivery")  # fresh statistics for the senders' claim queries
        campaign.recipients_ready_at = timezone.now()
        fields = ["recipients_ready_at"]
        if not count:
            campaign.status, campaign.send_finished_at = Campaign.Status.SENT, campaign.recipients_ready_at
            fields += ["status", "send_finished_at"]
        campaign.save(update_fields=fields)
        if not count:
            webhooks.emit("campaign.send_finished", campaign)
        batches = -(-count // BATCH_SIZE)
        transaction.on_commit(lambda: [send_batch.delay(campaign_id, b) for b in range(batches)])
    return count


def campaign_resume_stalled(*, stale_seconds: int) -> int:
    """Queue again every batch with pending rows (after giving back rows of dead senders), and
    the preparation of sends whose recipient list a dead worker did not finish."""
    from marketing.sending import stalled_batches
    from marketing.tasks import prepare_send, send_batch

    unprepared = Campaign.objects.filter(
        status=Campaign.Status.SENDING, recipients_ready_at__isnull=True,
        send_started_at__lt=timezone.now() - timedelta(seconds=stale_seconds),
    ).values_list("pk", flat=True)
    for campaign_id in unprepared:
        prepare_send.delay(campaign_id)
    pairs = stalled_batches(stale_seconds=stale_seconds)
    for campaign_id, batch in pairs:
        send_batch.delay(campaign_id, batch)
    return len(pairs)


def progress_summary(campaign: Campaign) -> dict:
    from marketing.sending import progress

    return progress(campaign.pk)


def template_test_send(*, template, user, person: Person) -> None:
    """The template filled with a real person's data, sent to the user themself."""
    content = render.template_content(template)
    organization = person.primary_organization()
    p = render.personalise(content, person=person, organization=organization.name if organization else "", to=user.email)
    outbox.email_queue(to=user.email, subject=f"[{_('Test')}] {p.subject}", body=p.text, html=p.html,
                       from_email=p.from_email, headers=p.headers, regarding=template)


@transaction.atomic
def call_log(*, member: CampaignMember, outcome: str, note: str, user) -> CampaignMember:
    """A rep's call to a member of a call list: outcome on the member, a call on the timeline."""
    member.call_outcome, member.call_note, member.called_at, member.called_by = outcome, note[:500], timezone.now(), user
    if outcome in (CampaignMember.CallOutcome.REACHED, CampaignMember.CallOutcome.APPOINTMENT):
        member.status = CampaignMember.Status.RESPONDED
    elif outcome == CampaignMember.CallOutcome.NOT_INTERESTED:
        member.status = CampaignMember.Status.OPTED_OUT
    member.save()
    activity = Activity.new_about(person=member.person, created_by=user)
    activity.kind = Activity.Kind.CALL
    activity.subject = f"{member.campaign.name}: {member.get_call_outcome_display()}"
    activity.body = note
    activity.save()
    return member


# --- Web forms ---------------------------------------------------------------------------------

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@transaction.atomic
def form_submit(
    *, form: WebForm, data: dict, utm: dict, ip_address: str | None, user_agent: str = "",
) -> WebFormSubmission:
    """A web form entry: creates or updates the person by email, attributes them to the form's
    campaign, and asks for double opt-in when they ticked the newsletter box."""
    email = data["email"].strip().lower()
    person = Person.objects.filter(email=email).order_by("pk").first()
    if person is None:
        person = Person(email=email, source=Person.Source.WEBSITE, lifecycle_stage=Person.Lifecycle.LEAD)
    for field in ("first_name", "last_name", "salutation", "postal_code", "city"):
        if data.get(field):
            setattr(person, field, data[field])
    if data.get("phone"):
        person.phone = data["phone"]
    if not person.last_name:
        person.last_name = email.split("@")[0][:100]
    person.save()
    submission = WebFormSubmission.objects.create(
        form=form, person=person, data={k: str(v) for k, v in data.items() if k != "newsletter"},
        utm={k: str(v)[:200] for k, v in utm.items() if k in UTM_KEYS and v},
        wants_newsletter=bool(data.get("newsletter")), ip_address=ip_address,
    )
    if form.campaign_id:
        member, _created = CampaignMember.objects.get_or_create(campaign_id=form.campaign_id, person=person)
        if member.status in (CampaignMember.Status.TARGETED, CampaignMember.Status.SENT):
            member.status = CampaignMember.Status.RESPONDED
            member.save(update_fields=["status"])
    campaign_code = (form.campaign.code if form.campaign_id else "") or utm.get("utm_campaign", "")
    lead_capture(
        first_name=data.get("first_name", ""), last_name=data.get("last_name", ""), email=email,
        company=data.get("company", ""), phone=data.get("phone", ""), source="web_form",
        campaign_code=campaign_code, utm=submission.utm, note=data.get("message", ""),
    )
    if data.get("newsletter"):
        consent_request_double_opt_in(
            person=person, text_version=form.consent_text_version, ip_address=ip_address, user_agent=user_agent,
            campaign=form.campaign,
        )
    return submission


# --- Results -----------------------------------------------------------------------------------


SUMMED = (
    "targeted", "sent", "delivered", "opened", "clicked", "bounced", "unsubscribed", "responded", "leads", "deals",
    "won_deals", "won_revenue", "unconverted",
)


def campaign_results(campaigns) -> dict[int, dict]:
    """Figures per campaign id, in a fixed number of queries for any number of campaigns."""
    campaigns = list(campaigns)
    ids = [c.pk for c in campaigns]
    figures = {
        c.pk: {"targeted": 0, "sent": 0, "delivered": 0, "opened": 0, "clicked": 0, "bounced": 0,
               "unsubscribed": 0, "responded": 0, "leads": 0, "deals": 0, "won_deals": 0,
               "won_revenue": Decimal("0.00"), "unconverted": 0, "cost": c.cost, "cost_per_lead": None, "roi": None}
        for c in campaigns
    }
    for row in (
        CampaignMember.objects.filter(campaign_id__in=ids).values("campaign_id").annotate(
            targeted=Count("pk"),
            responded=Count("pk", filter=Q(status__in=[CampaignMember.Status.RESPONDED, CampaignMember.Status.CONVERTED])),
        )
    ):
        figures[row["campaign_id"]].update(targeted=row["targeted"], responded=row["responded"])
    for row in (
        Delivery.objects.filter(campaign_id__in=ids).values("campaign_id").annotate(
            sent=Count("pk", filter=Q(status__in=[Delivery.Status.SENT, Delivery.Status.BOUNCED])),
            delivered=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            bounced=Count("pk", filter=Q(status=Delivery.Status.BOUNCED)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    ):
        figures[row["campaign_id"]].update({k: v for k, v in row.items() if k != "campaign_id"})
    for row in (
        TrackingEvent.objects.filter(campaign_id__in=ids, kind=TrackingEvent.Kind.UNSUBSCRIBE)
        .values("campaign_id").annotate(n=Count("person_id", distinct=True))
    ):
        figures[row["campaign_id"]]["unsubscribed"] = row["n"]
    # Leads, deals and won revenue come from sales, attributed by the campaign code (utm_campaign);
    # the revenue is in the company currency, "unconverted" the won deals without an exchange rate.
    sales = campaign_figures([c.code for c in campaigns])
    for campaign in campaigns:
        f = figures[campaign.pk]
        f.update(sales.get(campaign.code, {}))
        if f["leads"]:
            f["cost_per_lead"] = (Decimal(campaign.cost) / f["leads"]).quantize(Decimal("0.01"))
        if campaign.cost:
            f["roi"] = ((f["won_revenue"] - Decimal(campaign.cost)) / Decimal(campaign.cost) * 100).quantize(Decimal("0.1"))
    return figures


def channel_results(campaigns, figures: dict[int, dict]) -> list[dict]:
    """The figures of `campaign_results` summed per channel (in the order of Campaign.Channel), with
    cost per lead and return on investment of the sums: what the results page and the marketing
    dashboard both show."""
    channels: dict[str, dict] = {}
    for campaign in campaigns:
        total = channels.setdefault(campaign.channel, {
            "channel": campaign.channel, "label": str(Campaign.Channel(campaign.channel).label), "campaigns": 0,
            "cost": Decimal("0.00"), **{key: 0 for key in SUMMED},
        })
        total["campaigns"] += 1
        total["cost"] += Decimal(campaign.cost)
        for key in SUMMED:
            total[key] += figures[campaign.pk][key]
    rows = [channels[value] for value in Campaign.Channel.values if value in channels]
    for total in rows:
        total["won_revenue"] = Decimal(total["won_revenue"]).quantize(Decimal("0.01"))
        total["cost_per_lead"] = (total["cost"] / total["leads"]).quantize(Decimal("0.01")) if total["leads"] else None
        total["roi"] = (
            ((total["won_revenue"] - total["cost"]) / total["cost"] * 100).quantize(Decimal("0.1")) if total["cost"] else None
        )
    return rows
