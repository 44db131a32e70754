"""Every field of every model is classified for data protection (crm.privacy.classify), so that a
new field cannot slip through; and every field classified as personal is in the export and gone
after the erasure, checked on a person who has a value in each of them."""

import json
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from appointments.models import SlotOffer
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from contacts.addressbooks.models import AddressBookCard, AddressBookConflict, AddressBookConnection
from contacts.mailboxes.models import MailboxConnection, SyncedEmail
from contacts.models import Activity, Attachment, MergeRecord, Tag
from contacts.tests.factories import PersonFactory
from crm import outbox, privacy
from crm.models import CustomField, OutgoingEmail, OutgoingEmailAttachment
from marketing import services as marketing_services
from marketing.models import Consent, ConsentEvent, Delivery, EmailAddressStatus, TrackingEvent, WebFormSubmission
from marketing.tests.factories import CampaignFactory, CampaignMemberFactory, WebFormFactory
from membership import services as membership_services
from membership.models import MembershipType
from sales.models import DealContact
from sales.tests.factories import DealFactory, LeadFactory
from service.models import (
    CustomerTier,
    InboundEmail,
    PortalAccess,
    SatisfactionSurvey,
    Ticket,
    TicketAttachment,
    TicketMessage,
)
from service.tests.factories import TicketFactory

EMAIL, SECOND = "hiltrud@zwiebel.example", "h.zwiebel@example.org"


def _project_models():
    """The models of the project's own apps (Django's and libraries' apps hold staff accounts,
    sessions and login attempts, not contacts), history tables aside: those copy a classified
    model's fields, and the erasure test below checks their rows too."""
    base = str(settings.BASE_DIR)
    for model in apps.get_models():
        config = apps.get_app_config(model._meta.app_label)
        if str(config.path).startswith(base) and ".venv" not in str(config.path) and not _history_of(model):
            yield model


def _history_of(model):
    return getattr(model, "instance_type", None)  # django-simple-history: the model a history row copies


def _fields(model) -> set[str]:
    return {f.name for f in model._meta.get_fields() if (f.concrete or f.many_to_many) and not f.auto_created}


def test_every_field_of_every_model_is_classified():
    problems = []
    for model in _project_models():
        classification = privacy.classification(model)
        if classification is None:
            problems.append(f"{model._meta.label}: not classified (crm.privacy.classify in the app's privacy module)")
            continue
        fields, classified = _fields(model), set(classification.by_field)
        if fields - classified:
            problems.append(f"{model._meta.label}: unclassified {sorted(fields - classified)}")
        if classified - fields:
            problems.append(f"{model._meta.label}: classified but no such field {sorted(classified - fields)}")
    assert problems == []


def test_the_models_checked_include_every_app():
    labels = {model._meta.app_label for model in _project_models()}
    assert {"contacts", "sales", "marketing", "service", "appointments", "membership", "analytics", "crm"} <= labels


# --- a person with a value in every personal field ------------------------------------------


@pytest.fixture
def subject(admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    now = timezone.now()
    # A custom field marked as personal data on each kind of record that can be about the person.
    for model in ("contacts.person", "sales.lead", "sales.deal", "service.ticket", "appointments.appointment"):
        CustomField.objects.create(model=model, key="allergy", type="text", label_de="Allergie", is_personal=True)
    allergy = {"allergy": "Zwiebelallergie"}
    person = PersonFactory(
        salutation="ms", academic_title="dr", first_name="Hiltrud", last_name="Zwiebelmann", email=EMAIL,
        email_secondary=SECOND, phone="+49 30 1234567", mobile="+49 171 1234567", street="Zwiebelweg 7",
        postal_code="34117", city="Zwiebelhausen", birthday=date(1970, 5, 6), description="mag Apfelkuchen",
        external_source="hr-zwiebel", external_id="zwiebel-4711", owner=admin_user, custom_fields=allergy,
    )
    person.tags.add(Tag.objects.create(name="Zwiebelfreundin"))
    # contacts
    Activity.objects.create(kind=Activity.Kind.NOTE, subject="Rückruf wegen Zahnarzt", body="Heizung tropft",
                            person=person, occurred_at=now, created_by=admin_user)
    Attachment.objects.create(person=person, file=ContentFile(b"Brief", name="zwiebel-brief.pdf"), name="zwiebel-brief.pdf",
                              size=5, uploaded_by=admin_user)
    mailbox = MailboxConnection(user=admin_user, host="imap.crm.test", username="admin@crm.test",
                                excluded=f"spam.example\n{SECOND}")
    mailbox.set_password("geheim")
    mailbox.save()
    synced = SyncedEmail.objects.create(
        message_key="<s1@zwiebel.example>", message_id="<s1@zwiebel.example>", thread_key="<s1@zwiebel.example>",
        connection=mailbox, owner=admin_user, direction=SyncedEmail.Direction.INCOMING, folder="INBOX",
        from_address=EMAIL, to_addresses=f"admin@crm.test, {SECOND}", subject="Heizung von Hiltrud", sent_at=now,
    )
    Activity.objects.create(kind=Activity.Kind.EMAIL, subject="Heizung von Hiltrud", body="tropft", person=person,
                            occurred_at=now, created_by=admin_user, synced_email=synced)
    book = AddressBookConnection(user=admin_user, url="https://dav.crm.test/", addressbook_url="https://dav.crm.test/admin/crm/",
                                 username="admin")
    book.set_password("geheim")
    book.save()
    AddressBookCard.objects.create(connection=book, person_id=person.pk, href="https://dav.crm.test/admin/crm/p.vcf",
                                   etag='"1"', card_hash="ab" * 32)
    AddressBookConflict.objects.create(connection=book, person_id=person.pk, person_label="Hiltrud vom Handy",
                                       kind=AddressBookConflict.Kind.CHANGED_THERE,
                                       remote_card="FN:Hiltrud vom Handy NOTE:Schlüssel beim Nachbarn")
    MergeRecord.objects.create(kind=MergeRecord.Kind.PERSON, survivor_id=person.pk, merged_id=person.pk + 1000,
                               merged_label="Hiltrud Zwiebelmann (doppelt)", merged_data={"email": "alt.hiltrud@example.org"})
    # sales
    lead = LeadFactory(first_name="Hiltrud", last_name="Zwiebelmann", email=EMAIL, phone="+49 561 998877",
                       company="Zwiebelmann Haustechnik", position="Inhaberin", postal_code="34117", city="Zwiebelhausen",
                       note="mag Apfelkuchen sehr", utm={"utm_source": "zwiebelletter"}, converted_person=person,
                       owner=admin_user, custom_fields=allergy)
    deal = DealFactory(owner=admin_user, lead=lead, name="Heizung für Hiltrud Zwiebelmann", next_step="Termin mit Hiltrud Zwiebelmann",
                       close_note=f"Rückruf an {EMAIL}", competitor="Hiltrud Zwiebelmann selbst", custom_fields=allergy)
    DealContact.objects.create(deal=deal, person=person, role=DealContact.Role.CHAMPION)
    # marketing
    campaign = CampaignFactory()
    marketing_services.consent_set(person=person, status=Consent.Status.GRANTED, source=Consent.Source.WEB_FORM,
                                   text_version="zwiebel-v1", ip_address="203.0.113.7", user_agent="Firefox Zwiebel")
    CampaignMemberFactory(campaign=campaign, person=person, call_note="Nachbarin hat Schlüssel")
    delivery = Delivery.objects.create(campaign=campaign, person=person, email=EMAIL, status=Delivery.Status.SENT,
                                       error="451 hiltrud greylisted")
    TrackingEvent.objects.create(delivery=delivery, campaign=campaign, person=person, kind=TrackingEvent.Kind.CLICK,
                                 url=f"https://example.com/?mail={EMAIL}")
    WebFormSubmission.objects.create(form=WebFormFactory(), person=person, ip_address="203.0.113.8", wants_newsletter=True,
                                     data={"email": EMAIL, "message": "Rollstuhl"}, utm={"utm_campaign": "zwiebelherbst"})
    EmailAddressStatus.objects.create(email=SECOND, reason="550 hiltrud unknown")
    # service
    ticket = TicketFactory(person=person, subject="Heizung tropft bei Zwiebelmann", description="Nachbarin hat Schlüssel",
                           complaint_measures="Zwiebelmann bekommt Ersatz", routing_explanation=f"VIP: {EMAIL}",
                           message_id="<t1.hiltrud@zwiebel.example>", custom_fields=allergy)
    message = TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, body="Heizung tropft immer noch",
                                           from_email=EMAIL, message_id="<m1.hiltrud@zwiebel.example>")
    TicketAttachment.objects.create(message=message, file=ContentFile(b"Foto", name="heizung.jpg"), name="heizung.jpg", size=4)
    InboundEmail.objects.create(raw=f"From: Hiltrud <{EMAIL}>\n\nHeizung tropft".encode(), ticket=ticket,
                                message_id="<m1.hiltrud@zwiebel.example>", error="Zwiebelmann: no such ticket")
    SatisfactionSurvey.objects.create(ticket=ticket, rating=4, comment="Hiltrud ist zufrieden")
    PortalAccess.objects.create(person=person, sees_organization_tickets=True, last_login_at=now)
    CustomerTier.objects.create(person=person, tier=CustomerTier.Tier.VIP, note="Rollstuhl")
    # appointments
    kind = AppointmentTypeFactory()
    AppointmentFactory(appointment_type=kind, person=person, customer_name="Hiltrud Zwiebelmann", customer_email=EMAIL,
                       customer_time_zone="America/Chicago", note="Bitte nur vormittags", custom_fields=allergy)
    SlotOffer.objects.create(appointment_type=kind, person=person, customer_name="Hiltrud Zwiebelmann", customer_email=EMAIL,
                             customer_time_zone="America/Chicago", message="Termin mit Hiltrud", expires_at=now + timedelta(days=3))
    # membership: a member who has resigned
    member = membership_services.member_join(person=person, membership_type=MembershipType.objects.create(name="Familie"),
                                             start_date=date(2021, 1, 1), by=admin_user)
    membership_services.member_resign(member=member, received_on=date(2026, 11, 18), by=admin_user)
    # the outbox
    email = outbox.email_queue(to=EMAIL, subject="Ihr Termin, Frau Zwiebelmann", body="Guten Tag Hiltrud Zwiebelmann",
                               html="<p>Guten Tag Hiltrud Zwiebelmann</p>", regarding=ticket)
    OutgoingEmail.objects.filter(pk=email.pk).update(last_reply=f"250 ok <{EMAIL}>")
    OutgoingEmailAttachment.objects.create(email=email, name="zwiebel.ics", content=b"SUMMARY:Hiltrud Zwiebelmann")
    OutgoingEmailAttachment.objects.create(email=email, name="zwiebel.pdf", file=ContentFile(b"%PDF", name="zwiebel.pdf"))
    assert Consent.objects.exists() and ConsentEvent.objects.exists() and Ticket.objects.count() == 1
    return person


def _empty(value) -> bool:
    if isinstance(value, FieldFile):
        return not value.name
    return value in (None, "", b"", [], {}) or (isinstance(value, memoryview) and not bytes(value))


def _comparable(value):
    if isinstance(value, FieldFile):
        return value.name
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def _watched():
    """(model, base model, field names): every table with personal, mentioned or derived fields."""
    for model in apps.get_models():
        base = _history_of(model) or model
        classification = privacy.classification(base)
        if classification is None:
            continue
        names = [*classification.personal, *classification.mentions, *classification.derived]
        if _history_of(model):  # the fields the history table copies
            copied = {f.name for f in model._meta.concrete_fields}
            names = [n for n in names if n in copied]
        if names:
            yield model, base, names


def _value(row, base, name):
    field = base._meta.get_field(name)
    if field.many_to_many:
        return sorted(str(related) for related in getattr(row, name).all())
    return _comparable(getattr(row, field.attname))


def _values() -> dict:
    values = {}
    for model, base, names in _watched():
        for row in model._base_manager.all():
            for name in names:
                value = _value(row, base, name)
                if not _empty(value):
                    values[(model, row.pk, name)] = value
    return values


def _texts(value) -> list[str]:
    """What of a value the export must show: text of three characters or more, dates."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, bool | int | float | bytes):
        return []
    text = privacy.plain(value)
    return [text] if isinstance(text, str) and len(text) >= 3 else []


@pytest.mark.django_db
def test_every_personal_field_is_in_the_export_and_gone_after_the_erasure(subject, admin_user):
    before = _values()

    filled = {(model, name) for model, _pk, name in before}
    unfilled = [
        f"{model._meta.label}.{name}"
        for model in _project_models()
        for name in (privacy.classification(model).personal + privacy.classification(model).mentions)
        if (model, name) not in filled
    ]
    assert unfilled == [], "give the subject a value in these fields, so that the test checks them"

    export = json.dumps(privacy.export_person(subject, by=admin_user), ensure_ascii=False).lower()
    missing = []
    for (model, _pk, name), value in before.items():
        if _history_of(model) or name not in privacy.classification(model).personal:
            continue
        field = model._meta.get_field(name)
        if isinstance(field, models.FileField | models.BinaryField):
            continue  # files and raw content are listed by name (and handed out with the export on request)
        missing += [f"{model._meta.label}.{name}: {text!r}" for text in _texts(value) if text.lower() not in export]
    assert missing == [], "personal data missing from the export"

    privacy.erase_person(subject, by=admin_user)
    left = []
    for (model, pk, name), value in before.items():
        row = model._base_manager.filter(pk=pk).first()
        if row is not None and _value(row, _history_of(model) or model, name) == value:
            left.append(f"{model._meta.label}#{pk}.{name}: {value!r}")
    assert left == [], "personal data left after the erasure"
