"""Webhook delivery measured by `manage.py benchmark` (see crm.benchmarks): 10,000 events sent by
the delivery code (crm.webhooks.delivery, as the Celery task runs it) to a real receiver on
127.0.0.1 that verifies every signature with the `standardwebhooks` library (the tests' own,
crm/tests/webhook_receiver.py). Everything it writes is rolled back by the command."""

import time

from django.test.utils import override_settings

from crm.benchmarks import Throughput, register_throughput
from crm.roles import Role

EVENTS = 10_000
DEADLINE_SECONDS = 600  # bounded: a receiver that stops answering ends the run


def _deliver(user, rng) -> list[tuple[int, float]]:
    from crm import webhooks
    from crm.models import WebhookEndpoint
    from crm.tests.webhook_receiver import Receiver
    from crm.webhooks import delivery

    receiver = Receiver().start()
    try:
        with override_settings(CRM_WEBHOOK_ALLOW_LOOPBACK=True):
            endpoint, receiver.secret = webhooks.endpoint_save(
                WebhookEndpoint(url=receiver.url, event_types=["person.updated"]), user=user
            )
            # Not measured: the events as the outbox holds them, a few per record (in order per record).
            for n in range(EVENTS):
                webhooks.emit("person.updated", payload={"id": n // 4, "city": f"Stadt {n}"}, kind="person",
                              object_id=n // 4, endpoints=[endpoint.pk])
            calls, delivered, started = [], 0, time.monotonic()
            while delivered < EVENTS and time.monotonic() - started < DEADLINE_SECONDS:
                start = time.perf_counter()
                run = delivery.deliver_endpoint(endpoint.pk, limit=1000)
                calls.append((run.delivered, time.perf_counter() - start))
                delivered += run.delivered
                if run.failed or not run.delivered:
                    break
        arrived = len({message["id"] for message in receiver.received})
        if delivered != EVENTS or arrived != EVENTS or receiver.rejected:
            raise RuntimeError(f"webhooks: {delivered} delivered, {arrived} arrived, {len(receiver.rejected)} rejected")
        return calls
    finally:
        receiver.stop()


register_throughput(Throughput("webhook_delivery_10000", _deliver, role=Role.ADMIN))
