"""Demo and benchmark data for marketing: German templates, segments, campaigns of every channel,
consents with their history, and one sent newsletter with opens, clicks and an unsubscribe.

Large data sets get consents for most people and a sent campaign of up to 100,000 recipients,
written in bulk (crm.bulk), one transaction per 10,000 people.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from contacts.models import Person
from crm import bulk
from crm.roles import Role
from crm.seeding import Seeder, register
from marketing.models import (
    Campaign,
    CampaignMember,
    Consent,
    ConsentEvent,
    Delivery,
    EmailTemplate,
    Segment,
    TrackingEvent,
    WebForm,
)
from marketing.render import extract_links, text_from_html

CHUNK = 10_000
MAX_RECIPIENTS = 100_000

NEWSLETTER_DE = """<h1>Frühjahrsaktion 2026</h1>
<p>{{ salutation }},</p>
<p>für {{ organization }} haben wir bis Ende April 15 % Rabatt auf alle Wartungsverträge reserviert.</p>
<p><a href="https://www.example.com/fruehjahr">Zum Angebot</a> · <a href="https://www.example.com/termin">Beratungstermin vereinbaren</a></p>
<p>Mit freundlichen Grüßen<br>Ihr Team der Beispiel GmbH</p>"""
NEWSLETTER_EN = """<h1>Spring offer 2026</h1>
<p>{{ salutation }},</p>
<p>until the end of April we reserved a 15% discount on all service contracts for {{ organization }}.</p>
<p><a href="https://www.example.com/spring">See the offer</a></p>
<p>Kind regards<br>Your Beispiel GmbH team</p>"""
INVITATION_DE = """<p>{{ salutation }},</p>
<p>wir laden Sie herzlich zu unserem Webinar „Industrie 4.0 in der Praxis“ am 12. März ein.</p>
<p><a href="https://www.example.com/webinar">Jetzt anmelden</a></p>"""


def _person_ids() -> list[int]:
    """People without any consent yet (a second seeding run adds to the first)."""
    return list(Person.objects.filter(consents__isnull=True).order_by("pk").values_list("pk", flat=True))


def seed_marketing(*, scale: int, users: dict, faker, log) -> None:
    rng = random.Random(2026)
    owner = (users.get(Role.MARKETING) or users.get(Role.ADMIN) or [None])[0]
    now = timezone.now()
    # Campaign codes are unique: a second run gets its own.
    run = f"-{Campaign.objects.count()}" if Campaign.objects.exists() else ""
    with transaction.atomic():
        templates = [
            EmailTemplate.objects.create(name="Newsletter Frühjahr", language="de", subject="{{ first_name }}, unsere Frühjahrsaktion für {{ organization }}", body_html=NEWSLETTER_DE, created_by=owner),
            EmailTemplate.objects.create(name="Newsletter spring", language="en", subject="Our spring offer for {{ organization }}", body_html=NEWSLETTER_EN, created_by=owner),
            EmailTemplate.objects.create(name="Webinar-Einladung", language="de", subject="Einladung: Webinar Industrie 4.0", body_html=INVITATION_DE, created_by=owner),
        ]
        win_back = Segment.objects.create(name="Rückgewinnung ehemaliger Kunden", description="Ehemalige Kunden mit E-Mail-Einwilligung", definition={"lifecycle_stages": ["former_customer"], "email_consent": True}, owner=owner)
        loyal = Segment.objects.create(name="Treue Kunden", description="Kunden seit mehr als zwei Jahren", definition={"lifecycle_stages": ["customer"], "customer_since_before": (now.date() - timedelta(days=730)).isoformat()}, owner=owner)
        newsletter = Segment.objects.create(name="Newsletter-Empfänger", description="Alle mit E-Mail-Einwilligung", definition={"email_consent": True}, owner=owner)
        munich = Segment.objects.create(name="Region München (PLZ 8)", definition={"postal_code_prefix": "8", "country": "DE"}, owner=owner)
        spring = Campaign.objects.create(name="Frühjahrsaktion 2026", code=f"fruehjahr-2026{run}", channel=Campaign.Channel.EMAIL, goal="Wartungsverträge verlängern", budget=Decimal("5000"), cost=Decimal("3200"), start_date=now.date() - timedelta(days=20), end_date=now.date() + timedelta(days=40), owner=owner, template=templates[0])
        spring.segments.add(newsletter)
        calls = Campaign.objects.create(name="Messe-Nachfass-Anrufe Hannover", code=f"messe-hannover-anrufe{run}", channel=Campaign.Channel.PHONE, goal="Termine mit Messekontakten", budget=Decimal("2000"), cost=Decimal("800"), start_date=now.date() - timedelta(days=5), owner=owner)
        calls.segments.add(munich)
        catalogue = Campaign.objects.create(name="Katalog Herbst 2026", code=f"katalog-herbst-2026{run}", channel=Campaign.Channel.MAIL, budget=Decimal("12000"), cost=Decimal("0"), start_date=now.date() + timedelta(days=90), owner=owner)
        catalogue.segments.add(loyal)
        webinar = Campaign.objects.create(name="Webinar Industrie 4.0", code=f"webinar-industrie-40{run}", channel=Campaign.Channel.EVENT, budget=Decimal("1500"), cost=Decimal("450"), start_date=now.date() + timedelta(days=14), owner=owner, template=templates[2])
        webinar.segments.add(newsletter)
        winback = Campaign.objects.create(name="Rückgewinnung 2026", code=f"rueckgewinnung-2026{run}", channel=Campaign.Channel.EMAIL, budget=Decimal("1000"), owner=owner, template=templates[0])
        winback.segments.add(win_back)
        Campaign.objects.create(name="LinkedIn-Kampagne Maschinenbau", code=f"linkedin-maschinenbau{run}", channel=Campaign.Channel.SOCIAL, budget=Decimal("3000"), cost=Decimal("2100"), owner=owner)
        WebForm.objects.create(name="Kontaktformular Website", title="Kontakt aufnehmen", fields=["salutation", "first_name", "company", "phone", "message"], campaign=spring, owner=owner)
        WebForm.objects.create(name="Anmeldung Webinar", title="Zum Webinar anmelden", fields=["first_name", "company"], campaign=webinar, owner=owner)

    person_ids = _person_ids()
    log(f"marketing: consents for {len(person_ids):,} people, a sent newsletter, call list and direct-mail campaigns")
    consented = []
    for start in range(0, len(person_ids), CHUNK):
        chunk = person_ids[start:start + CHUNK]
        consents, events = [], []
        for person_id in chunk:
            roll = rng.random()
            if roll < 0.65:
                when = now - timedelta(days=rng.randint(30, 700))
                consents.append(Consent(person_id=person_id, purpose="newsletter", channel="email", status="granted", source="double_opt_in", text_version="2025-01", changed_at=when))
                consented.append(person_id)
            if roll < 0.35:
                consents.append(Consent(person_id=person_id, purpose="newsletter", channel="mail", status="granted", source="web_form", text_version="2025-01", changed_at=now - timedelta(days=rng.randint(30, 700))))
            if 0.65 <= roll < 0.70:
                consents.append(Consent(person_id=person_id, purpose="newsletter", channel="email", status="withdrawn", source="unsubscribe", text_version="2025-01", changed_at=now - timedelta(days=rng.randint(1, 300))))
        with transaction.atomic():
            bulk.insert_objects(Consent, consents)
            for consent in consents:
                if consent.source == "double_opt_in":
                    events.append(ConsentEvent(consent_id=consent.pk, person_id=consent.person_id, action="requested", purpose=consent.purpose, channel=consent.channel, source="web_form", text_version=consent.text_version, ip_address="203.0.113.7", occurred_at=consent.changed_at - timedelta(minutes=7)))
                events.append(ConsentEvent(consent_id=consent.pk, person_id=consent.person_id, action=consent.status, purpose=consent.purpose, channel=consent.channel, source=consent.source, text_version=consent.text_version, ip_address="203.0.113.7", occurred_at=consent.changed_at))
            bulk.insert_objects(ConsentEvent, events)

    recipients = consented[:MAX_RECIPIENTS]
    spring.sent_subject, spring.sent_html = templates[0].subject, templates[0].body_html
    spring.sent_text, spring.sent_language = text_from_html(templates[0].body_html), "de"
    spring.links, spring.status = extract_links(templates[0].body_html), Campaign.Status.SENT
    spring.send_started_at, spring.send_finished_at = now - timedelta(days=19), now - timedelta(days=19) + timedelta(minutes=5)
    spring.save()
    sent_at = spring.send_started_at
    for start in range(0, len(recipients), CHUNK):
        chunk = recipients[start:start + CHUNK]
        chunk_emails = dict(Person.objects.filter(pk__in=chunk).values_list("pk", "email"))
        members, deliveries, events = [], [], []
        for index, person_id in enumerate(chunk):
            roll = rng.random()
            status = CampaignMember.Status.RESPONDED if roll < 0.06 else CampaignMember.Status.SENT
            members.append(CampaignMember(campaign_id=spring.pk, person_id=person_id, status=status, added_at=sent_at))
            bounced = roll > 0.985
            deliveries.append(Delivery(
                campaign_id=spring.pk, person_id=person_id, email=chunk_emails.get(person_id) or f"person{person_id}@example.com",
                batch=(start + index) // 1_000, status=Delivery.Status.BOUNCED if bounced else Delivery.Status.SENT,
                sent_at=sent_at, opened_at=sent_at + timedelta(hours=3) if roll < 0.32 else None,
                clicked_at=sent_at + timedelta(hours=3, minutes=2) if roll < 0.06 else None,
            ))
        with transaction.atomic():
            bulk.insert_objects(CampaignMember, members)
            bulk.insert_objects(Delivery, deliveries)
            for delivery in deliveries:
                if delivery.opened_at:
                    events.append(TrackingEvent(delivery_id=delivery.pk, campaign_id=spring.pk, person_id=delivery.person_id, kind="open", occurred_at=delivery.opened_at))
                if delivery.clicked_at:
                    events.append(TrackingEvent(delivery_id=delivery.pk, campaign_id=spring.pk, person_id=delivery.person_id, kind="click", url=spring.links[0], occurred_at=delivery.clicked_at))
            bulk.insert_objects(TrackingEvent, events)

    from marketing.services import campaign_members_refresh

    for campaign in (calls, catalogue):
        campaign_members_refresh(campaign=campaign)
    log(f"marketing: newsletter sent to {len(recipients):,} recipients")


register(Seeder("marketing", seed_marketing, order=40, has_data=lambda: Campaign.objects.exists()))
