"""The settings hub (/settings/) and its registry (crm.settingspages)."""

import pytest
from django.urls import reverse

from crm import settingspages
from crm.roles import Role
from crm.settingspages import SettingsEntry


def test_admin_sees_every_area_with_its_entries(client_for, role_users):
    html = client_for(role_users[Role.ADMIN]).get(reverse("settings_index")).content.decode()
    for url_name in ("webhook_list", "sales:pipeline_list", "sales:territory_list", "sales:quota_grid"):
        assert f'href="{reverse(url_name)}"' in html
    assert html.index("Sales") < html.index("Integrations")  # areas in the order of their first entry


def test_sales_manager_sees_the_sales_entries_but_not_webhooks(client_for, role_users):
    response = client_for(role_users[Role.SALES_MANAGER]).get(reverse("settings_index"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("sales:pipeline_list")}"' in html
    assert f'href="{reverse("webhook_list")}"' not in html


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MARKETING, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD])
def test_roles_without_an_entry_are_refused_and_get_no_menu_link(client_for, role_users, role):
    client = client_for(role_users[role])
    assert client.get(reverse("settings_index")).status_code == 403
    assert f'href="{reverse("settings_index")}"' not in client.get(reverse("home")).content.decode()


def test_the_user_menu_links_the_hub_for_a_role_with_entries(client_for, role_users):
    html = client_for(role_users[Role.SALES_MANAGER]).get(reverse("home")).content.decode()
    assert f'href="{reverse("settings_index")}"' in html


def test_one_register_call_adds_a_page_for_its_roles(client_for, role_users, monkeypatch):
    monkeypatch.setattr(settingspages, "_entries", dict(settingspages._entries))
    settingspages.register(SettingsEntry(
        "test.fields", "Daten", "Eigene Felder", "Zusätzliche Felder an Personen.", "help_index", roles=(Role.MARKETING,),
    ))
    html = client_for(role_users[Role.MARKETING]).get(reverse("settings_index")).content.decode()
    assert "Eigene Felder" in html and "Zusätzliche Felder an Personen." in html
    assert [e.key for e in settingspages.entries_for(role_users[Role.SALES_REP])] == []


def test_the_hub_asks_the_database_only_for_the_frame(client_for, role_users, django_assert_max_num_queries):
    client = client_for(role_users[Role.ADMIN])
    client.get(reverse("settings_index"))
    with django_assert_max_num_queries(8):
        assert client.get(reverse("settings_index")).status_code == 200
