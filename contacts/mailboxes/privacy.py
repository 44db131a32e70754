"""What the mailbox sync stores about a person, for the data-protection export and erasure.

The emails' text is on the person's activities (contacts.services.privacy exports and erases
those); here are the synced emails' own headers (who wrote to whom, the subject) and the users'
exclusion lists, which may name the person. Runs before the contacts provider (order 15 > 10),
while the activities still link the person to their emails.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from contacts.mailboxes.models import MailboxConnection, MailboxFolder, SyncedEmail
from crm import privacy

privacy.classify(
    MailboxConnection,
    # The exclusion list is configuration, but may hold a customer's address.
    mentions="excluded",
    not_personal="user host port security username password_encrypted is_paused created_at verified_at last_run_at "
                 "last_success_at last_error last_error_detail last_error_at messages_seen messages_stored "
                 "messages_present messages_skipped smtp_host smtp_port smtp_security smtp_username smtp_password_encrypted "
                 "smtp_verified_at",
)
privacy.classify(MailboxFolder, not_personal="connection role name uidvalidity last_uid resets synced_at")
privacy.classify(
    SyncedEmail,
    personal="from_address to_addresses subject",
    # Message-IDs are the mail servers' technical ids, kept so the email is not synced again.
    not_personal="message_key message_id in_reply_to references thread_key connection owner direction folder "
                 "uidvalidity uid sent_at is_private synced_at",
)


def _emails_of(person):
    return SyncedEmail.objects.filter(activities__person=person).distinct()


def export_person(person) -> list[dict]:
    return [
        {"from": e.from_address, "to": e.to_addresses, "subject": e.subject, "sent": privacy.plain(e.sent_at),
         "direction": e.direction, "mailbox_of": e.owner.get_full_name() if e.owner else ""}
        for e in _emails_of(person).select_related("owner").order_by("sent_at", "pk")
    ]


def erase_person(person) -> int:
    needles = privacy.emails(person)
    touched = 0
    with transaction.atomic():
        for email in _emails_of(person):
            email.from_address = privacy.scrub(email.from_address, needles)
            email.to_addresses = privacy.scrub(email.to_addresses, needles)
            email.subject = ""
            email.save(update_fields=["from_address", "to_addresses", "subject"])
            touched += 1
        for connection in MailboxConnection.objects.exclude(excluded=""):
            scrubbed = "\n".join(line for line in connection.excluded.splitlines() if line.strip().lower() not in needles)
            if scrubbed != connection.excluded:
                connection.excluded = scrubbed
                connection.save(update_fields=["excluded"])
                touched += 1
    return touched


def register() -> None:
    privacy.register(privacy.PrivacyProvider(
        "contacts.mailbox", _("Synced emails"), export=export_person, erase=erase_person, order=15,
    ))
