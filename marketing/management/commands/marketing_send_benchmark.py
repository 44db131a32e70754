"""Measures the campaign send rate into a local SMTP sink (aiosmtpd on 127.0.0.1).

    manage.py marketing_send_benchmark --recipients 100000

Makes that many people with email consent (postal code 00000, removed again afterwards unless
--keep), starts the send through the same service and sender as production (one sending
process, Celery eager), and reports messages per second as the sink counted them.
"""

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from contacts.models import Person
from crm.celery import app
from marketing import services
from marketing.models import Campaign, Consent, EmailTemplate, Segment
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

    def handle(self, *, recipients: int, rate: int, keep: bool, **options):
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

            eager = app.conf.task_always_eager
            app.conf.task_always_eager = True
            try:
                with override_settings(
                    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=port,
                    EMAIL_USE_TLS=False, EMAIL_HOST_USER="", MARKETING_SEND_RATE=rate, DEBUG=False,
                ):
                    started = time.perf_counter()
                    count = services.campaign_start_send(campaign=campaign)
                    elapsed = time.perf_counter() - started
            finally:
                app.conf.task_always_eager = eager
            time.sleep(1)
            received = sum(1 for _ in out.open())
            progress = services.progress_summary(campaign)
            result = {
                "recipients": count, "received_by_sink": received, "seconds": round(elapsed, 1),
                "messages_per_second": round(received / elapsed, 1), "sent": progress["sent"], "rate_limit": rate,
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

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise CommandError("the SMTP sink did not start")
