import imaplib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.outbox import tls_client_context
from service.services import email_ingest


def connect():
    if settings.SERVICE_IMAP_SSL:
        # imaplib's own default context checks no certificate: a verifying one, always.
        context = tls_client_context(cafile=settings.SERVICE_IMAP_SSL_CAFILE)
        client = imaplib.IMAP4_SSL(settings.SERVICE_IMAP_HOST, settings.SERVICE_IMAP_PORT, ssl_context=context, timeout=settings.EMAIL_TIMEOUT)
    else:
        client = imaplib.IMAP4(settings.SERVICE_IMAP_HOST, settings.SERVICE_IMAP_PORT, timeout=settings.EMAIL_TIMEOUT)
    client.login(settings.SERVICE_IMAP_USER, settings.SERVICE_IMAP_PASSWORD)
    return client


class Command(BaseCommand):
    help = "Reads the unseen messages of the service mailbox (SERVICE_IMAP_* settings) and ingests each one."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit, **options):
        if not settings.SERVICE_IMAP_HOST:
            raise CommandError("SERVICE_IMAP_HOST is not set.")
        client = connect()
        try:
            client.select(settings.SERVICE_IMAP_FOLDER)
            status, data = client.search(None, "UNSEEN")
            numbers = (data[0] or b"").split()[:limit] if status == "OK" else []
            count = 0
            for number in numbers:
                status, parts = client.fetch(number, "(RFC822)")
                raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
                if status != "OK" or raw is None:
                    continue
                # Stored first (email_ingest keeps every message), then marked seen: a crash in
                # between means one duplicate raw copy, which ingest recognises by Message-ID.
                email_ingest(raw=raw)
                client.store(number, "+FLAGS", "\\Seen")
                count += 1
        finally:
            client.logout()
        self.stdout.write(f"{count} messages ingested")
