"""Re-encrypt users' mailbox passwords with the newest key of CRM_SECRET_KEYS, after a new key was put in
front; then the old key can be dropped. Secrets that no configured key opens are counted (their
owners must enter them again), never printed."""

from django.core.management.base import BaseCommand

from crm import secrets


class Command(BaseCommand):
    help = "Re-encrypt users' mailbox passwords with the newest key of CRM_SECRET_KEYS."

    def handle(self, *args, **options):
        from contacts.mailboxes.models import MailboxConnection

        done = unreadable = 0
        for connection in MailboxConnection.objects.only("pk", "password_encrypted").iterator():
            try:
                token = secrets.reencrypt(connection.password_encrypted)
            except secrets.SecretUnreadable:
                unreadable += 1
                continue
            MailboxConnection.objects.filter(pk=connection.pk).update(password_encrypted=token)
            done += 1
        self.stdout.write(f"{done} re-encrypted, {unreadable} unreadable (their users must enter them again).")
