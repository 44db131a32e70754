"""Re-encrypt users' mailbox passwords (IMAP, and SMTP where connected) with the newest key of
CRM_SECRET_KEYS, after a new key was put in front; then the old key can be dropped. Secrets that
no configured key opens are counted (their owners must enter them again), never printed."""

from django.core.management.base import BaseCommand

from crm import secrets

FIELDS = ("password_encrypted", "smtp_password_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt users' mailbox passwords with the newest key of CRM_SECRET_KEYS."

    def handle(self, *args, **options):
        from contacts.mailboxes.models import MailboxConnection

        done = unreadable = 0
        for connection in MailboxConnection.objects.only("pk", *FIELDS).iterator():
            changes = {}
            for field in FIELDS:
                token = getattr(connection, field)
                if not token:
                    continue  # no SMTP account
                try:
                    changes[field] = secrets.reencrypt(token)
                except secrets.SecretUnreadable:
                    unreadable += 1
                    continue
                done += 1
            if changes:
                MailboxConnection.objects.filter(pk=connection.pk).update(**changes)
        self.stdout.write(f"{done} re-encrypted, {unreadable} unreadable (their users must enter them again).")
