"""The client address behind trusted proxies (crm.clientip): the rightmost hop that is not one of
ours, X-Forwarded-For ignored without a configured proxy, and the one place the code reads it."""

import re
from pathlib import Path

import pytest
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings
from django.urls import reverse

from crm.clientip import client_ip
from crm.roles import Role


def request(remote="192.0.2.10", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize("trusted", ["", 0, "0"])
def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings, trusted):
    settings.CRM_TRUSTED_PROXIES = trusted
    assert client_ip(request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


@pytest.mark.parametrize(("forwarded", "expected"), [
    ("198.51.100.7", "198.51.100.7"),
    ("6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client wrote itself is ignored
    ("6.6.6.6,198.51.100.7", "198.51.100.7"),
    (None, "192.0.2.10"),  # came past the proxy: the connection's own address
    ("198.51.100.7:4711", "198.51.100.7"),
    ("[2001:db8::7]:4711", "2001:db8::7"),
    ("2001:DB8::7", "2001:db8::7"),
    ("::ffff:198.51.100.7", "198.51.100.7"),
])
def test_one_proxy_the_last_forwarded_hop_is_the_client(settings, forwarded, expected):
    settings.CRM_TRUSTED_PROXIES = "1"
    assert client_ip(request("192.0.2.10", forwarded)) == expected


def test_two_proxies_skip_two_hops(settings):
    settings.CRM_TRUSTED_PROXIES = "2"
    assert client_ip(request("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"
    assert client_ip(request("10.0.0.2", "198.51.100.7")) == "198.51.100.7"  # fewer hops than proxies: the farthest


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
    ("10.0.0.2", "6.6.6.6, 198.51.100.7, 172.16.5.5", "198.51.100.7"),  # through both trusted networks
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not from our proxy: its header is a claim
    ("10.0.0.2", "unknown", "10.0.0.2"),  # garbage from further out: our proxy is the last we know
    ("10.0.0.2", "10.0.0.3", "10.0.0.3"),  # only our proxies: the farthest of them
    ("10.0.0.2", None, "10.0.0.2"),
])
def test_proxies_by_address_the_rightmost_untrusted_hop_is_the_client(settings, remote, forwarded, expected):
    settings.CRM_TRUSTED_PROXIES = "10.0.0.0/8, 172.16.0.0/12"
    assert client_ip(request(remote, forwarded)) == expected


def test_an_unreadable_setting_is_a_configuration_error(settings):
    settings.CRM_TRUSTED_PROXIES = "the proxy"
    with pytest.raises(ImproperlyConfigured):
        client_ip(request())


def test_axes_counts_the_client_not_the_proxy(settings):
    settings.CRM_TRUSTED_PROXIES = "1"
    assert get_client_ip_address(request("192.0.2.10", "198.51.100.7")) == "198.51.100.7"


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, CRM_TRUSTED_PROXIES="1")
def test_a_locked_out_visitor_behind_the_proxy_does_not_lock_out_the_others(client, role_users):
    rep = role_users[Role.SALES_REP]
    rep.set_password("Richtig-Passwort-42")
    rep.save()
    proxy = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(3):
        client.post(reverse("login"), {"username": rep.username, "password": "falsch"}, HTTP_X_FORWARDED_FOR="198.51.100.66", **proxy)
    locked = client.post(reverse("login"), {"username": rep.username, "password": "Richtig-Passwort-42"},
                         HTTP_X_FORWARDED_FOR="198.51.100.66", **proxy)
    assert locked.status_code == 429 and 'data-testid="too-many-requests"' in locked.content.decode()
    other = client.post(reverse("login"), {"username": rep.username, "password": "Richtig-Passwort-42"},
                        HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert other.status_code == 302


def test_no_module_but_crm_clientip_reads_the_connection_address():
    """Everything that wants the visitor's address asks crm.clientip, so a proxy in front changes
    one setting, not a dozen call sites (consent evidence once stored the proxy's address)."""
    base = Path(settings.BASE_DIR)
    found = []
    for app in ("crm", "contacts", "sales", "marketing", "service", "appointments", "analytics"):
        for path in (base / app).rglob("*.py"):
            relative = path.relative_to(base).as_posix()
            if "/tests/" in relative or relative == "crm/clientip.py":
                continue
            if re.search(r"REMOTE_ADDR|HTTP_X_FORWARDED_FOR", path.read_text()):
                found.append(relative)
    assert found == []
