"""What the address book sync stores about a person, for the data-protection export and erasure.

A card row holds only the person's id and the server's technical names for the card; a
conflict holds the phone's version of the card (the person's name, addresses, numbers). The
erasure deletes the conflicts at once; the card itself leaves the address book at the next run,
which leaves erased people out of every scope and keeps nothing of what the phone had.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from contacts.addressbooks.models import AddressBookCard, AddressBookConflict, AddressBookConnection
from crm import privacy

privacy.classify(
    AddressBookConnection,
    # The segment's name is configuration (a name for a group of people), not a person's data.
    not_personal="user url addressbook_url addressbook_name username password_encrypted scope segment_id segment_name "
                 "is_paused created_at last_run_at last_success_at last_pushed last_deleted last_rejected "
                 "last_conflicts waiting last_error last_error_detail last_error_at lease_until",
)
# The href is made from a UUID of the person's id, the ETag and the hash are the server's and
# our fingerprints of the card: none of them says anything about the person.
privacy.classify(AddressBookCard, not_personal="connection person_id href etag card_hash pushed_at last_error")
privacy.classify(
    AddressBookConflict, personal="person_label remote_card", not_personal="connection person_id kind detected_at",
)


def export_person(person) -> list[dict]:
    conflicts = AddressBookConflict.objects.filter(person_id=person.pk).select_related("connection__user")
    return [
        {"address_book_of": c.connection.user.get_full_name() or c.connection.user.get_username(), "name": c.person_label,
         "what_happened": c.kind, "card_on_the_phone": c.remote_card, "found": privacy.plain(c.detected_at)}
        for c in conflicts.order_by("detected_at", "pk")
    ]


def erase_person(person) -> int:
    with transaction.atomic():
        touched = AddressBookConflict.objects.filter(person_id=person.pk).delete()[0]
        # The next run deletes the card there (erased people are in no scope); soon, not in minutes.
        if AddressBookCard.objects.filter(person_id=person.pk).exists():
            from contacts.addressbooks.sync import push_soon

            push_soon()
    return touched


def register() -> None:
    privacy.register(privacy.PrivacyProvider(
        "contacts.addressbook", _("Address books on phones"), export=export_person, erase=erase_person, order=16,
    ))
