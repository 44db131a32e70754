"""The one rate-limit mechanism of the public pages (crm.ratelimit): counting in the shared cache,
atomic under concurrency, a friendly 429 page in the page's own frame, never a 500. The limits of
each page are tested next to it (web form, links: marketing/tests/test_consent.py; portal links:
service/tests/test_portal.py; survey: service/tests/test_views.py; booking:
appointments/tests/test_booking.py; login: test_clientip.py); the password reset is here."""

import os
import threading

import pytest
import redis
from django.core import mail
from django.core.cache import caches
from django.test import RequestFactory
from django.urls import reverse

from crm import ratelimit
from crm.roles import Role


def visitor(address="198.51.100.7"):
    return RequestFactory().post("/", REMOTE_ADDR=address)


def test_it_lets_the_limit_through_and_refuses_the_rest():
    assert [ratelimit.hit("test-scope", "a", limit=3) for _ in range(5)] == [False, False, False, True, True]
    assert ratelimit.hit("test-scope", "b", limit=3) is False  # another key counts on its own
    assert ratelimit.hit("other-scope", "a", limit=3) is False  # and another scope


def test_no_limit_when_it_is_zero():
    assert not any(ratelimit.hit("test-scope", "a", limit=0) for _ in range(20))


def test_concurrent_requests_never_pass_more_than_the_limit():
    passed, start = [], threading.Barrier(16)

    def request():
        start.wait()
        if not ratelimit.hit("test-concurrent", "a", limit=5):
            passed.append(1)

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(passed) == 5


def test_an_ipv6_client_counts_by_its_64_network():
    assert ratelimit.client_key(visitor("2001:db8:1:2::7")) == ratelimit.client_key(visitor("2001:db8:1:2:ffff::1"))
    assert ratelimit.client_key(visitor("2001:db8:1:2::7")) != ratelimit.client_key(visitor("2001:db8:1:3::7"))
    assert ratelimit.client_key(visitor("198.51.100.7")) == "198.51.100.7"


def test_a_cache_that_is_down_lets_requests_through_and_says_so(settings, caplog, client, db):
    settings.CACHES = {"default": {  # nothing listens on port 1
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1},
    }}
    settings.CRM_PASSWORD_RESET_RATE_LIMIT = 1
    assert ratelimit.hit("test-scope", "a", limit=1) is False
    assert "cache is not available" in caplog.text
    statuses = [client.post(reverse("password_reset"), {"email": "x@example.de"}).status_code for _ in range(2)]
    assert statuses == [302, 302]


@pytest.mark.services
def test_every_counter_in_redis_expires_with_its_window(settings):
    url = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/7"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable at {url} ({error})")
        pytest.skip(f"Redis is not reachable at {url}")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                   "KEY_PREFIX": f"test-expiry-{os.getpid()}"}}
    settings.CRM_RATE_LIMIT_WINDOW = 60
    ratelimit.hit("test-expiry", "a", limit=3)
    ratelimit.hit("test-expiry", "a", limit=3)
    backend = caches["default"]
    client = backend._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{backend.key_prefix}:*"))
    try:
        assert len(keys) == 1 and int(client.get(keys[0])) == 2
        assert 0 < client.ttl(keys[0]) <= 60
    finally:
        client.delete(*keys)


@pytest.fixture
def rep(role_users):
    user = role_users[Role.SALES_REP]
    user.email = "rep@example.de"
    user.save()
    return user


def test_password_reset_requests_are_limited_with_a_friendly_page(client, rep, settings):
    settings.CRM_PASSWORD_RESET_RATE_LIMIT = 2
    responses = [client.post(reverse("password_reset"), {"email": "someone@example.de"}, HTTP_ACCEPT_LANGUAGE="de")
                 for _ in range(3)]
    assert [r.status_code for r in responses] == [302, 302, 429]
    html = responses[-1].content.decode()
    assert 'data-testid="too-many-requests"' in html and "Zu viele Anfragen" in html
    assert 'data-testid="breadcrumbs"' in html  # the site's own frame
    assert client.get(reverse("password_reset")).status_code == 200  # the form itself is not limited
    other = client.post(reverse("password_reset"), {"email": "rep@example.de"}, REMOTE_ADDR="198.51.100.99")
    assert other.status_code == 302  # another client is not


def test_one_account_gets_few_reset_mails_however_many_clients_ask(client, rep, settings, django_capture_on_commit_callbacks):
    settings.CRM_PASSWORD_RESET_RECIPIENT_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(reverse("password_reset"), {"email": "rep@example.de"}, REMOTE_ADDR=f"198.51.100.{i}").status_code
            for i in range(1, 6)
        ]
    assert statuses == [302] * 5  # answered alike
    assert len(mail.outbox) == 2
