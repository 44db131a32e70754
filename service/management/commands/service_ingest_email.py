import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from service.services import email_ingest


class Command(BaseCommand):
    help = "Takes one raw RFC 822 message (a file, or - for standard input) and makes it a ticket or a reply."

    def add_arguments(self, parser):
        parser.add_argument("source", help="path of the .eml file, or - to read standard input")

    def handle(self, *args, source, **options):
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        inbound = email_ingest(raw=raw)
        self.stdout.write(f"{inbound.status} ticket={inbound.ticket_id or '-'} inbound={inbound.pk}")
