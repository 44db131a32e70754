"""The top navigation groups each app's entries: one entry is a link, several are a dropdown."""

from django.urls import reverse

from crm.navigation import groups_for


def test_groups_by_app_and_marks_the_current_page(alice):
    groups = {g.key: g for g in groups_for(alice, "contacts:person_detail")}
    contacts = groups["contacts"]
    assert [item.url_name for item, _active in contacts.entries][:2] == ["contacts:organization_list", "contacts:person_list"]
    assert contacts.active
    assert [item.url_name for item, active in contacts.entries if active] == ["contacts:person_list"]
    assert not groups["analytics"].active


def test_page_renders_dropdowns_and_links(alice, client):
    client.force_login(alice)
    html = client.get(reverse("home")).content.decode()
    assert 'data-nav-group="contacts"' in html
    assert f'href="{reverse("contacts:person_list")}"' in html
    assert f'href="{reverse("analytics:data_quality")}"' in html


def test_no_navigation_without_a_role(nobody):
    assert groups_for(nobody, "home") == []
