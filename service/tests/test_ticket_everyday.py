"""Answering takes an unassigned ticket; sales and marketing open tickets from a person's page;
a description typed by staff is not labelled as the customer's words."""

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from service import services
from service.models import Ticket, TicketMessage
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _reply(client, ticket, public="1"):
    return client.post(reverse("service:ticket_reply", args=[ticket.pk]), {"body": "Wir kümmern uns.", "public": public}, follow=True)


def test_answering_an_unassigned_ticket_assigns_it_and_says_so(client, support):
    ticket = TicketFactory(team=support["team"], assignee=None)
    client.force_login(support["anna"])
    response = _reply(client, ticket)
    ticket.refresh_from_db()
    assert ticket.assignee == support["anna"]
    assert ticket.routing_explanation == "taken by Anna Berger by answering"
    assert "The ticket was unassigned; it is now assigned to you." in response.content.decode()


def test_answering_an_assigned_ticket_keeps_its_agent(client, support):
    ticket = TicketFactory(team=support["team"], assignee=support["ben"])
    client.force_login(support["anna"])
    response = _reply(client, ticket)
    ticket.refresh_from_db()
    assert ticket.assignee == support["ben"]
    assert "now assigned to you" not in response.content.decode()


def test_an_internal_note_does_not_take_the_ticket(client, support):
    ticket = TicketFactory(team=support["team"], assignee=None)
    client.force_login(support["anna"])
    _reply(client, ticket, public="0")
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_an_agent_of_another_team_may_not_answer(client, support):
    ticket = TicketFactory(team=support["team"], assignee=None)
    client.force_login(support["outsider"])
    assert client.post(reverse("service:ticket_reply", args=[ticket.pk]), {"body": "x", "public": "1"}).status_code == 404
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_sales_opens_a_ticket_for_their_customer_from_the_persons_page(client, alice, support):
    person = PersonFactory(owner=alice, first_name="Jürgen", last_name="Müller")
    client.force_login(alice)
    page = client.get(person.get_absolute_url()).content.decode()
    create_url = reverse("service:ticket_create") + f"?person={person.pk}"
    assert f'href="{create_url}"' in page
    form_page = client.get(create_url)
    assert form_page.status_code == 200
    assert 'value="Jürgen Müller"' in form_page.content.decode()
    response = client.post(create_url, {"subject": "Rechnung doppelt", "description": "Am Telefon gemeldet.",
                                         "person": person.pk, "channel": "phone", "priority": "normal"})
    ticket = Ticket.objects.get(subject="Rechnung doppelt")
    assert ticket.person == person
    assert response.status_code == 302 and response.url == ticket.get_absolute_url()  # alice reads her customer's tickets


def test_marketing_opens_a_ticket_and_lands_back_on_the_person(client, role_users):
    marketing = role_users["marketing"]
    person = PersonFactory(owner=None)
    client.force_login(marketing)
    assert f'?person={person.pk}"' in client.get(person.get_absolute_url()).content.decode()
    response = client.post(reverse("service:ticket_create"), {"subject": "Beschwerde Messe", "person": person.pk,
                                                              "channel": "phone", "priority": "normal"})
    ticket = Ticket.objects.get(subject="Beschwerde Messe")
    assert response.status_code == 302 and response.url == person.get_absolute_url()
    # Opening is all: marketing still reads and works on no ticket.
    for name in ("service:ticket_detail", "service:ticket_update"):
        assert client.get(reverse(name, args=[ticket.pk])).status_code in (403, 404)
    assert client.post(reverse("service:ticket_reply", args=[ticket.pk]), {"body": "x", "public": "1"}).status_code in (403, 404)
    assert client.get(reverse("service:ticket_list")).status_code == 403


def test_sales_opens_a_ticket_for_someone_elses_customer_but_cannot_read_it(client, charlie, alice):
    person = PersonFactory(owner=alice)  # everybody sees people; tickets only their owners' teams
    client.force_login(charlie)
    response = client.post(reverse("service:ticket_create"), {"subject": "Fremd", "person": person.pk,
                                                              "channel": "phone", "priority": "normal"})
    ticket = Ticket.objects.get(subject="Fremd")
    assert response.status_code == 302 and response.url == person.get_absolute_url()
    assert client.get(ticket.get_absolute_url()).status_code == 404


def test_an_unknown_customer_is_a_field_error(client, alice):
    client.force_login(alice)
    response = client.post(reverse("service:ticket_create"), {"subject": "Niemand", "person": "999999",
                                                              "channel": "phone", "priority": "normal"})
    assert response.status_code == 200 and "person" in response.context["form"].errors
    assert not Ticket.objects.filter(subject="Niemand").exists()


def test_a_user_without_a_role_may_not_open_tickets(client, nobody):
    client.force_login(nobody)
    assert client.get(reverse("service:ticket_create")).status_code == 403


def test_a_description_typed_by_an_agent_is_not_from_the_customer(client, support):
    person = PersonFactory(owner=None)
    by_agent = services.ticket_create(subject="Telefon", description="Kunde rief an.", person=person,
                                      team=support["team"], author=support["anna"])
    by_customer = services.ticket_create(subject="Mail", description="Hallo!", person=person, team=support["team"],
                                         from_email=person.email)
    client.force_login(support["anna"])
    agent_page = client.get(by_agent.get_absolute_url()).content.decode()
    assert "Description entered by staff" in agent_page and "From the customer" not in agent_page
    assert "From the customer" in client.get(by_customer.get_absolute_url()).content.decode()
    assert by_agent.messages.get().kind == TicketMessage.Kind.CUSTOMER  # still the customer's side of the thread


def test_the_thread_labels_cost_no_query_per_message(client, support, django_assert_max_num_queries):
    ticket = services.ticket_create(subject="Lang", description="Start", team=support["team"], author=support["anna"])
    client.force_login(support["anna"])

    def count():
        client.get(ticket.get_absolute_url())
        with django_assert_max_num_queries(60) as captured:
            client.get(ticket.get_absolute_url())
        return len(captured.captured_queries)

    few = count()
    for i in range(10):
        TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, body=f"m{i}", author=support["ben"])
    assert count() == few
