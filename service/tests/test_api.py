"""The ticket API over real HTTP (Django's test client): the pages' roles and querysets (agent
of the team, agent of another team, lead, sales rep of the customer's owner, marketing), the
reply form and services (a reply is queued in the outbox, never sent in the request), internal
notes that stay internal, the page's status rules, and no N+1 on the list."""

import pytest
from django.core import mail
from django.urls import reverse

from conftest import make_user
from contacts.tests.factories import PersonFactory
from crm.models import OutgoingEmail, WebhookEndpoint
from crm.roles import Role
from crm.tests.api_client import call, token_for
from service.models import SatisfactionSurvey, Ticket, TicketMessage
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/tickets/"
CUSTOMER = "kundin@kunde-gmbh.de"


def url(ticket, action=""):
    return f"{TICKETS}{ticket.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def rep(db):
    return make_user("rita", Role.SALES_REP, first_name="Rita", last_name="Rep")


@pytest.fixture
def ticket(support, rep):
    """A ticket of the DACH team, assigned to anna, about a customer of the rep."""
    return TicketFactory(team=support["team"], assignee=support["anna"], subject="Rechnung doppelt",
                         person=PersonFactory(email=CUSTOMER, owner=rep))


# --- who may do what, as on the pages --------------------------------------------------------


@pytest.mark.parametrize(("who", "read", "write"), [
    ("anna", 200, 200),      # assignee, in the team
    ("ben", 200, 200),       # teammate
    ("lead", 200, 200),      # the team's lead
    ("rep", 200, 403),       # sales: reads the tickets of their customers, changes none
    ("outsider", 404, 404),  # an agent of another team: not even there
    ("marketing", 404, 404),  # a role the ticket pages refuse: 404 on a ticket it may not see
])
def test_each_role_reads_and_works_a_ticket_as_on_the_pages(client, support, rep, ticket, who, read, write):
    user = rep if who == "rep" else make_user("mara", Role.MARKETING) if who == "marketing" else support[who]
    token = token_for(user)
    assert call(client, "get", url(ticket), token=token).status_code == read
    assert call(client, "get", url(ticket, "messages"), token=token).status_code == read
    assert call(client, "patch", url(ticket), {"priority": "high"}, token=token).status_code == write
    for action, body in (("reply", {"body": "Hallo"}), ("note", {"body": "Intern"}), ("status", {"status": "waiting"})):
        expected = {200: {200, 201}, 403: {403}, 404: {404}}[write]
        assert call(client, "post", url(ticket, action), body, token=token).status_code in expected, action
    assert call(client, "get", url(ticket, "reply"), token=token).status_code == 405  # POST only, for everyone


@pytest.mark.parametrize(("role", "status"), [
    (Role.ADMIN, 200), (Role.SUPPORT_LEAD, 200), (Role.SUPPORT_AGENT, 200), (Role.SALES_REP, 200),
    (Role.SALES_MANAGER, 200), (Role.MARKETING, 403),
])
def test_the_list_and_queues_answer_the_roles_of_the_list_page(client, role_users, role, status):
    token = token_for(role_users[role])
    assert call(client, "get", TICKETS, token=token).status_code == status
    assert call(client, "get", "/api/v1/queues/", token=token).status_code == status


def test_the_list_shows_the_queue_and_filters_of_the_list_page(client, support, rep, ticket):
    other = TicketFactory(team=support["team"], assignee=support["ben"], subject="Lieferung fehlt", priority="high")
    TicketFactory(team=support["team"], assignee=support["anna"], subject="Erledigt", status="closed")
    TicketFactory(team=support["other_team"], subject="Fremd")
    anna = token_for(support["anna"])
    subjects = lambda query, token=anna: [t["subject"] for t in call(client, "get", TICKETS + query, token=token).json()["results"]]  # noqa: E731
    assert subjects("") == ["Rechnung doppelt"]  # an agent's own queue, open tickets
    assert subjects("?scope=team") == ["Lieferung fehlt", "Rechnung doppelt"]
    assert subjects("?scope=team&priority=high") == ["Lieferung fehlt"]
    assert subjects("?scope=team&status=closed") == ["Erledigt"]
    assert subjects("?scope=team&q=rechnung") == ["Rechnung doppelt"]
    assert subjects("?scope=all", token_for(rep)) == ["Rechnung doppelt"]  # the rep: their customer's only
    bad = call(client, "get", TICKETS + "?priority=sehr", token=anna)
    assert bad.status_code == 400 and "priority" in bad.json()["errors"]
    assert other.pk


def test_queues_are_read_only(client, support):
    token = token_for(support["lead"])
    names = [q["name"] for q in call(client, "get", "/api/v1/queues/", token=token).json()["results"]]
    assert names == ["Support DACH", "Support Export"]
    assert call(client, "post", "/api/v1/queues/", {"name": "Neu"}, token=token).status_code == 405


# --- create and update through the pages' forms and services -----------------------------------


def test_it_creates_a_ticket_routed_as_the_page_does(client, support, django_capture_on_commit_callbacks):
    person = PersonFactory(email=CUSTOMER)
    body = {"subject": "Drucker", "description": "Geht nicht.", "person": person.pk, "category": support["billing"].pk}
    response = call(client, "post", TICKETS, body, token=token_for(support["lead"]))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["team"] == support["team"].pk and data["assignee"] == support["anna"].pk and data["routing_explanation"]
    assert data["number"] == f"T-{data['id']:06d}" and response["ETag"]
    ticket = Ticket.objects.get(pk=data["id"])
    assert ticket.messages.get().kind == TicketMessage.Kind.CUSTOMER
    assert call(client, "post", TICKETS, {"subject": ""}, token=token_for(support["lead"])).json()["errors"]["subject"]
    assert call(client, "post", TICKETS, body, token=token_for(make_user("rolf", Role.SALES_REP))).status_code == 403


def test_an_update_follows_the_edit_form_and_if_match(client, support, ticket):
    token = token_for(support["anna"])
    etag = call(client, "get", url(ticket), token=token)["ETag"]
    response = call(client, "patch", url(ticket), {"is_complaint": True}, token=token, If_Match=etag)
    assert response.status_code == 400 and "complaint_cause" in response.json()["errors"]  # the form's rule
    response = call(client, "patch", url(ticket), {"priority": "urgent", "tags": []}, token=token, If_Match=etag)
    assert response.status_code == 200, response.content
    assert response.json()["priority"] == "urgent"
    stale = call(client, "patch", url(ticket), {"priority": "low"}, token=token, If_Match=etag)
    assert stale.status_code == 412
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and ticket.version == 2
    assert call(client, "delete", url(ticket), token=token).status_code == 405


# --- replies, notes and status -------------------------------------------------------------------


def test_a_reply_is_queued_in_the_outbox_and_never_sent_in_the_request(
    client, support, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = call(client, "post", url(ticket, "reply"), {"body": "Wir kümmern uns."}, token=token_for(support["anna"]))
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "reply" and response.json()["body"] == "Wir kümmern uns."
    email = OutgoingEmail.objects.get()
    assert email.to == CUSTOMER and email.state == OutgoingEmail.State.QUEUED and email.attempts == 0
    assert email.subject == f"[{ticket.number}] Rechnung doppelt"
    assert mail.outbox == [] and callbacks  # the delivery is a task after the commit, not the request
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


def test_an_empty_reply_is_refused_with_a_field_error(client, support, ticket):
    response = call(client, "post", url(ticket, "reply"), {"body": ""}, token=token_for(support["anna"]))
    assert response.status_code == 400 and "body" in response.json()["errors"]
    response = call(client, "post", url(ticket, "reply"), {"body": "x", "status": "weg"}, token=token_for(support["anna"]))
    assert response.status_code == 400 and "status" in response.json()["errors"]
    assert not TicketMessage.objects.exists() and not OutgoingEmail.objects.exists()


def test_an_internal_note_is_not_visible_to_the_customer(client, support, ticket):
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/t", event_types=["ticket.replied"], secret="whsec_x")
    response = call(client, "post", url(ticket, "note"), {"body": "Kunde ist schwierig"}, token=token_for(support["anna"]))
    assert response.status_code == 201 and response.json()["kind"] == "note"
    assert not OutgoingEmail.objects.exists()  # no email
    assert not endpoint.deliveries.exists()  # no webhook (those hear of public replies only)
    from service import services

    access = services.PortalAccess.objects.create(person=ticket.person)
    session = client.session
    session["service_portal_access"] = access.pk
    session.save()
    page = client.get(reverse("service:portal_ticket_detail", args=[ticket.pk]))
    assert page.status_code == 200 and "Kunde ist schwierig" not in page.content.decode()
    thread = call(client, "get", url(ticket, "messages"), token=token_for(support["anna"])).json()
    assert [m["kind"] for m in thread] == ["note"]  # staff see it


def test_a_status_change_follows_the_page_rules(client, support, ticket):
    token = token_for(support["anna"])
    resolved = call(client, "post", url(ticket, "status"), {"status": "resolved"}, token=token)
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"]
    assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 1  # resolving sends the survey
    reopened = call(client, "post", url(ticket, "status"), {"status": "open"}, token=token).json()
    assert reopened["reopened_count"] == 1 and reopened["resolved_at"] is None
    wrong = call(client, "post", url(ticket, "status"), {"status": "kaputt"}, token=token)
    assert wrong.status_code == 400 and "status" in wrong.json()["errors"]
    stale = call(client, "post", url(ticket, "status"), {"status": "closed"}, token=token, If_Match='"alt"')
    assert stale.status_code == 412


def test_the_ticket_webhook_carries_the_api_representation(client, support, ticket):
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/t", event_types=["ticket.status_changed"],
                                              secret="whsec_x")
    call(client, "post", url(ticket, "status"), {"status": "waiting"}, token=token_for(support["anna"]))
    payload = endpoint.deliveries.get().event.payload["data"]
    assert payload["number"] == ticket.number and payload["status"] == "waiting" and payload["previous_status"] == "open"


# --- queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_the_ticket_list_makes_the_same_few_queries_for_few_and_many(
    client, support, django_assert_max_num_queries, count
):
    from contacts.models import Tag

    tag = Tag.objects.create(name="VIP")
    for _ in range(count):
        TicketFactory(team=support["team"], assignee=support["anna"]).tags.add(tag)
    token = token_for(support["lead"])
    # token, its touch, roles, team ids, tickets, their tags, the custom fields' definitions
    with django_assert_max_num_queries(7):
        response = call(client, "get", TICKETS + "?scope=team&limit=100", token=token)
    assert response.status_code == 200 and len(response.json()["results"]) == count
