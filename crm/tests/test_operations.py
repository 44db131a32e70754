"""The operators' endpoints in the web process: /healthz, /readyz, /metrics (crm.health,
crm.metrics) and the request id with the JSON log format (crm.logs). The same against gunicorn's
processes, a closed database port and a real Celery worker: test_operations_processes.py."""

import io
import json
import logging
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import RequestFactory, override_settings

from contacts.models import Person
from crm import logs
from crm.celery import app
from crm.models import OutgoingEmail, WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm.roles import Role
from crm.tests.processes import free_port

ADDRESS = "max.mustermann@example.de"
TOKEN = "metrics-token-0123456789"


@app.task(name="crm.tests.test_operations.failing_task")
def failing_task():
    raise RuntimeError("broken on purpose")


@app.task(name="crm.tests.test_operations.logging_task")
def logging_task():
    logging.getLogger("crm.tests.task").info("the task ran")


@pytest.fixture
def log_lines():
    """What the root logger writes while the test runs, formatted as LOG_FORMAT=json would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    root, requests_logger = logging.getLogger(), logging.getLogger("crm.requests")
    saved = root.level, requests_logger.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    requests_logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        requests_logger.setLevel(saved[1])


def metric(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus' text format, or None if it is not there."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        sample_name, _, label_text = sample.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if sample_name == name and found == {k: str(v) for k, v in labels.items()}:
            return float(value)
    return None


# /healthz


@override_settings(SECURE_SSL_REDIRECT=True, CRM_REQUIRE_2FA_FOR_ADMINS=True)
def test_healthz_answers_without_the_database_a_session_or_an_allowed_host(client):
    # No django_db mark: pytest-django lets no query through, so any database access would fail here.
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")  # a load balancer asks by address, over http
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert not response.cookies


@pytest.mark.django_db
@override_settings(CRM_REQUIRE_2FA_FOR_ADMINS=True)
def test_healthz_is_not_sent_to_two_factor_set_up_and_creates_no_session(client, role_users, django_assert_num_queries):
    client.force_login(role_users[Role.ADMIN])
    assert client.get("/").status_code == 302  # every page sends this admin to the two-factor page
    sessions = Session.objects.count()
    with django_assert_num_queries(0):  # not even the session is read
        response = client.get("/healthz")
    assert response.status_code == 200 and "sessionid" not in response.cookies
    assert Session.objects.count() == sessions
    assert client.post("/healthz").status_code == 405


# /readyz


@pytest.mark.django_db
def test_readyz_lists_every_check_when_all_answer(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert {name: check["state"] for name, check in body["checks"].items()} == {
        "database": "ok", "cache": "ok", "broker": "ok", "storage": "ok",
    }
    assert not response.cookies


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_does_not_answer(client, monkeypatch):
    closed = f"redis://:broker-password@127.0.0.1:{free_port()}/7"
    saved = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", closed)  # Celery prefers the variable to its configuration
    app.conf.broker_url = closed
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = saved
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"] and body["checks"]["broker"]["state"] == "unavailable"
    assert body["checks"]["database"]["state"] == "ok"
    assert "password" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_names_the_cache_when_redis_does_not_answer(client):
    closed = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://:cache-password@127.0.0.1:{free_port()}/8",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}
    with override_settings(CACHES=closed):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"] and body["checks"]["cache"]["state"] != "ok"
    assert "password" not in response.content.decode()


# /metrics


@pytest.mark.django_db
def test_metrics_do_not_exist_until_configured(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_need_the_token(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="10.1.2.3:9100")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert not response.cookies


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"], CRM_TRUSTED_PROXIES="127.0.0.1")
def test_metrics_for_allowed_client_addresses_behind_the_trusted_proxy(client):
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.4.5.6").status_code == 200
    # Behind our proxy the client is the address it forwarded, not the proxy's own.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.7.7.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.9").status_code == 403
    # A client cannot claim an allowed address: X-Forwarded-For from outside is not believed.
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="10.7.7.7").status_code == 403


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_count_requests_by_view_and_report_the_outbox_backlog(client, alice):
    def scrape():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        return response.content.decode()

    labels = {"view": "login", "method": "GET", "status": "200"}
    before = metric(scrape(), "crm_http_requests_total", **labels) or 0
    for _ in range(3):
        assert client.get("/login/").status_code == 200
    client.get("/no/such/page/")
    for state in ("queued", "queued", "sending", "sent", "failed"):
        OutgoingEmail.objects.create(to=ADDRESS, from_email="crm@localhost", subject="Hallo", body="x", state=state)
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.de/crm", secret="whsec_x", created_by=alice)
    event = WebhookEvent.objects.create(msg_id="msg_test_1", event_type="person.updated", payload={})
    WebhookDelivery.objects.create(endpoint=endpoint, event=event)
    WebhookDelivery.objects.create(endpoint=endpoint, event=event, state=WebhookDelivery.State.DELIVERED)

    text = scrape()
    assert metric(text, "crm_http_requests_total", **labels) == before + 3
    assert metric(text, "crm_http_requests_total", view="unresolved", method="GET", status="404") >= 1
    assert metric(text, "crm_http_request_duration_seconds_count", view="login", method="GET") >= 3
    assert metric(text, "crm_outbox_emails_pending", state="queued") == 2
    assert metric(text, "crm_outbox_emails_pending", state="sending") == 1
    assert metric(text, "crm_outbox_oldest_pending_seconds") >= 0
    assert metric(text, "crm_webhook_deliveries_pending") == 1
    assert metric(text, "crm_celery_queue_length", queue=app.conf.task_default_queue) is not None
    assert metric(text, "crm_celery_broker_up") == 1 and metric(text, "crm_metrics_database_up") == 1
    assert ADDRESS not in text


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_count_task_failures(client):
    def failures():
        text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        return metric(text, "crm_celery_task_failures_total", task=failing_task.name) or 0

    before = failures()
    assert failing_task.apply(throw=False).failed()  # eager, as a worker runs it: the error is caught
    assert failures() == before + 1


def test_metrics_with_a_wrong_network_setting_say_so():
    from django.core.exceptions import ImproperlyConfigured

    from crm.metrics import _parse_networks

    with pytest.raises(ImproperlyConfigured, match="METRICS_ALLOWED_NETWORKS"):
        _parse_networks(("10.0.0.0/8", "intranet"))


# Request id and logs


@pytest.mark.django_db
def test_the_request_id_is_taken_when_well_formed_and_made_otherwise(client):
    generated = client.get("/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/login/")["X-Request-ID"] != generated
    assert client.get("/login/", HTTP_X_REQUEST_ID="lb-4711-abcdef")["X-Request-ID"] == "lb-4711-abcdef"
    for bad in ("short", "two words here", 'x"}\n{"level":"ERROR"', "a" * 200):
        answered = client.get("/login/", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert answered != bad and re.fullmatch(r"[0-9a-f]{32}", answered)
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz")["X-Request-ID"])


@pytest.mark.django_db
def test_log_lines_of_a_request_carry_its_id_also_inside_an_eager_task(client, log_lines):
    from django.urls import path

    from crm import urls as crm_urls

    def view(request):
        logging.getLogger("crm.tests.view").info("the view runs")
        logging_task.delay()  # eager in tests: runs here, inside the request
        from django.http import HttpResponse

        return HttpResponse("ok")

    urlconf = type("urls", (), {"urlpatterns": [path("probe-task/", view, name="probe_task"), *crm_urls.urlpatterns]})
    with override_settings(ROOT_URLCONF=urlconf):
        response = client.get("/probe-task/", HTTP_X_REQUEST_ID="req-0000-1111-2222")
    assert response["X-Request-ID"] == "req-0000-1111-2222"
    lines = {line["logger"]: line for line in log_lines()}
    assert lines["crm.tests.view"]["request_id"] == "req-0000-1111-2222"
    assert lines["crm.tests.task"]["request_id"] == "req-0000-1111-2222"
    access = lines["crm.requests"]
    assert access["request_id"] == "req-0000-1111-2222" and access["status"] == 200 and access["view"] == "probe_task"
    assert logs.current_request_id() is None  # nothing is left behind for the thread's next request


@pytest.mark.django_db
def test_a_request_that_handles_a_person_logs_no_email_address(client, alice, log_lines):
    client.force_login(alice)
    response = client.post("/contacts/people/new/", {
        "salutation": "mr", "first_name": "Max", "last_name": "Mustermann", "email": ADDRESS, "country": "DE",
        "preferred_language": "de", "lifecycle_stage": "lead", "source": "website", "owner": "",
        "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[-2000:]
    person = Person.objects.get(email=ADDRESS)
    client.get(person.get_absolute_url())
    client.get("/search/", {"q": ADDRESS})
    lines = log_lines()
    assert {line["path"] for line in lines if line["logger"] == "crm.requests"} >= {
        "/contacts/people/new/", person.get_absolute_url(), "/search/",
    }
    assert all(ADDRESS not in json.dumps(line) and "mustermann@" not in json.dumps(line) for line in lines)


def test_email_addresses_are_redacted_from_any_log_line(log_lines):
    # What an SMTP server answers for a refused recipient, logged by crm.outbox.
    logging.getLogger("crm.outbox").warning("outbox: email %s failed after %s tries: %s", 7, 10,
                                            f"550 5.1.1 <{ADDRESS}>: Recipient address rejected")
    try:
        raise ValueError(f"no mailbox for jürgen.müller@müller-bau.de and {ADDRESS}")
    except ValueError:
        logging.getLogger("crm.tests").exception("failed")
    text = json.dumps(log_lines(), ensure_ascii=False)
    assert "Recipient address rejected" in text and "no mailbox for" in text
    assert ADDRESS not in text and "müller-bau.de" not in text and text.count("[email]") >= 3
    readable = logs.ReadableFormatter().format(logging.makeLogRecord({"msg": f"to {ADDRESS}", "request_id": "-"}))
    assert ADDRESS not in readable and "[email]" in readable


def test_json_log_lines_are_one_object_each_with_the_extra_fields():
    record = logging.makeLogRecord({"name": "crm.requests", "levelname": "INFO", "msg": "GET %s", "args": ("/x\ny",),
                                    "status": 200, "request_id": "abc", "request": RequestFactory().get("/x", {"q": "Mustermann"})})
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET /x\ny" and entry["status"] == 200 and entry["request_id"] == "abc"
    assert "request" not in entry and "Mustermann" not in line  # django.request's request object, with its query
