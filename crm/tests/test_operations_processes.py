"""The operators' endpoints as production runs them: gunicorn with the production settings
(HTTPS redirect on, ALLOWED_HOSTS of the site only) and real outages: a database port nobody
listens on, a Redis that is not there. And the request id of a request in the log lines of the
real Celery worker that ran the task it queued."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from crm import tasks
from crm import urls as crm_urls
from crm.tests.processes import celery_workers, free_port, wait_for
from crm.tests.test_operations import metric

# The servers run in other processes, on the real clock; so do these tests (conftest.FROZEN_AT).
pytestmark = [pytest.mark.real_clock]

TOKEN = "metrics-token-for-the-test"
BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/2"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test looks at the redirect itself


_opener = urllib.request.build_opener(_NoRedirects)


class Gunicorn:
    def __init__(self, tmp_path: Path, *, workers: int, **environment: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log, self.access_log = tmp_path / "gunicorn.log", tmp_path / "access.log"
        var = tmp_path / "var"
        env = {
            key: value for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR"}
        }
        env.update({
            "DJANGO_SETTINGS_MODULE": "crm.settings",  # production: DEBUG off, HTTPS redirect, ALLOWED_HOSTS
            "CRM_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}",
            "DB_CONN_MAX_AGE": "0",
            **environment,
        })
        self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [sys.executable, "-m", "gunicorn", "crm.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "5", "--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(s)s %(U)s"],
            cwd=settings.BASE_DIR, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60  # Django processes booting on a busy machine
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"gunicorn did not start: {self.log.read_text()[-3000:]}")
            try:
                if self.get("/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)

    def get(self, path: str, **headers: str) -> tuple[int, dict, str]:
        request = urllib.request.Request(self.base + path, headers=headers)  # noqa: S310 (http://127.0.0.1)
        try:
            with _opener.open(request, timeout=20) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def worker_pids(self, path_part: str) -> set[str]:
        return {line.split()[0] for line in self.access_log.read_text().splitlines() if path_part in line}

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def gunicorn(tmp_path):
    started = []

    def start(**environment):
        directory = tmp_path / f"server{len(started)}"
        directory.mkdir()
        server = Gunicorn(directory, workers=environment.pop("workers", 1), **environment)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.mark.engine_independent
def test_the_embedded_defaults_are_ready_and_metrics_add_up_over_two_workers(gunicorn, tmp_path):
    server = gunicorn(workers=2, METRICS_TOKEN=TOKEN, LOG_FORMAT="json",
                      PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    # SQLite, the local-memory cache, the file-system broker and storage under var/: `make run`.
    status, headers, body = server.get("/readyz", Host="10.9.8.7:8000")  # by address, plain http
    assert status == 200, body
    assert {name: check["state"] for name, check in json.loads(body)["checks"].items()} == {
        "database": "ok", "cache": "ok", "broker": "ok", "storage": "ok",
    }
    assert "Set-Cookie" not in headers
    # Everything else gets the production treatment: the HTTPS redirect, the host check.
    assert server.get("/login/")[0] == 301
    assert server.get("/login/", Host="10.9.8.7", **{"X-Forwarded-Proto": "https"})[0] == 400

    with ThreadPoolExecutor(max_workers=6) as pool:  # six at a time: both workers answer some
        assert set(pool.map(lambda _: server.get("/healthz", Host="10.9.8.7")[0], range(30))) == {200}
    wait_for(lambda: len(server.worker_pids("/healthz")) == 2, 10, "probes answered by both workers")
    assert server.get("/metrics")[0] == 403
    assert server.get("/metrics", Authorization="Bearer not-the-token")[0] == 403
    status, _, text = server.get("/metrics", Authorization=f"Bearer {TOKEN}", Host="10.9.8.7:8000")
    assert status == 200
    # Whichever worker answers the scrape, it counts every worker's requests: 30 and the start-up poll's.
    assert metric(text, "crm_http_requests_total", view="healthz", method="GET", status="200") == 31
    assert metric(text, "crm_http_requests_total", view="readyz", method="GET", status="200") == 1
    assert metric(text, "crm_http_requests_total", view="metrics", method="GET", status="403") == 2
    assert metric(text, "crm_celery_broker_up") == 1 and metric(text, "crm_celery_queue_length", queue="celery") == 0
    # No migrations in this throwaway database: the outbox cannot be counted, and says so.
    assert metric(text, "crm_metrics_database_up") == 0

    # The request id: taken from the proxy, returned, and on the request's JSON log line.
    status, headers, _ = server.get("/api/v1/", **{"X-Request-ID": "lb-0123456789", "X-Forwarded-Proto": "https"})
    assert headers["X-Request-ID"] == "lb-0123456789"
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "crm.requests" and line["request_id"] == "lb-0123456789"]
    assert access and access[0]["path"] == "/api/v1/" and access[0]["status"] == status


@pytest.mark.engine_independent
def test_readyz_names_the_database_when_its_port_is_closed(gunicorn):
    server = gunicorn(DATABASE_URL=f"postgres://crm:db-password@127.0.0.1:{free_port()}/crm")
    assert server.get("/healthz")[0] == 200  # alive: it does not ask the database
    status, _, body = server.get("/readyz", Host="10.9.8.7")
    assert status == 503, body
    answer = json.loads(body)
    assert answer["failing"] == ["database"] and answer["checks"]["database"]["state"] == "unavailable"
    assert "db-password" not in body and "crm:" not in body


@pytest.mark.engine_independent
def test_readyz_names_the_cache_and_the_broker_when_redis_is_down(gunicorn):
    closed = f"redis://:redis-password@127.0.0.1:{free_port()}/7"
    server = gunicorn(REDIS_URL=closed, CELERY_BROKER_URL=closed)
    started = time.monotonic()
    status, _, body = server.get("/readyz")
    assert status == 503, body
    assert time.monotonic() - started < 10
    answer = json.loads(body)
    assert answer["failing"] == ["cache", "broker"]
    assert answer["checks"]["database"]["state"] == "ok" and answer["checks"]["storage"]["state"] == "ok"
    assert "redis-password" not in body and "6379" not in body


@pytest.fixture
def json_worker(tmp_path):
    """A Celery worker on Redis and the Postgres test database that logs JSON, on a queue of its own."""
    env = {"LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with celery_workers(tmp_path, BROKER_URL, prefix="requestid", env=env) as workers:
        workers.start()
        yield workers.log_path()


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_request_id_reaches_the_log_lines_of_the_task_the_request_queued(client, json_worker):
    def queue_a_task(request):
        tasks.idempotency_keys_purge.delay()
        return HttpResponse("queued")

    urlconf = type("urls", (), {"urlpatterns": [path("queue-task/", queue_a_task), *crm_urls.urlpatterns]})
    with override_settings(ROOT_URLCONF=urlconf):
        response = client.get("/queue-task/", HTTP_X_REQUEST_ID="req-worker-0123456789")
    assert response["X-Request-ID"] == "req-worker-0123456789"

    def task_lines():
        lines = [json.loads(line) for line in json_worker.read_text().splitlines() if line.startswith("{")]
        carried = [line for line in lines if line["request_id"] == "req-worker-0123456789"]
        return carried if any("succeeded" in line["message"] for line in carried) else None

    carried = wait_for(task_lines, 60, lambda: f"the task's log lines (worker log: {json_worker.read_text()[-3000:]})")
    assert all(tasks.idempotency_keys_purge.name in line["message"] for line in carried)
    # The worker's next lines (other tasks, its own) do not keep the id.
    lines = [json.loads(line) for line in json_worker.read_text().splitlines() if line.startswith("{")]
    assert any(line["request_id"] is None for line in lines)
