import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from crm.roles import Role


@pytest.fixture
def rep(role_users):
    user = role_users[Role.SALES_REP]
    user.set_password("Richtig-Passwort-42")
    user.email = "rep@example.de"
    user.save()
    return user


def test_login_and_logout(rep, client):
    response = client.post(reverse("login"), {"username": rep.username, "password": "Richtig-Passwort-42"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_gets_a_message(rep, client):
    response = client.post(reverse("login"), {"username": rep.username, "password": "falsch"})
    assert response.status_code == 200
    assert response.context["form"].errors


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_failed_logins_are_throttled(rep, client):
    for _ in range(3):
        client.post(reverse("login"), {"username": rep.username, "password": "falsch"})
    response = client.post(reverse("login"), {"username": rep.username, "password": "Richtig-Passwort-42"})
    assert response.status_code == 429


def test_password_reset_sends_a_link_by_email(rep, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "rep@example.de"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/password/reset/" in mail.outbox[0].body


def test_password_change(rep, client_for):
    client = client_for(rep)
    response = client.post(
        reverse("password_change"),
        {"old_password": "Richtig-Passwort-42", "new_password1": "Neues-Passwort-2027!", "new_password2": "Neues-Passwort-2027!"},
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("Neues-Passwort-2027!")


def test_switching_language(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert 'lang="en"' in client.get(reverse("login")).content.decode()


@override_settings(LANGUAGE_CODE="de")
def test_german_is_the_default_language(client):
    body = client.get(reverse("login")).content.decode()
    assert 'lang="de"' in body and "Anmelden" in body
