"""GDPR across the apps: the export holds what sales, marketing, service and appointments store
about a person; the erasure leaves none of the old values in any table of those apps (history
tables included), the address is never mailed again, and it all happens in one transaction."""

import json
import os
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, SlotOffer
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from contacts.tests.factories import PersonFactory
from crm import outbox, privacy
from crm.models import OutgoingEmail, PrivacyRequest
from crm.search import search as global_search
from marketing import services as marketing_services
from marketing.models import (
    CampaignMember,
    Consent,
    ConsentEvent,
    Delivery,
    EmailAddressStatus,
    SuppressedAddress,
    TrackingEvent,
    WebFormSubmission,
)
from marketing.privacy import email_hash
from marketing.tests.factories import CampaignFactory, CampaignMemberFactory, ConsentFactory, WebFormFactory
from sales.models import Deal, DealContact, Lead
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

NAME, EMAIL, SECOND = "Hiltrud Zwiebelmann", "hiltrud@example.de", "h.zwiebel@example.org"
OLD_VALUES = {
    "Hiltrud", "Zwiebelmann", EMAIL, SECOND, "mag Apfelkuchen", "Rückruf wegen Zahnarzt", "Heizung tropft",
    "Nachbarin hat Schlüssel", "203.0.113.7", "Firefox Zwiebel", "Rollstuhl", "Bitte nur vormittags",
    "America/Chicago", "Termin mit Hiltrud",
}
APPS = ["sales", "marketing", "service", "appointments"]


@pytest.fixture
def subject(admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    person = PersonFactory(first_name="Hiltrud", last_name="Zwiebelmann", email=EMAIL, email_secondary=SECOND, owner=admin_user)
    # sales
    lead = LeadFactory(first_name="Hiltrud", last_name="Zwiebelmann", email=EMAIL, phone="+49 561 998877",
                       company="Zwiebelmann Haustechnik", note="mag Apfelkuchen", utm={"utm_source": "newsletter"},
                       converted_person=person, owner=admin_user)
    lead.note = "mag Apfelkuchen sehr"
    lead.save()  # a second history row
    matching = LeadFactory(first_name="H.", last_name="Zwiebelmann", email=SECOND, owner=admin_user)
    deal = DealFactory(owner=admin_user, next_step="Termin mit Hiltrud Zwiebelmann", lead=lead)
    deal.close_note = "Rückruf an Hiltrud@Example.de erbeten"  # names the person: scrubbed
    deal.save()
    DealContact.objects.create(deal=deal, person=person, role=DealContact.Role.CHAMPION)
    # marketing
    campaign = CampaignFactory()
    marketing_services.consent_set(person=person, status=Consent.Status.GRANTED, source=Consent.Source.WEB_FORM,
                                   ip_address="203.0.113.7", user_agent="Firefox Zwiebel")
    CampaignMemberFactory(campaign=campaign, person=person, call_note="Nachbarin hat Schlüssel")
    delivery = Delivery.objects.create(campaign=campaign, person=person, email=EMAIL, status=Delivery.Status.SENT,
                                       error="")
    TrackingEvent.objects.create(delivery=delivery, campaign=campaign, person=person, kind=TrackingEvent.Kind.CLICK,
                                 url=f"https://example.com/?mail={EMAIL}")
    form = WebFormFactory()
    WebFormSubmission.objects.create(form=form, person=person, ip_address="203.0.113.7",
                                     data={"email": EMAIL, "first_name": "Hiltrud", "message": "Rollstuhl"})
    EmailAddressStatus.objects.create(email=SECOND, reason="550 hiltrud unknown")
    # service
    ticket = TicketFactory(person=person, subject="Heizung tropft bei Zwiebelmann", description="Rückruf wegen Zahnarzt")
    ticket.description = "Heizung tropft, Nachbarin hat Schlüssel"
    ticket.save()
    message = TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, body="Heizung tropft",
                                           from_email=EMAIL)
    TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.NOTE, body="Nachbarin hat Schlüssel")
    attachment = TicketAttachment.objects.create(message=message, file=ContentFile(b"Foto", name="heizung.jpg"),
                                                 name="heizung.jpg", size=4)
    InboundEmail.objects.create(raw=f"From: {NAME} <{EMAIL}>\n\nHeizung tropft".encode(), ticket=ticket)
    SatisfactionSurvey.objects.create(ticket=ticket, rating=4, comment="Hiltrud ist zufrieden")
    PortalAccess.objects.create(person=person)
    CustomerTier.objects.create(person=person, note="Rollstuhl")
    # appointments
    kind = AppointmentTypeFactory()
    appointment = AppointmentFactory(appointment_type=kind, person=person, customer_name=NAME, customer_email=EMAIL,
                                     customer_time_zone="America/Chicago", note="Bitte nur vormittags")
    appointment.note = "Bitte nur vormittags, Rollstuhl"
    appointment.save()
    SlotOffer.objects.create(appointment_type=kind, person=person, customer_name=NAME, customer_email=EMAIL,
                             message="Termin mit Hiltrud", expires_at=timezone.now() + timedelta(days=3))
    # the outbox: an email to the person, and one to a host that names them
    to_person = outbox.email_queue(to=EMAIL, subject="Ihr Termin", body="Guten Tag Hiltrud Zwiebelmann", regarding=ticket)
    to_host = outbox.email_queue(to="berater@firma.de", subject="Termin mit Hiltrud Zwiebelmann",
                                 body="Kundin: Hiltrud Zwiebelmann, hiltrud@example.de",
                                 attachments=[("einladung.ics", "SUMMARY:Hiltrud Zwiebelmann", "text/calendar")])
    return {"person": person, "lead": lead, "to_person": to_person, "to_host": to_host, "matching": matching, "deal": deal, "ticket": ticket,
            "attachment": attachment, "appointment": appointment, "campaign": campaign}


def _rows_with_old_values(app_labels):
    found = []
    for label in app_labels:
        for model in apps.get_app_config(label).get_models():
            for row in model._base_manager.values():
                text = " ".join(str(v) for v in row.values())
                hits = {value for value in OLD_VALUES if value.lower() in text.lower()}
                if hits:
                    found.append((model.__name__, sorted(hits)))
    return found


def test_export_has_a_section_per_app_with_the_data(subject, admin_user):
    data = privacy.export_person(subject["person"], by=admin_user)
    sections = data["sections"]
    assert {"sales", "marketing", "service", "appointments"} <= set(sections)
    json.dumps(data)  # serialisable
    sales = sections["sales"]["data"]
    leads = [r for r in sales if r["type"] == "lead"]
    assert {r["email"] for r in leads} == {EMAIL, SECOND}
    assert any(r["note"] == "mag Apfelkuchen sehr" and r["utm"] == {"utm_source": "newsletter"} for r in leads)
    assert [r["role"] for r in sales if r["type"] == "deal_role"] == ["champion"]
    marketing = {r["type"]: r for r in sections["marketing"]["data"]}
    assert marketing["consent"]["status"] == "granted"
    assert marketing["consent"]["events"][0]["user_agent"] == "Firefox Zwiebel"
    assert marketing["campaign_member"]["call_note"] == "Nachbarin hat Schlüssel"
    assert marketing["delivery"]["email"] == EMAIL
    assert marketing["tracking"]["kind"] == "click"
    assert marketing["form_submission"]["data"]["message"] == "Rollstuhl"
    assert marketing["blocked_address"]["email"] == SECOND
    service = {r["type"]: r for r in sections["service"]["data"]}
    ticket = service["ticket"]
    assert ticket["subject"] == "Heizung tropft bei Zwiebelmann"
    assert {m["kind"] for m in ticket["messages"]} == {"customer", "note"}  # internal notes are about them too
    assert ticket["messages"][0]["attachments"] == [{"name": "heizung.jpg", "size": 4}]
    assert ticket["survey"]["comment"] == "Hiltrud ist zufrieden"
    assert service["portal_access"]["active"] is True and service["customer_tier"]["note"] == "Rollstuhl"
    appointments = {r["type"]: r for r in sections["appointments"]["data"]}
    assert appointments["appointment"]["note"] == "Bitte nur vormittags, Rollstuhl"
    assert appointments["appointment"]["time_zone"] == "America/Chicago"
    assert appointments["slot_offer"]["message"] == "Termin mit Hiltrud"
    assert [e["subject"] for e in sections["crm.outbox"]["data"]] == ["Ihr Termin"]
    log = PrivacyRequest.objects.get()
    assert log.summary["service"] == 3 and "Zwiebelmann" not in json.dumps(log.summary)


def test_erasure_leaves_no_old_value_in_any_table_of_the_apps(subject, admin_user):
    assert _rows_with_old_values(APPS)  # the check finds them before
    file_path = subject["attachment"].file.path
    touched = privacy.erase_person(subject["person"], by=admin_user)
    assert _rows_with_old_values(APPS + ["contacts", "crm"]) == []
    assert all(touched[key] > 0 for key in [*APPS, "crm.outbox"])
    # The email to the person is gone; the host's keeps its delivery record, the name scrubbed.
    assert list(OutgoingEmail.objects.values_list("to", "subject")) == [("berater@firma.de", "Termin mit […]")]
    assert not subject["to_host"].attachments.exists()
    # Business records stay, anonymous.
    lead = Lead.objects.get(pk=subject["lead"].pk)
    assert lead.status == subject["lead"].status and lead.email == "" and lead.utm == {}
    assert Lead.objects.get(pk=subject["matching"].pk).email == ""
    deal = Deal.objects.get(pk=subject["deal"].pk)
    assert "Termin mit" in deal.next_step and not DealContact.objects.filter(person=subject["person"]).exists()
    assert deal.close_note == "Rückruf an […] erbeten"
    assert Deal.history.filter(id=deal.pk).exists()  # the deal's history stays, scrubbed
    ticket = Ticket.objects.get(pk=subject["ticket"].pk)
    assert ticket.status == Ticket.Status.OPEN and ticket.description == ""
    assert not TicketAttachment.objects.exists() and not os.path.exists(file_path)
    assert not InboundEmail.objects.exists() and not PortalAccess.objects.exists()
    assert SatisfactionSurvey.objects.get().rating == 4
    appointment = Appointment.objects.get(pk=subject["appointment"].pk)
    assert appointment.start == subject["appointment"].start and appointment.customer_email == ""
    assert not Consent.objects.exists() and not ConsentEvent.objects.exists() and not WebFormSubmission.objects.exists()
    assert CampaignMember.objects.get().call_note == "" and Delivery.objects.get().email == ""
    assert SuppressedAddress.objects.count() == 2
    assert not any(hits for _provider, hits in global_search(admin_user, "Zwiebelmann"))
    assert any(hits for _provider, hits in global_search(admin_user, ticket.number))


def test_admin_finds_a_suppressed_address_by_its_hash(subject, admin_user, client):
    privacy.erase_person(subject["person"], by=admin_user)
    client.force_login(admin_user)
    response = client.get(reverse("admin:marketing_suppressedaddress_changelist"), {"q": EMAIL.upper()})
    assert response.status_code == 200
    assert email_hash(EMAIL) in response.content.decode() and email_hash(SECOND) not in response.content.decode()
    assert EMAIL not in response.content.decode()


def test_erased_address_gets_no_campaign_email_again(subject, admin_user):
    running = CampaignFactory(status="sending")
    waiting = Delivery.objects.create(campaign=running, person=subject["person"], email=EMAIL)
    privacy.erase_person(subject["person"], by=admin_user)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.email) == (Delivery.Status.FAILED, "")
    # The address comes back, e.g. by an import, with a consent: the campaign still skips it.
    returned = PersonFactory(email=EMAIL)
    ConsentFactory(person=returned)
    other = PersonFactory(email="someone.else@example.de")
    ConsentFactory(person=other)
    campaign = CampaignFactory()
    for person in (returned, other):
        CampaignMemberFactory(campaign=campaign, person=person)
    marketing_services.campaign_start_send(campaign=campaign)
    assert marketing_services.campaign_prepare_send(campaign_id=campaign.pk) == 1
    assert list(Delivery.objects.filter(campaign=campaign).values_list("email", flat=True)) == ["someone.else@example.de"]


def test_a_failing_provider_rolls_back_every_app(subject, admin_user, monkeypatch):
    def fail(person):
        raise RuntimeError("disk full")

    # Order 1 runs last (the erasure goes from the highest order down), after every app erased.
    monkeypatch.setitem(privacy._providers, "zz.fail", privacy.PrivacyProvider("zz.fail", "Fail", export=list, erase=fail, order=1))
    with pytest.raises(RuntimeError):
        privacy.erase_person(subject["person"], by=admin_user)
    assert Lead.objects.get(pk=subject["lead"].pk).email == EMAIL
    assert Ticket.objects.get(pk=subject["ticket"].pk).subject == "Heizung tropft bei Zwiebelmann"
    assert Appointment.objects.get(pk=subject["appointment"].pk).note == "Bitte nur vormittags, Rollstuhl"
    assert Consent.objects.filter(person=subject["person"]).exists()
    assert not SuppressedAddress.objects.exists()
    assert Lead.history.filter(id=subject["lead"].pk).count() == 2
    assert not PrivacyRequest.objects.filter(kind=PrivacyRequest.Kind.ERASURE).exists()
