"""Measures the campaign send rate into a local SMTP sink (aiosmtpd on 127.0.0.1).

    manage.py marketing_send_benchmark --recipients 100000 --workers 2

Makes that many people with email consent (postal code 00000, removed again afterwards unless
--keep) and starts the send through the same service as the campaign page. With --workers N
the send runs as in production: a Celery worker with N processes on the configured broker
lists the recipients and sends the batches; without, everything runs in this process (Celery
eager). Reports the whole time from "send" to the last message and the sending rate (first to
last message), both as messages per second the sink received.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min
from django.test.utils import override_settings

from contacts.models import Person
from crm.celery import app
from marketing import services
from marketing.models import Campaign, Consent, Delivery, EmailTemplate, Segment
from marketing.seed import NEWSLETTER_DE

MARKER = "00000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(BaseCommand):
    help = "Measures the send rate of a campaign into a local SMTP sink."

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=100_000)
        parser.add_argument("--rate", type=int, default=0, help="MARKETING_SEND_RATE during the run (0 = unlimited)")
        parser.add_argument("--keep", action="store_true", help="keep the people and the campaign")
        parser.add_argument("--workers", type=int, default=0, help="Celery worker processes (0: in this process)")
        parser.add_argument("--timeout", type=int, default=1800, help="give up after this many seconds")

    def handle(self, *, recipients: int, rate: int, keep: bool, workers: int, timeout: int, **options):
        if not 1 <= recipients <= 200_000:
            raise CommandError("--recipients must be between 1 and 200,000")
        port = _free_port()
        out = Path(tempfile.mkdtemp()) / "sink.jsonl"
        sink = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [sys.executable, "-m", "marketing.smtp_sink", "--port", str(port), "--out", str(out), "--count-only"],
            cwd=settings.BASE_DIR,
        )
        try:
            self._wait_for(port)
            started = time.perf_counter()
            people = Person.objects.bulk_create(
                [Person(first_name=f"Bench{i}", last_name=f"Empfänger{i}", email=f"bench{i}@example.invalid", postal_code=MARKER) for i in range(recipients)],
                batch_size=5_000,
            )
            Consent.objects.bulk_create(
                [Consent(person=p, status=Consent.Status.GRANTED, source=Consent.Source.IMPORT) for p in people], batch_size=5_000
            )
            template = EmailTemplate.objects.create(name="Benchmark", subject="{{ first_name }}, unser Angebot", body_html=NEWSLETTER_DE)
            campaign = Campaign.objects.create(name="Send benchmark", code=f"send-benchmark-{int(time.time())}", template=template)
            segment = Segment.objects.create(name="Send benchmark", definition={"postal_code_prefix": MARKER})
            campaign.segments.add(segment)
            self.stdout.write(f"{recipients:,} people with consent made in {time.perf_counter() - started:.1f} s")

            email = {
                "EMAIL_BACKEND": "crm.outbox.SMTPBackend", "EMAIL_HOST": "127.0.0.1",  # as in production
                "EMAIL_PORT": port, "EMAIL_USE_TLS": False, "EMAIL_HOST_USER": "", "MARKETING_SEND_RATE": rate,
            }
            if workers:
                elapsed = self._send_with_workers(campaign, workers, email, timeout)
            else:
                eager = app.conf.task_always_eager
                app.conf.task_always_eager = True
                try:
                    with override_settings(**email, DEBUG=False):
                        started = time.perf_counter()
                        services.campaign_start_send(campaign=campaign)
                        elapsed = time.perf_counter() - started
                finally:
                    app.conf.task_always_eager = eager
            time.sleep(1)
            received = sum(1 for _ in out.open())
            progress = services.progress_summary(campaign)
            span = Delivery.objects.filter(campaign=campaign).aggregate(first=Min("sent_at"), last=Max("sent_at"))
            sending = (span["last"] - span["first"]).total_seconds() if span["first"] else 0
            count = progress["total"]
            result = {
                "recipients": count, "received_by_sink": received, "sent": progress["sent"],
                "seconds_total": round(elapsed, 1), "messages_per_second_total": round(received / elapsed, 1),
                "seconds_sending": round(sending, 1),
                "messages_per_second_sending": round(progress["sent"] / sending, 1) if sending else None,
                "worker_processes": workers, "smtp_connections_per_process": settings.MARKETING_SMTP_CONNECTIONS,
                "rate_limit": rate,
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            }
            self.stdout.write(json.dumps(result))
            if not keep:
                Person.objects.filter(postal_code=MARKER, email__endswith="@example.invalid").delete()
                campaign.delete()
                segment.delete()
                template.delete()
        finally:
            sink.terminate()
            sink.wait(timeout=10)

    def _send_with_workers(self, campaign, workers: int, email: dict, timeout: int) -> float:
        """Starts a Celery worker (prefork, `workers` processes) on a queue of its own, starts the
        send and waits until the campaign is sent; returns the seconds from start to finish."""
        queue = f"send-benchmark-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "CELERY_TASK_DEFAULT_QUEUE": queue, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(email["EMAIL_PORT"]),
            "EMAIL_USE_TLS": "0", "MARKETING_SEND_RATE": str(email["MARKETING_SEND_RATE"]), "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
        }
        celery = Path(sys.executable).with_name("celery")
        worker = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [str(celery), "-A", "crm", "worker", "-Q", queue, "-c", str(workers), "--pool=prefork", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"],
            cwd=settings.BASE_DIR, env=env,
        )
        saved = app.conf.task_always_eager, app.conf.task_default_queue
        app.conf.task_always_eager, app.conf.task_default_queue = False, queue
        try:
            time.sleep(3)  # the worker connects to the broker
            started = time.perf_counter()
            services.campaign_start_send(campaign=campaign)
            deadline = time.monotonic() + timeout
            while Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).get() != Campaign.Status.SENT:
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise CommandError(f"the send did not finish: {services.progress_summary(campaign)}")
                time.sleep(0.2)
            return time.perf_counter() - started
        finally:
            app.conf.task_always_eager, app.conf.task_default_queue = saved
            worker.terminate()
            worker.wait(timeout=30)

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise CommandError("the SMTP sink did not start")
