from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.models import Activity, Employment, Organization, Person
from contacts.tests.factories import OrganizationFactory, PersonFactory
from sales import services
from sales.automation import task_create
from sales.models import Deal, DealContact, Lead
from sales.tests.factories import LeadFactory, TerritoryRuleFactory

pytestmark = pytest.mark.django_db


def test_conversion_reuses_the_organization_found_by_the_duplicate_check(alice, stages):
    existing = OrganizationFactory(name="Lindner Logistik GmbH", owner=alice)
    lead = LeadFactory(first_name="Petra", last_name="Lindner", email="p.lindner@lindner.de", company="Lindner Logistik",
                       owner=alice, campaign_code="messe-2027")
    task = task_create(record=lead, subject="Rückruf", due_at=lead.created_at, assignee=alice)

    person, organization, deal = services.lead_convert(
        lead=lead, user=alice, create_deal=True, deal_name="Lager-CRM", stage=stages["Qualifizierung"], amount=Decimal("12000")
    )

    assert organization == existing
    assert Organization.objects.count() == 1
    assert person.email == "p.lindner@lindner.de"
    assert Employment.objects.filter(person=person, organization=existing).exists()
    assert deal.organization == existing and deal.campaign_code == "messe-2027" and deal.lead == lead
    assert DealContact.objects.filter(deal=deal, person=person, role="decision_maker").exists()
    assert deal.stage_changes.count() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert (lead.converted_person, lead.converted_organization, lead.converted_deal) == (person, existing, deal)
    assert lead.history.count() >= 2  # the lead keeps its history
    task.refresh_from_db()
    assert task.person == person and task.organization == existing  # now on the customer's timeline
    assert Activity.objects.filter(person=person, kind="note", subject__contains="Lindner").exists()


def test_conversion_creates_a_new_organization_and_reuses_a_person_with_the_same_email(alice):
    known = PersonFactory(email="kai@neu.de", owner=alice)
    lead = LeadFactory(email="Kai@Neu.de", company="Neu & Co KG", owner=alice)
    person, organization, deal = services.lead_convert(lead=lead, user=alice)
    assert person == known
    assert organization.name == "Neu & Co KG" and deal is None
    assert Person.objects.count() == 1


def test_converted_lead_cannot_be_converted_again(alice):
    lead = LeadFactory(owner=alice, company="")
    services.lead_convert(lead=lead, user=alice)
    with pytest.raises(Exception, match="already converted"):
        services.lead_convert(lead=lead, user=alice)


def test_convert_page_as_owner_teammate_and_outsider(client, alice, bob, manager, charlie, stages):
    lead = LeadFactory(owner=alice, company="Berg AG")
    url = reverse("sales:lead_convert", args=[lead.pk])
    client.force_login(charlie)
    assert client.get(url).status_code == 404
    client.force_login(bob)
    assert client.get(url).status_code == 403
    client.force_login(alice)
    response = client.post(url, {"create_deal": "on", "deal_name": "Berg Rahmenvertrag", "stage": stages["Angebot"].pk, "amount": "5000"})
    assert response.status_code == 302
    assert Deal.objects.get().name == "Berg Rahmenvertrag"


def test_convert_form_without_stage_shows_the_error(client, alice):
    lead = LeadFactory(owner=alice)
    client.force_login(alice)
    response = client.post(reverse("sales:lead_convert", args=[lead.pk]), {"create_deal": "on", "deal_name": "X"})
    assert response.status_code == 200
    assert "Choose the stage" in response.content.decode()
    assert Lead.objects.get().status == Lead.Status.NEW


def test_territory_assignment_by_postal_code_and_round_robin(alice, bob, charlie):
    north = TerritoryRuleFactory(country="DE", postal_code_from="20000", postal_code_to="29999").territory
    north.reps.add(alice, bob)
    south = TerritoryRuleFactory(country="DE", postal_code_from="80000", postal_code_to="89999").territory
    south.reps.add(charlie)
    assert services.assign_owner(country="DE", postal_code="22765") == (north, alice)
    assert services.assign_owner(country="DE", postal_code="20095") == (north, bob)
    assert services.assign_owner(country="DE", postal_code="21000") == (north, alice)
    assert services.assign_owner(country="DE", postal_code="80331") == (south, charlie)
    assert services.assign_owner(country="AT", postal_code="1010") == (None, None)
    assert services.assign_owner(country="DE", postal_code="") == (None, None)


def test_territory_by_industry(alice):
    rule = TerritoryRuleFactory(country="", industry="it")
    rule.territory.reps.add(alice)
    assert services.assign_owner(country="DE", industry="it")[1] == alice
    assert services.assign_owner(country="DE", industry="retail")[1] is None


def test_new_organization_without_owner_gets_one_from_its_territory(alice, django_capture_on_commit_callbacks):
    TerritoryRuleFactory(country="AT").territory.reps.add(alice)
    with django_capture_on_commit_callbacks(execute=True):
        organization = Organization.objects.create(name="Wiener Werkstätten", country="AT")
    organization.refresh_from_db()
    assert organization.owner == alice
    with django_capture_on_commit_callbacks(execute=True):
        german = Organization.objects.create(name="Berliner Bau", country="DE")
    german.refresh_from_db()
    assert german.owner is None


def test_manager_reassigns_leads_in_bulk_but_a_rep_may_not(client, alice, bob, manager, charlie):
    leads = LeadFactory.create_batch(3, owner=alice)
    foreign = LeadFactory(owner=charlie)
    data = {"kind": "lead", "new_owner": bob.pk, "ids": [lead.pk for lead in leads] + [foreign.pk]}
    client.force_login(alice)
    assert client.post(reverse("sales:reassign"), data).status_code == 403
    client.force_login(manager)
    assert client.post(reverse("sales:reassign"), data).status_code == 302
    assert set(Lead.objects.filter(owner=bob).values_list("pk", flat=True)) == {lead.pk for lead in leads}
    foreign.refresh_from_db()
    assert foreign.owner == charlie


def test_lead_list_query_count_does_not_grow(client, alice, manager, django_assert_max_num_queries):
    LeadFactory.create_batch(3, owner=alice)
    client.force_login(manager)
    client.get(reverse("sales:lead_list"))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("sales:lead_list"))
    LeadFactory.create_batch(30, owner=alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("sales:lead_list"))
    assert response.status_code == 200


def test_disqualify_needs_a_reason(client, alice):
    lead = LeadFactory(owner=alice)
    client.force_login(alice)
    data = {"last_name": lead.last_name, "email": lead.email, "country": "DE", "source": "website",
            "status": "disqualified", "rating": "warm"}
    response = client.post(reverse("sales:lead_update", args=[lead.pk]), data)
    assert response.status_code == 200
    assert "needs a reason" in response.content.decode()
    response = client.post(reverse("sales:lead_update", args=[lead.pk]), {**data, "disqualify_reason": "no_budget"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.disqualify_reason == "no_budget"
