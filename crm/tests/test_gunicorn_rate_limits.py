"""Rate limits as production runs them: gunicorn with two worker processes on 127.0.0.1, the
Postgres test database and the Redis cache. A limit kept per process (the local-memory cache)
would let each worker pass its own share: 30 posts stored 20 with two workers before CACHES came
from REDIS_URL. Behind the trusted proxy (here 127.0.0.1, which X-Forwarded-For names the
visitors for) two visitors are counted apart."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from django.conf import settings

from contacts.tests.factories import PersonFactory
from crm.models import OutgoingEmail
from crm.tests.processes import database_url, require_services
from crm.tests.smtp import free_port
from marketing.models import WebFormSubmission
from marketing.tests.factories import WebFormFactory
from service.models import PortalAccess

# gunicorn runs in other processes, on the real clock; so does this test (conftest.FROZEN_AT).
pytestmark = [pytest.mark.services, pytest.mark.real_clock, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CACHE_URL = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/2"
FORM_LIMIT = 4
PORTAL_LIMIT = 3
RECIPIENT_LIMIT = 2


class Server:
    def __init__(self, port: int, log: Path, access_log: Path):
        self.base, self.log, self.access_log = f"http://127.0.0.1:{port}", log, access_log
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None, forwarded_for: str = "") -> tuple[int, str]:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers)  # noqa: S310 (http://127.0.0.1)
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def worker_pids(self, path_part: str) -> set[str]:
        """The gunicorn workers that answered requests to paths containing `path_part`."""
        return {line.split()[0] for line in self.access_log.read_text().splitlines() if path_part in line}


@pytest.fixture
def server(tmp_path):
    require_services(CACHE_URL, who="gunicorn's workers")
    prefix = f"test-gunicorn-{uuid.uuid4().hex}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": CACHE_URL,
        "CACHE_KEY_PREFIX": prefix,  # one prefix for both workers, none shared with other tests
        "CRM_TRUSTED_PROXIES": "127.0.0.1",
        "DB_CONN_MAX_AGE": "0",
        "MARKETING_FORM_RATE_LIMIT": str(FORM_LIMIT),
        "SERVICE_PORTAL_LINK_RATE_LIMIT": str(PORTAL_LIMIT),
        "SERVICE_PORTAL_LINK_RECIPIENT_LIMIT": str(RECIPIENT_LIMIT),
    }
    log, access_log = tmp_path / "gunicorn.log", tmp_path / "access.log"
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [sys.executable, "-m", "gunicorn", "crm.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
         "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s %(m)s %(U)s"],
        cwd=settings.BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    served = Server(port, log, access_log)
    try:
        deadline = time.monotonic() + 60  # two Django processes booting on a busy machine
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start: {log.read_text()[-3000:]}")
            try:
                if served.request("/service/portal/login/")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        client = redis.Redis.from_url(CACHE_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_limits_hold_across_two_gunicorn_workers_per_visitor_behind_the_proxy(server):
    web_form = WebFormFactory()
    path = web_form.get_public_url()
    status, page = server.request(path)
    assert status == 200, page[-2000:]
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)

    def post(n: int, forwarded_for: str = "") -> int:
        fields = {"form_token": token, "last_name": "Weber", "email": f"besucher{n}@example.de"}
        return server.request(path, fields, forwarded_for=forwarded_for)[0]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        # 30 posts from one address (the proxy's own, no X-Forwarded-For), six at a time.
        statuses = list(pool.map(post, range(30)))
        assert sorted(statuses) == [200] * FORM_LIMIT + [429] * (30 - FORM_LIMIT), server.log.read_text()[-3000:]
        assert WebFormSubmission.objects.filter(form=web_form).count() == FORM_LIMIT
        assert len(server.worker_pids(path)) == 2  # both workers took posts: the count is shared

        # Two visitors behind the proxy, each counted on its own.
        visitors = {"198.51.100.7": [], "198.51.100.8": []}
        for address, results in visitors.items():
            results += pool.map(lambda n, a=address: post(n, forwarded_for=f"6.6.6.6, {a}"), range(100, 110))
    assert {a: sorted(r) for a, r in visitors.items()} == {
        a: [200] * FORM_LIMIT + [429] * (10 - FORM_LIMIT) for a in visitors
    }
    stored = WebFormSubmission.objects.filter(form=web_form)
    assert stored.count() == 3 * FORM_LIMIT
    assert {str(ip) for ip in stored.values_list("ip_address", flat=True)} == {"127.0.0.1", *visitors}

    # Portal sign-in links: per client, and per recipient however many clients ask.
    PortalAccess.objects.create(person=PersonFactory(email="kunde@kunde-gmbh.de"))
    login = "/service/portal/login/"
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', server.request(login)[1]).group(1)
    form = {"email": "kunde@kunde-gmbh.de", "csrfmiddlewaretoken": csrf}
    answers = [server.request(login, form, forwarded_for="198.51.100.20") for _ in range(6)]
    assert [s for s, _ in answers] == [200] * PORTAL_LIMIT + [429] * (6 - PORTAL_LIMIT)
    assert 'data-testid="too-many-requests"' in answers[-1][1]
    others = [server.request(login, form, forwarded_for=f"198.51.100.{30 + i}")[0]
              for i in range(4)]
    assert others == [200] * 4
    assert OutgoingEmail.objects.filter(to="kunde@kunde-gmbh.de").count() == RECIPIENT_LIMIT
    assert time.monotonic() - started < 30
