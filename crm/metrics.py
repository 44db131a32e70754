"""Prometheus metrics at `/metrics`, for operators only.

Two kinds, each counted where it is right with several processes per machine:

- Counters of what happened (requests by view, method and status with their duration; Celery task
  runs and failures by task) are written by each process into files in PROMETHEUS_MULTIPROC_DIR
  (prometheus_client's multiprocess mode) and summed over all processes of the machine at scrape
  time, whichever gunicorn worker answers the scrape. Celery workers on the same machine write
  there too.
- Gauges of how things are (the outbox backlog, the webhook deliveries waiting, the Celery queue
  lengths) are read from the database and the broker when Prometheus scrapes, so every process
  reports the same truth and none keeps state that could go stale.

Access: `Authorization: Bearer <METRICS_TOKEN>`, or a client address (crm.clientip, so behind the
trusted proxies the real client) in METRICS_ALLOWED_NETWORKS. Neither configured: 404.
"""

import hmac
import ipaddress
import logging
import time
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from crm.clientip import client_ip, parse_address

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "crm_http_requests", "HTTP requests answered, by view (URL name), method and status.", ["view", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "crm_http_request_duration_seconds", "Time to answer a request, by view (URL name) and method.", ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TASKS = Counter("crm_celery_tasks", "Celery tasks run to the end, by task and final state.", ["task", "state"])
TASK_FAILURES = Counter("crm_celery_task_failures", "Celery tasks that raised an error, by task.", ["task"])

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Counts every response and its duration under the view's URL name ("contacts:person_detail";
    "unresolved" for paths no URL matches, so a scan of random paths adds no label values)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        view = getattr(request, "metrics_view", None) or getattr(request.resolver_match, "view_name", None) or "unresolved"
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view, method).observe(time.perf_counter() - started)
        return response


def task_finished(sender=None, task=None, state=None, **kwargs):
    TASKS.labels(getattr(task, "name", None) or "unknown", state or "unknown").inc()


def task_failed(sender=None, **kwargs):
    TASK_FAILURES.labels(getattr(sender, "name", None) or "unknown").inc()


def connect_signals() -> None:
    from celery.signals import task_failure, task_postrun

    task_postrun.connect(task_finished, dispatch_uid="crm.metrics.task_finished")
    task_failure.connect(task_failed, dispatch_uid="crm.metrics.task_failed")


class BacklogCollector:
    """Gauges read at scrape time: what waits in the outboxes and in the Celery queues."""

    def collect(self):
        from crm.health import broker_queue_lengths, celery_queues
        from crm.models import OutgoingEmail, WebhookDelivery

        now = timezone.now()
        database_up = GaugeMetricFamily("crm_metrics_database_up", "1 if the database answered the metrics' queries.")
        try:
            pending_states = [OutgoingEmail.State.QUEUED, OutgoingEmail.State.SENDING]
            emails = dict(
                OutgoingEmail.objects.filter(state__in=pending_states).values_list("state").annotate(n=Count("id")).order_by()
            )
            oldest_email = OutgoingEmail.objects.filter(state__in=pending_states).aggregate(at=Min("created_at"))["at"]
            webhooks = WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).aggregate(
                n=Count("id"), at=Min("created_at")
            )
        except DatabaseError:
            logger.warning("metrics: the database did not answer", exc_info=True)
            database_up.add_metric([], 0)
        else:
            database_up.add_metric([], 1)
            outbox = GaugeMetricFamily(
                "crm_outbox_emails_pending", "Emails in the outbox (crm.OutgoingEmail) not yet sent, by state.", labels=["state"]
            )
            for state in pending_states:
                outbox.add_metric([state], emails.get(state, 0))
            yield outbox
            yield GaugeMetricFamily(
                "crm_outbox_oldest_pending_seconds", "Age of the oldest email waiting in the outbox (0: none waits).",
                value=(now - oldest_email).total_seconds() if oldest_email else 0,
            )
            yield GaugeMetricFamily(
                "crm_webhook_deliveries_pending", "Webhook deliveries (crm.WebhookDelivery) not yet delivered or given up.",
                value=webhooks["n"],
            )
            yield GaugeMetricFamily(
                "crm_webhook_oldest_pending_seconds", "Age of the oldest webhook delivery waiting (0: none waits).",
                value=(now - webhooks["at"]).total_seconds() if webhooks["at"] else 0,
            )
        yield database_up

        broker_up = GaugeMetricFamily("crm_celery_broker_up", "1 if the Celery broker answered.")
        try:
            lengths = broker_queue_lengths(celery_queues(), timeout=settings.CRM_READYZ_TIMEOUT)
        except Exception:  # kombu, redis-py and OSError each raise their own
            logger.warning("metrics: the Celery broker did not answer", exc_info=True)
            broker_up.add_metric([], 0)
        else:
            broker_up.add_metric([], 1)
            queues = GaugeMetricFamily("crm_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"])
            for name, length in lengths.items():
                queues.add_metric([name], length)
            yield queues
        yield broker_up


@lru_cache(maxsize=4)
def _parse_networks(items: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as error:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS must be addresses or networks, comma-separated: {error}") from error


def _networks():
    return _parse_networks(tuple(settings.METRICS_ALLOWED_NETWORKS))


def may_scrape(request) -> bool | None:
    """True if the request may read the metrics, False if not, None if metrics are switched off."""
    token, networks = settings.METRICS_TOKEN, _networks()
    if not token and not networks:
        return None
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    address = parse_address(client_ip(request) or "")
    return address is not None and any(address in network for network in networks)


def metrics_view(request):
    allowed = may_scrape(request)
    if allowed is None:
        return HttpResponseNotFound("Not found", content_type="text/plain")
    if not allowed:
        return HttpResponseForbidden("Forbidden", content_type="text/plain")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    registry.register(BacklogCollector())
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
