"""Probes for load balancers and orchestrators: `/healthz` and `/readyz`.

`/healthz` says the process is alive and answers requests: no database, no cache, nothing that
can be slow. `/readyz` says the process can do its work: the database, the cache, the Celery
broker and the file storage each answer within CRM_READYZ_TIMEOUT seconds. Both answer before the
rest of the middleware (crm.middleware.ProbeMiddleware): no login, no two-factor redirect, no
HTTPS redirect, no session, no rate limit and no ALLOWED_HOSTS check, because a load balancer asks
by the machine's address over plain HTTP.

The checks are django-health-check's (Database, Cache, Storage: a SELECT 1 on a connection of its
own, a set and get of a fresh key, a file written, read and deleted) plus Broker below; they run
side by side, each within its own timeout. The body names each check and its state and nothing
else: no host, no URL, no error text (those go to the log).
"""

import asyncio
import dataclasses
import datetime
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Cache, Database, Storage
from health_check.exceptions import ServiceUnavailable

# Threads for the synchronous checks, shared by all requests of the process: a check that hangs
# (a database host that drops packets) keeps one thread, and later probes still answer in time.
_EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


def broker_queue_lengths(queues: list[str], *, timeout: float) -> dict[str, int]:
    """Messages waiting in each Celery queue, read from the broker (Redis or the embedded file
    system broker) over a connection of its own that gives up after `timeout` seconds."""
    from crm.celery import app

    options = {**(app.conf.broker_transport_options or {}), "socket_timeout": timeout, "socket_connect_timeout": timeout}
    with app.connection_for_read(connect_timeout=timeout, transport_options=options) as connection:
        connection.ensure_connection(max_retries=0, timeout=timeout)
        channel = connection.channel()
        try:
            # Declaring is harmless (Celery declares its queues the same way) and, unlike a
            # passive declaration, does not fail for a queue nobody has used yet.
            return {name: channel.queue_declare(queue=name, durable=True, auto_delete=False).message_count for name in queues}
        finally:
            channel.close()


def celery_queues() -> list[str]:
    return [settings.CELERY_TASK_DEFAULT_QUEUE]


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker takes connections and answers for the default queue (a worker need not
    be running: web processes only queue tasks)."""

    def run(self):
        try:
            broker_queue_lengths(celery_queues(), timeout=self.timeout.total_seconds())
        except Exception as error:  # kombu, redis-py and OSError each raise their own
            raise ServiceUnavailable(type(error).__name__) from error


def readiness_checks() -> dict[str, HealthCheck]:
    timeout = datetime.timedelta(seconds=settings.CRM_READYZ_TIMEOUT)
    checks = {"database": Database(), "cache": Cache(timeout=timeout), "broker": Broker(), "storage": Storage()}
    for check in checks.values():
        check.timeout = timeout  # the library waits this long (and a second for the client's own error)
    return checks


async def _run(checks: dict[str, HealthCheck]) -> list[HealthCheckResult]:
    return await asyncio.gather(*(check.get_result(_EXECUTOR) for check in checks.values()))


def _never_cached(response):
    add_never_cache_headers(response)
    return response


def healthz(request):
    """Alive: the process answers. Touches nothing else."""
    return _never_cached(JsonResponse({"status": "ok"}))


def readyz(request):
    """Ready: 200 with every check "ok", or 503 naming the checks that failed."""
    checks = readiness_checks()
    results = dict(zip(checks, async_to_sync(_run)(checks), strict=True))
    states = {name: "ok" if result.error is None else result.error.message_type.lower() for name, result in results.items()}
    failing = [name for name, state in states.items() if state != "ok"]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": {
            name: {"state": states[name], "ms": round(result.time_taken * 1000, 1)} for name, result in results.items()
        },
    }
    return _never_cached(JsonResponse(body, status=503 if failing else 200))
