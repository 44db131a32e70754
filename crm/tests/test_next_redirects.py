"""`next=` redirects lead only to paths on this site: every view that follows one (login, the
language switch, the ticket queue's bulk form) goes through crm.links.safe_next_url or Django's
own check, and none of the classic tricks gets out."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from crm.links import safe_next_url
from crm.roles import Role

OUTSIDE = [
    "//evil.example/x",
    "/\\evil.example/x",
    "/\\/evil.example/x",
    "\\\\evil.example/x",
    "https://evil.example/x",
    "http:evil.example",
    "https:/evil.example",
    "///evil.example/x",
    "javascript:alert(1)",
    " //evil.example/x",
    "/\t/evil.example/x",
    "http://testserver/contacts/",  # even our own host: only paths are accepted
]
INSIDE = ["/contacts/", "/service/tickets/?scope=team&status=open", "/sales/deals/1/#notes"]


@pytest.mark.parametrize("candidate", OUTSIDE)
def test_a_url_that_leaves_the_site_falls_back(candidate):
    request = RequestFactory().get("/")
    assert safe_next_url(request, candidate, "/fallback/") == "/fallback/"


@pytest.mark.parametrize("candidate", INSIDE)
def test_a_path_on_the_site_is_kept(candidate):
    assert safe_next_url(RequestFactory().get("/"), candidate, "/fallback/") == candidate


def test_nothing_given_falls_back():
    request = RequestFactory().get("/")
    assert safe_next_url(request, None, "/fallback/") == "/fallback/"
    assert safe_next_url(request, "", "/fallback/") == "/fallback/"


def _location(response) -> str:
    assert response.status_code == 302, response.status_code
    return response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("candidate", OUTSIDE[:6])
def test_the_ticket_bulk_form_does_not_redirect_off_site(client, candidate):
    from conftest import make_user

    client.force_login(make_user("agent", Role.SUPPORT_AGENT))
    response = client.post(reverse("service:ticket_bulk"), {"next": candidate})
    assert _location(response) == reverse("service:ticket_list")


@pytest.mark.django_db
def test_the_ticket_bulk_form_returns_to_the_queue_it_came_from(client):
    from conftest import make_user

    client.force_login(make_user("agent", Role.SUPPORT_AGENT))
    back = reverse("service:ticket_list") + "?scope=team"
    assert _location(client.post(reverse("service:ticket_bulk"), {"next": back})) == back


@pytest.mark.django_db
@pytest.mark.parametrize("candidate", OUTSIDE[:6])
def test_login_does_not_redirect_off_site(client, candidate):
    from crm.tests.factories import UserFactory

    UserFactory(username="lena", password="Vertrieb-2027!")
    response = client.post(
        reverse("login") + "?next=" + candidate, {"username": "lena", "password": "Vertrieb-2027!", "next": candidate}
    )
    assert _location(response) == reverse("home")


@pytest.mark.django_db
def test_login_follows_a_path_on_the_site(client):
    from crm.tests.factories import UserFactory

    UserFactory(username="lena", password="Vertrieb-2027!")
    response = client.post(reverse("login"), {"username": "lena", "password": "Vertrieb-2027!", "next": "/contacts/"})
    assert _location(response) == "/contacts/"


@pytest.mark.django_db
@pytest.mark.parametrize("candidate", OUTSIDE[:6])
def test_the_language_switch_does_not_redirect_off_site(client, candidate):
    response = client.post(reverse("set_language"), {"language": "de", "next": candidate})
    assert _location(response) == "/"
