"""Other apps' buttons and cards appear on a record's page, and only when their callables allow."""

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm import recordpage


@pytest.fixture
def registered():
    saved = dict(recordpage._actions), dict(recordpage._panels)
    # Only the test's own entries: the apps' real registrations would change what the test sees.
    recordpage._actions.clear()
    recordpage._panels.clear()
    recordpage.register_action(
        recordpage.Action(
            "test.visible", "contacts.person", "Angebot erstellen", url=lambda obj, user: f"/x/{obj.pk}/", icon="star"
        )
    )
    recordpage.register_action(
        recordpage.Action("test.hidden", "contacts.person", "Nie sichtbar", url=lambda obj, user: None)
    )
    recordpage.register_panel(
        recordpage.Panel(
            "test.panel", "contacts.person", "includes/record_actions.html",
            context=lambda request, obj: {"actions": [(recordpage._actions["test.visible"], "/panel/")]},
        )
    )
    yield
    recordpage._actions.clear()
    recordpage._actions.update(saved[0])
    recordpage._panels.clear()
    recordpage._panels.update(saved[1])


def test_actions_and_panels_render_on_the_person_page(registered, client, admin_user):
    person = PersonFactory(owner=admin_user)
    client.force_login(admin_user)
    html = client.get(reverse("contacts:person_detail", args=[person.pk])).content.decode()
    assert f'href="/x/{person.pk}/"' in html and "Angebot erstellen" in html
    assert "Nie sichtbar" not in html
    assert 'href="/panel/"' in html


def test_actions_only_for_their_model(registered, admin_user):
    person = PersonFactory(owner=admin_user)
    organization = person.employments.first()
    # Apps register their own actions (sales: "New deal"); only this test's ones are checked here.
    assert [a.key for a, _ in recordpage.actions_for(person, admin_user) if a.key.startswith("test.")] == ["test.visible"]
    if organization is not None:
        assert not [a for a, _ in recordpage.actions_for(organization.organization, admin_user) if a.key.startswith("test.")]
