"""The one change-history view every app uses (crm.views.RecordHistoryView) and its rows (crm.history)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory
from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm.history import history_page
from crm.roles import Role
from marketing.tests.factories import CampaignFactory, SegmentFactory
from sales.tests.factories import DealFactory, LeadFactory
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(alice):
    return DealFactory(owner=alice, amount=Decimal("10000.00"), expected_close_date=date(2027, 1, 4))


def german(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    return client


def history_html(client, record):
    return german(client).get(reverse("sales:deal_history", args=[record.pk])).content.decode()


def test_a_stage_change_shows_the_stage_names_not_their_ids(client_for, alice, bob, deal):
    stages = {stage.name: stage for stage in deal.pipeline.stages.all()}
    deal.stage = stages["Angebot"]
    deal.owner = bob
    deal.organization = OrganizationFactory(name="Kessler Anlagenbau GmbH")
    deal.save()
    html = history_html(client_for(bob), deal)  # the deal is bob's now
    assert "Qualifizierung</del> → <ins>Angebot</ins>" in html
    assert "Alice Albrecht</del> → <ins>Bob Brandt</ins>" in html
    assert "<ins>Kessler Anlagenbau GmbH</ins>" in html
    assert f"→ <ins>{stages['Angebot'].pk}</ins>" not in html


def test_dates_amounts_and_booleans_are_written_the_german_way(client_for, alice, deal):
    deal.amount = Decimal("2940.50")
    deal.expected_close_date = date(2027, 2, 15)
    deal.probability_overridden = True
    deal.save()
    html = history_html(client_for(alice), deal)
    assert "10.000,00\xa0€</del> → <ins>2.940,50\xa0€</ins>" in html
    assert "04.01.2027</del> → <ins>15.02.2027</ins>" in html
    assert "Nein</del> → <ins>Ja</ins>" in html
    assert "Änderungsverlauf von" in html


def test_saves_without_changes_are_left_out(client_for, alice, deal):
    deal.save()
    deal.save()
    deal.name = "Rahmenvertrag Wartung"
    deal.save()
    rows = history_page(deal).rows
    assert [row.action for row in rows] == ["~", "+"]
    html = history_html(client_for(alice), deal)
    assert "without changes" not in html and "ohne Änderungen" not in html


def test_history_pages_by_offset(client_for, alice, deal):
    for number in range(4):
        deal.name = f"Rahmenvertrag {number}"
        deal.save()
    first = history_page(deal, limit=2)
    second = history_page(deal, limit=2, offset=first.next_offset)
    last = history_page(deal, limit=2, offset=second.next_offset)
    assert [c.new for row in first.rows for c in row.changes] == ["Rahmenvertrag 3", "Rahmenvertrag 2"]
    assert [c.new for row in second.rows for c in row.changes] == ["Rahmenvertrag 1", "Rahmenvertrag 0"]
    assert first.has_more and second.has_more and not last.has_more
    assert [row.action for row in last.rows] == ["+"]
    html = client_for(alice).get(reverse("sales:deal_history", args=[deal.pk]), {"offset": "x"}).content.decode()
    assert "Rahmenvertrag 3" in html  # a bad offset is the first page, not a 500


def test_query_count_does_not_grow_with_the_number_of_entries(client_for, alice, bob, manager, deal):
    client = client_for(manager)  # sees the deal whether alice or bob owns it
    url = reverse("sales:deal_history", args=[deal.pk])
    stages = list(deal.pipeline.stages.order_by("order"))

    def change(times):
        for number in range(times):
            deal.stage = stages[number % 3]
            deal.owner = bob if number % 2 else alice
            deal.organization = OrganizationFactory(owner=alice)
            deal.amount += 1
            deal.save()

    change(2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    change(20)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert html.count("<tr>") > 20
    assert len(many) == len(few)


def test_a_record_the_user_may_not_see_is_404_and_a_role_without_access_is_refused(client_for, alice, charlie, nobody, role_users, deal):
    url = reverse("sales:deal_history", args=[deal.pk])
    assert client_for(alice).get(url).status_code == 200
    assert client_for(charlie).get(url).status_code == 404
    assert client_for(nobody).get(url).status_code == 404
    # Every role sees a record's history exactly when it sees the record's page.
    ticket = TicketFactory(assignee=role_users[Role.SUPPORT_AGENT])
    for record, name in ((deal, "sales:deal_history"), (ticket, "service:ticket_history")):
        for user in [*role_users.values(), alice, charlie, nobody]:
            client = client_for(user)
            page = client.get(record.get_absolute_url()).status_code
            assert client.get(reverse(name, args=[record.pk])).status_code == page, (name, user)
    assert client_for(role_users[Role.SUPPORT_AGENT]).get(reverse("service:ticket_history", args=[ticket.pk])).status_code == 200
    assert client_for(role_users[Role.MARKETING]).get(reverse("service:ticket_history", args=[ticket.pk])).status_code in (403, 404)


def test_every_old_history_url_still_answers(client_for, admin_user):
    records = {
        "contacts:person_history": PersonFactory(),
        "contacts:organization_history": OrganizationFactory(),
        "sales:deal_history": DealFactory(),
        "sales:lead_history": LeadFactory(),
        "service:ticket_history": TicketFactory(),
        "appointments:appointment_history": AppointmentFactory(),
        "marketing:campaign_history": CampaignFactory(),
        "marketing:segment_history": SegmentFactory(),
    }
    client = german(client_for(admin_user))
    for name, record in records.items():
        response = client.get(reverse(name, args=[record.pk]))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "Änderungsverlauf von" in html and "Angelegt" in html, name
        assert record.get_absolute_url() in html, name  # the breadcrumb back to the record


def test_the_record_page_shows_the_latest_five_changes_and_links_the_full_history(client_for, alice, deal):
    for number in range(7):
        deal.name = f"Rahmenvertrag Nr. {number}"
        deal.save()
    html = german(client_for(alice)).get(deal.get_absolute_url()).content.decode()
    assert "Letzte Änderungen" in html
    assert f'href="{reverse("sales:deal_history", args=[deal.pk])}"' in html
    assert "Rahmenvertrag Nr. 6" in html and "Rahmenvertrag Nr. 2" in html and "Rahmenvertrag Nr. 1</div>" not in html


@pytest.mark.parametrize("factory", [PersonFactory, OrganizationFactory, LeadFactory, TicketFactory])
def test_other_record_pages_have_the_panel_too(client_for, admin_user, factory):
    record = factory()
    html = german(client_for(admin_user)).get(record.get_absolute_url()).content.decode()
    assert "Letzte Änderungen" in html and "Gesamter Änderungsverlauf" in html
