"""The customer portal: magic link sign-in, own tickets only, never internal notes."""

import re

import pytest
from django.core import signing
from django.urls import reverse

from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from service import services
from service.models import PortalAccess, Ticket, TicketMessage
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client):
    person = PersonFactory(email="kunde@example.de")
    access = PortalAccess.objects.create(person=person)
    return person, access


def sign_in(client, access):
    response = client.get(reverse("service:portal_enter", args=[services.portal_token(access)]))
    assert response.status_code == 302


def test_the_magic_link_signs_the_customer_in(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    person, access = customer
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("service:portal_login"), {"email": "KUNDE@example.de"})
    assert response.status_code == 200
    link = re.search(r"http://\S+", mailoutbox[0].body).group(0)
    client.get(link.split("testserver", 1)[1])
    assert client.get(reverse("service:portal_ticket_list")).status_code == 200
    assert "_auth_user_id" not in client.session  # not a Django user


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, customer, mailoutbox):
    response = client.post(reverse("service:portal_login"), {"email": "fremd@example.de"})
    assert response.status_code == 200 and mailoutbox == []


def test_an_expired_or_forged_link_is_refused(client, customer, settings):
    _person, access = customer
    assert client.get(reverse("service:portal_enter", args=["forged"])).status_code == 400
    settings.SERVICE_PORTAL_LINK_MAX_AGE = -1
    assert client.get(reverse("service:portal_enter", args=[services.portal_token(access)])).status_code == 400
    assert client.get(reverse("service:portal_ticket_list")).status_code == 302


def test_another_customers_ticket_is_a_404(client, customer):
    person, access = customer
    own = TicketFactory(person=person, subject="Meins")
    foreign = TicketFactory(person=PersonFactory(), subject="Fremd")
    sign_in(client, access)
    listing = client.get(reverse("service:portal_ticket_list")).content.decode()
    assert "Meins" in listing and "Fremd" not in listing
    assert client.get(reverse("service:portal_ticket_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("service:portal_ticket_detail", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("service:portal_ticket_detail", args=[foreign.pk]), {"body": "x"}).status_code == 404
    assert not foreign.messages.exists()


def test_internal_notes_are_never_shown(client, customer):
    person, access = customer
    ticket = TicketFactory(person=person)
    TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.REPLY, body="Öffentliche Antwort")
    TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.NOTE, body="GEHEIME NOTIZ")
    sign_in(client, access)
    html = client.get(reverse("service:portal_ticket_detail", args=[ticket.pk])).content.decode()
    assert "Öffentliche Antwort" in html and "GEHEIME NOTIZ" not in html


def test_organization_tickets_only_when_allowed(client, customer):
    person, access = customer
    organization = OrganizationFactory()
    EmploymentFactory(person=person, organization=organization)
    colleague_ticket = TicketFactory(person=PersonFactory(), organization=organization)
    sign_in(client, access)
    url = reverse("service:portal_ticket_detail", args=[colleague_ticket.pk])
    assert client.get(url).status_code == 404
    access.sees_organization_tickets = True
    access.save()
    assert client.get(url).status_code == 200


def test_the_customer_opens_a_ticket_and_replies(client, customer, support):
    person, access = customer
    sign_in(client, access)
    response = client.post(reverse("service:portal_ticket_create"), {"subject": "Frage", "body": "Wie geht das?"})
    ticket = Ticket.objects.get(subject="Frage")
    assert ticket.person == person and ticket.channel == "portal"
    assert response.url == reverse("service:portal_ticket_detail", args=[ticket.pk])
    services.ticket_set_status(ticket=ticket, status="resolved")
    client.post(reverse("service:portal_ticket_detail", args=[ticket.pk]), {"body": "Doch nicht gelöst"})
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert client.post(reverse("service:portal_ticket_create"), {"subject": "", "body": ""}).status_code == 200


def test_staff_login_does_not_open_the_portal(client, support):
    client.force_login(support["anna"])
    assert client.get(reverse("service:portal_ticket_list")).status_code == 302


def test_a_deactivated_access_ends_the_session(client, customer):
    _person, access = customer
    sign_in(client, access)
    access.is_active = False
    access.save()
    assert client.get(reverse("service:portal_ticket_list")).status_code == 302


def test_token_salts_differ(customer):
    _person, access = customer
    with pytest.raises(signing.BadSignature):
        signing.loads(services.portal_token(access), salt=services.SURVEY_SALT)
