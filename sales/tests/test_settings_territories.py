"""Territories set up by sales managers (their own team's) and admins (all)."""

import pytest
from django.urls import reverse

from crm.roles import Role
from sales.models import Deal, Lead, Territory, TerritoryRule
from sales.tests.factories import DealFactory, LeadFactory, TerritoryFactory, TerritoryRuleFactory


def _form(name="Nord", *, manager, reps=(), rules=()):
    data = {"name": name, "priority": 10, "manager": manager.pk, "reps": [r.pk for r in reps], "is_active": "on",
            "rules-TOTAL_FORMS": 2, "rules-INITIAL_FORMS": 0, "rules-MIN_NUM_FORMS": 0, "rules-MAX_NUM_FORMS": 1000}
    for index, rule in enumerate(rules):
        data |= {f"rules-{index}-{key}": value for key, value in rule.items()}
    return data


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MARKETING, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD])
def test_other_roles_may_not_create_or_change_territories(client_for, role_users, role):
    territory = TerritoryFactory(manager=role_users[Role.SALES_MANAGER])
    client = client_for(role_users[role])
    assert client.get(reverse("sales:territory_create")).status_code == 403
    assert client.post(reverse("sales:territory_update", args=[territory.pk]), _form(manager=role_users[role])).status_code == 403
    assert client.post(reverse("sales:territory_delete", args=[territory.pk])).status_code == 403
    assert Territory.objects.get(pk=territory.pk).name == territory.name


def test_manager_sets_up_a_territory_for_their_team_with_rules(client_for, manager, alice, bob, charlie):
    client = client_for(manager)
    rules = [{"country": "DE", "postal_code_from": "20000", "postal_code_to": "29999", "industry": ""}]
    response = client.post(reverse("sales:territory_create"), _form(manager=manager, reps=[alice, bob], rules=rules))
    territory = Territory.objects.get(name="Nord")
    assert response.status_code == 302
    assert set(territory.reps.all()) == {alice, bob} and territory.manager == manager
    assert territory.rules.get().postal_code_to == "29999"
    assert territory.history.get().history_user == manager
    assert TerritoryRule.history.filter(territory_id=territory.pk, history_type="+").count() == 1


def test_manager_may_choose_only_people_of_their_teams(client_for, manager, alice, charlie):
    response = client_for(manager).post(reverse("sales:territory_create"), _form(manager=charlie, reps=[alice, charlie]))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"manager", "reps"}
    assert not Territory.objects.filter(name="Nord").exists()


def test_manager_cannot_change_another_teams_territory_but_admin_can(client_for, manager, charlie, admin_user):
    other_manager = charlie  # manages nobody of mona's team
    other = TerritoryFactory(name="Süd", manager=other_manager)
    client = client_for(manager)
    assert client.get(reverse("sales:territory_update", args=[other.pk])).status_code == 403
    assert client.post(reverse("sales:territory_update", args=[other.pk]), _form("Gekapert", manager=manager)).status_code == 403
    assert client.post(reverse("sales:territory_delete", args=[other.pk])).status_code == 403
    assert client.get(reverse("sales:territory_update", args=[999999])).status_code == 404
    list_html = client.get(reverse("sales:territory_list")).content.decode()
    assert reverse("sales:territory_update", args=[other.pk]) not in list_html
    client = client_for(admin_user)
    response = client.post(reverse("sales:territory_update", args=[other.pk]), _form("Süd-West", manager=other_manager))
    assert response.status_code == 302 and Territory.objects.get(pk=other.pk).name == "Süd-West"


def test_a_reversed_postal_range_is_answered_at_the_field(client_for, manager):
    rules = [{"country": "DE", "postal_code_from": "29999", "postal_code_to": "20000", "industry": ""}]
    response = client_for(manager).post(reverse("sales:territory_create"), _form(manager=manager, rules=rules))
    assert response.status_code == 400
    assert "postal_code_to" in response.context["rules"].forms[0].errors
    assert not Territory.objects.filter(name="Nord").exists()


def test_deleting_a_territory_moves_its_leads_and_deals_to_another(client_for, manager, alice):
    old, new = TerritoryFactory(name="Alt", manager=manager), TerritoryFactory(name="Neu", manager=manager)
    lead, deal = LeadFactory(owner=alice, territory=old), DealFactory(owner=alice, territory=old)
    client = client_for(manager)
    page = client.get(reverse("sales:territory_delete", args=[old.pk])).content.decode()
    assert "Leads in the territory: 1, deals: 1." in page
    response = client.post(reverse("sales:territory_delete", args=[old.pk]), {"move_to": new.pk})
    assert response.status_code == 302 and not Territory.objects.filter(pk=old.pk).exists()
    assert Lead.objects.get(pk=lead.pk).territory == new and Deal.objects.get(pk=deal.pk).territory == new
    record = Deal.objects.get(pk=deal.pk).history.first()
    assert (record.history_user, record.history_change_reason) == (manager, "Territory “Alt” deleted")
    assert Lead.objects.get(pk=lead.pk).owner == alice


def test_deleting_a_territory_may_leave_its_records_without_one(client_for, admin_user):
    territory = TerritoryFactory()
    rule = TerritoryRuleFactory(territory=territory)
    lead = LeadFactory(territory=territory)
    response = client_for(admin_user).post(reverse("sales:territory_delete", args=[territory.pk]), {"move_to": ""})
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).territory is None
    assert not TerritoryRule.objects.filter(pk=rule.pk).exists()


def test_a_manager_cannot_move_records_into_another_teams_territory(client_for, manager, charlie):
    own, foreign = TerritoryFactory(name="Eigen", manager=manager), TerritoryFactory(name="Fremd", manager=charlie)
    response = client_for(manager).post(reverse("sales:territory_delete", args=[own.pk]), {"move_to": foreign.pk})
    assert response.status_code == 400 and "move_to" in response.context["form"].errors
    assert Territory.objects.filter(pk=own.pk).exists()


def test_the_territory_list_asks_a_constant_number_of_queries(client_for, manager, alice, bob, django_assert_max_num_queries):
    client = client_for(manager)
    TerritoryRuleFactory(territory=TerritoryFactory(manager=manager))
    client.get(reverse("sales:territory_list"))
    with django_assert_max_num_queries(14) as few:
        client.get(reverse("sales:territory_list"))
    for _index in range(12):
        territory = TerritoryFactory(manager=manager, last_assigned=alice)
        territory.reps.add(alice, bob)
        TerritoryRuleFactory(territory=territory)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("sales:territory_list")).content.decode().count('data-testid="territory-edit"') == 13
