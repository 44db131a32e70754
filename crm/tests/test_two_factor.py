"""Two-factor login: set up with a code from the app, then the login asks for a code; backup codes
work once; with CRM_REQUIRE_2FA_FOR_ADMINS an admin must set it up first."""

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm import twofactor

PASSWORD = "geheim-2027!"


@pytest.fixture
def user(admin_user):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    return admin_user


def code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def fresh_code(device) -> str:
    """A code the device accepts now. A code is accepted once per 30-second step (no replay), and
    wrong codes throttle the device: tests that use several codes in a row forget both."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None)
    device.refresh_from_db()
    return code(device)


def login(client, username, token=""):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD, "otp_token": token})


def turn_on(client, user) -> tuple[TOTPDevice, list[str]]:
    client.force_login(user)
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("two_factor"), {"token": code(device)})
    codes = re.findall(r"<li class=\"col\">(\w+)</li>", response.content.decode())
    device.refresh_from_db()
    assert device.confirmed and len(codes) == 10
    client.logout()
    return device, codes


def test_wrong_setup_code_turns_nothing_on(client, user):
    client.force_login(user)
    client.get(reverse("two_factor"))
    response = client.post(reverse("two_factor"), {"token": "000000"})
    assert "This code is wrong or expired." in response.content.decode()
    assert not twofactor.is_enabled(user)


def test_login_needs_the_code_once_it_is_on(client, user):
    device, _codes = turn_on(client, user)
    response = login(client, user.username)
    assert response.status_code == 200 and "Enter the code from your authenticator app." in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = login(client, user.username, "123456" if code(device) != "123456" else "654321")
    assert "This code is wrong or expired." in response.content.decode()
    token = fresh_code(device)
    response = login(client, user.username, token)
    assert response.status_code == 302
    assert client.session.get("otp_device_id") == device.persistent_id
    # The same code cannot be used twice (someone who saw it over the shoulder).
    client.logout()
    assert login(client, user.username, token).status_code == 200


def test_a_backup_code_works_once(client, user):
    _device, codes = turn_on(client, user)
    assert login(client, user.username, codes[0]).status_code == 302
    client.logout()
    assert login(client, user.username, codes[0]).status_code == 200


def test_users_without_it_log_in_with_password_only(client, user):
    assert login(client, user.username).status_code == 302


def test_turning_off_needs_a_code(client, user):
    device, _codes = turn_on(client, user)
    client.force_login(user)
    response = client.post(reverse("two_factor"), {"action": "disable", "token": "nonsense"})
    assert twofactor.is_enabled(user) and response.status_code == 200
    client.post(reverse("two_factor"), {"action": "disable", "token": fresh_code(device)})
    assert not twofactor.is_enabled(user)


def test_admins_must_set_it_up_when_required(client, user, alice, settings):
    settings.CRM_REQUIRE_2FA_FOR_ADMINS = True
    client.force_login(user)
    response = client.get(reverse("contacts:person_list"))
    assert response.status_code == 302 and response["Location"] == reverse("two_factor")
    assert client.get(reverse("two_factor")).status_code == 200
    # Other roles are not affected.
    client.force_login(alice)
    assert client.get(reverse("contacts:person_list")).status_code == 200
    # After logging in with a code the admin is through.
    client.logout()
    turn_on(client, user)
    device = TOTPDevice.objects.get(user=user)
    assert login(client, user.username, fresh_code(device)).status_code == 302
    assert client.get(reverse("contacts:person_list")).status_code == 200
