"""Tickets in a real browser: a sales rep opens a ticket from a customer's page; an agent's reply
takes the unassigned ticket and says so; the description the agent typed is labelled as theirs."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm.roles import Role
from crm.tests.factories import UserFactory
from crm.tests.test_browser import PASSWORD, browser, page, serious_accessibility_violations, shoot  # noqa: F401
from service.models import Ticket
from service.tests.factories import TeamFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def ticket_data(transactional_db, django_db_serialized_rollback):
    rep = UserFactory(username="lena", first_name="Lena", last_name="Wagner", password=PASSWORD)
    rep.groups.add(Group.objects.get(name=Role.SALES_REP))
    agent = UserFactory(username="anna", first_name="Anna", last_name="Berger", password=PASSWORD)
    agent.groups.add(Group.objects.get(name=Role.SUPPORT_AGENT))
    team = TeamFactory(name="Support DACH", channels=["phone", "email"])
    team.agents.add(agent)
    person = PersonFactory(owner=rep, first_name="Jürgen", last_name="Müller")
    return {"rep": rep, "agent": agent, "team": team, "person": person}


def login(page, base, username):  # noqa: F811
    page.goto(f"{base}{reverse('login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{reverse('home')}")


def test_a_rep_opens_a_ticket_and_an_agent_takes_it_by_answering(page, live_server, ticket_data):  # noqa: F811
    base, person = live_server.url, ticket_data["person"]
    login(page, base, "lena")
    for width, height, name in ((1366, 768, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}{person.get_absolute_url()}")
        shoot(page, f"contacts-person-new-ticket-{name}")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_role("link", name="Neues Ticket").click()
    page.fill("#id_subject", "Rechnung doppelt abgebucht")
    page.fill("#id_description", "Herr Müller rief an: Die Rechnung wurde zweimal abgebucht.")
    shoot(page, "service-ticket-create-by-rep")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".alert-success")
    ticket = Ticket.objects.get(subject="Rechnung doppelt abgebucht")
    assert ticket.person == person
    thread = page.locator("main").inner_text()
    assert "Beschreibung, von Mitarbeitenden erfasst" in thread and "Vom Kunden" not in thread

    ticket.assignee = None
    ticket.team = ticket_data["team"]
    ticket.save()
    page.context.clear_cookies()
    login(page, base, "anna")
    page.goto(f"{base}{ticket.get_absolute_url()}")
    page.fill("#id_body", "Wir erstatten den doppelten Betrag.")
    page.click("form[action$='/reply/'] button[type=submit]")
    page.wait_for_selector("text=jetzt ist es Ihnen zugewiesen")
    assert serious_accessibility_violations(page) == []
    for width, height, name in ((1366, 768, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        shoot(page, f"service-ticket-taken-by-reply-{name}")
    ticket.refresh_from_db()
    assert ticket.assignee == ticket_data["agent"]
