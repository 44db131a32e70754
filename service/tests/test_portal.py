"""The customer portal: magic link sign-in, own tickets only, never internal notes."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from crm.models import OutgoingEmail
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
    access.refresh_from_db()
    response = client.post(reverse("service:portal_enter", args=[services.portal_token(access)]))
    assert response.status_code == 302


def request_link(client, email, **extra):
    return client.post(reverse("service:portal_login"), {"email": email}, **extra)


def link_path(email) -> str:
    return urlsplit(re.search(r"http://\S+", email.body).group(0)).path


def signed_in(client) -> bool:
    return client.get(reverse("service:portal_ticket_list")).status_code == 200


def without_tokens(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


def test_the_magic_link_signs_the_customer_in(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    person, access = customer
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, "KUNDE@example.de")
    assert response.status_code == 200
    path = link_path(mailoutbox[0])
    page = client.get(path)  # what a mail scanner does, too: it signs nobody in
    assert page.status_code == 200 and 'data-testid="portal-sign-in"' in page.content.decode()
    assert not signed_in(client)
    assert client.post(path).status_code == 302
    assert signed_in(client)
    assert "_auth_user_id" not in client.session  # not a Django user


def test_the_link_is_mailed_by_a_task_through_the_outbox(client, customer, django_capture_on_commit_callbacks):
    _person, access = customer
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_link(client, "kunde@example.de")
    assert not OutgoingEmail.objects.exists()  # nothing is looked up or stored in the request
    assert len(callbacks) == 1
    callbacks[0]()  # the task (eager in tests)
    email = OutgoingEmail.objects.get()
    assert email.to == "kunde@example.de" and email.regarding_id == access.pk


def test_customers_and_strangers_get_the_same_answer_after_the_same_work(client, customer, django_capture_on_commit_callbacks):
    answers = {}
    for email in ("kunde@example.de", "fremd@example.de"):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = request_link(client, email)
        answers[email] = (response.status_code, without_tokens(response.content), len(queries), len(callbacks))
        for callback in callbacks:
            callback()
    assert answers["kunde@example.de"] == answers["fremd@example.de"]
    assert answers["kunde@example.de"][2] == 0  # the address is not looked up in the request at all
    assert list(OutgoingEmail.objects.values_list("to", flat=True)) == ["kunde@example.de"]


def test_a_used_link_gives_a_page_offering_a_new_one(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, "kunde@example.de")
    path = link_path(mailoutbox[0])
    assert client.post(path).status_code == 302
    client.post(reverse("service:portal_logout"))
    for response in (client.get(path), client.post(path)):
        html = response.content.decode()
        assert response.status_code == 400
        assert "it was used already" in html and "Send sign-in link" in html
    assert not signed_in(client)


def test_a_newer_link_supersedes_the_older_one(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, "kunde@example.de")
        request_link(client, "kunde@example.de")
    older, newer = (link_path(m) for m in mailoutbox)
    assert older != newer
    assert client.post(older).status_code == 400
    assert not signed_in(client)
    assert client.post(newer).status_code == 302
    assert signed_in(client)


def test_signing_out_ends_the_session_and_the_links_sent_before(client, customer):
    _person, access = customer
    sign_in(client, access)
    access.refresh_from_db()
    unused = reverse("service:portal_enter", args=[services.portal_token(access)])  # a second link, not yet used
    client.post(reverse("service:portal_logout"))
    assert not signed_in(client)
    assert client.post(unused).status_code == 400
    assert not signed_in(client)


def test_one_link_signs_in_only_once_even_in_two_sessions(customer, client_factory):
    _person, access = customer
    path = reverse("service:portal_enter", args=[services.portal_token(access)])
    first, second = client_factory(), client_factory()
    assert [first.post(path).status_code, second.post(path).status_code] == [302, 400]
    assert signed_in(first) and not signed_in(second)


def test_link_requests_are_limited_per_client(client, customer, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.SERVICE_PORTAL_LINK_RATE_LIMIT = 3
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [request_link(client, f"fremd{i}@example.de", REMOTE_ADDR="198.51.100.20").status_code for i in range(4)]
        limited = request_link(client, "kunde@example.de", REMOTE_ADDR="198.51.100.20")
        other_client = request_link(client, "kunde@example.de", REMOTE_ADDR="198.51.100.21")
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429 and "Too many requests" in limited.content.decode()
    assert limited["Retry-After"] == str(settings.CRM_RATE_LIMIT_WINDOW)
    assert other_client.status_code == 200
    assert [m.to for m in mailoutbox] == [["kunde@example.de"]]


def test_one_address_gets_few_links_however_many_clients_ask(client, customer, settings, mailoutbox,
                                                             django_capture_on_commit_callbacks):
    settings.SERVICE_PORTAL_LINK_RECIPIENT_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        answers = {
            without_tokens(request_link(client, "kunde@example.de", REMOTE_ADDR=f"198.51.100.{30 + i}").content)
            for i in range(6)
        }
    assert len(answers) == 1  # all alike
    assert len(mailoutbox) == 2


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, "fremd@example.de")
    assert response.status_code == 200 and mailoutbox == []


def test_an_expired_or_forged_link_is_refused(client, customer, settings):
    _person, access = customer
    forged = client.get(reverse("service:portal_enter", args=["forged"]))
    assert forged.status_code == 400 and "invalid or has expired" in forged.content.decode()
    settings.SERVICE_PORTAL_LINK_MAX_AGE = -1
    assert client.post(reverse("service:portal_enter", args=[services.portal_token(access)])).status_code == 400
    assert not signed_in(client)


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


@pytest.fixture
def client_factory():
    return Client


def test_token_salts_differ(customer):
    _person, access = customer
    with pytest.raises(signing.BadSignature):
        signing.loads(services.portal_token(access), salt=services.SURVEY_SALT)
