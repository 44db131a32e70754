"""What marketing stores about a contacts person, for the data-protection export and erasure
(crm.privacy), and the suppression list that keeps an erased address from being mailed again.

Export: consents with every change (IP address, browser), campaign memberships (call notes),
deliveries (address, status, opens, clicks), tracking events, web form submissions (the submitted
data, UTM, IP address) and blocked-address entries of the person's addresses.

Erasure: consents and their changes are deleted; web form submissions and blocked-address entries
of the person's addresses are deleted; campaign memberships, deliveries and tracking events stay for
the campaign figures, attached to the anonymised person, without call notes, address or error
text; messages of a running send that are not out yet are marked failed. Each of the person's email addresses goes on the suppression list as a keyed hash only
(`SuppressedAddress`): campaign sends skip any person whose address hashes to an entry, so the
erased person gets no marketing email, even if the address comes back by an import. None of these
models keeps change history.

The hash is an HMAC keyed with SECRET_KEY (`salted_hmac`), so whoever has a copy of the database
but not the key cannot test guessed addresses against the list (a plain SHA-256 let them). Its
message is the SHA-256 of the normalised address that the list held before: the migration
(0007) turned every old entry into the new one without knowing the address, as Django's
"wrapped" password hashers upgrade old hashes, and no entry was lost. Lookups also try the keys
in SECRET_KEY_FALLBACKS, so rotating SECRET_KEY (the old key kept as a fallback) keeps the list.
"""

import hashlib

from django.conf import settings
from django.db.models import Q
from django.utils.crypto import salted_hmac

from crm.privacy import classify, emails, plain, scrub
from marketing.models import (
    Campaign,
    CampaignMember,
    Consent,
    ConsentEvent,
    Delivery,
    EmailAddressStatus,
    EmailTemplate,
    Segment,
    SuppressedAddress,
    TrackingEvent,
    WebForm,
    WebFormSubmission,
)

classify(Segment, not_personal="search_key name description definition owner created_at updated_at")
classify(EmailTemplate, not_personal="name language subject body_html body_text created_by created_at updated_at")
classify(
    Campaign,
    not_personal="search_key name code channel status goal budget cost start_date end_date owner template sent_subject "
                 "sent_html sent_text sent_language links send_started_at recipients_ready_at send_finished_at "
                 "created_at updated_at segments",
)
# The call outcome ("reached", "no answer") stays for the campaign figures.
classify(CampaignMember, personal="call_note", not_personal="campaign person status added_at call_outcome called_at called_by")
classify(Consent, personal="purpose channel status source text_version ip_address changed_at", not_personal="person")
classify(
    ConsentEvent,
    personal="action purpose channel source text_version ip_address user_agent occurred_at",
    not_personal="consent person campaign recorded_by",
)
classify(EmailAddressStatus, personal="email reason", not_personal="status campaign recorded_at")
classify(
    Delivery,
    personal="email error",
    not_personal="campaign person batch status claim_token claimed_at attempts next_attempt_at sent_at opened_at "
                 "clicked_at",
)
classify(TrackingEvent, personal="url", not_personal="delivery campaign person kind occurred_at")
classify(
    WebForm,
    not_personal="search_key name key title fields campaign consent_text consent_text_version thank_you is_active "
                 "owner created_at updated_at",
)
classify(WebFormSubmission, personal="data utm wants_newsletter ip_address", not_personal="form person created_at")
# A hash of an erased address, kept so that the address is never mailed again; it names no one.
classify(SuppressedAddress, not_personal="email_hash recorded_at")


SUPPRESSION_KEY_SALT = "marketing.privacy.suppressed-address"


def normalised(email: str) -> str:
    return email.strip().lower()


def address_digest(email: str) -> str:
    """The unkeyed digest of an address, never stored: the message of the keyed hash (and what
    the list held before, see the module docstring)."""
    return hashlib.sha256(f"crm-suppression:{normalised(email)}".encode()).hexdigest()


def keyed_hash(digest: str, *, secret: str | None = None) -> str:
    return salted_hmac(SUPPRESSION_KEY_SALT, digest, secret=secret, algorithm="sha256").hexdigest()


def email_hash(email: str) -> str:
    """What the suppression list stores for an address (under the current SECRET_KEY)."""
    return keyed_hash(address_digest(email))


def email_hashes(email: str) -> list[str]:
    """The address's hash under SECRET_KEY and each of SECRET_KEY_FALLBACKS: what a lookup matches."""
    digest = address_digest(email)
    return [keyed_hash(digest, secret=key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def is_suppressed(email: str) -> bool:
    return bool(email) and SuppressedAddress.objects.filter(email_hash__in=email_hashes(email)).exists()


def suppressed_hashes() -> set[str]:
    return set(SuppressedAddress.objects.values_list("email_hash", flat=True))


def is_in(email: str, hashes: set[str]) -> bool:
    """Whether an address is on a list read once with `suppressed_hashes()` (for many addresses)."""
    return bool(hashes) and not hashes.isdisjoint(email_hashes(email))


def suppress(email: str) -> bool:
    """Puts an address on the suppression list; True when it was not there yet."""
    if is_suppressed(email):
        return False
    return SuppressedAddress.objects.get_or_create(email_hash=email_hash(email))[1]


def _submissions(person):
    condition = Q(person=person)
    for address in emails(person):
        condition |= Q(data__email=address)
    return WebFormSubmission.objects.filter(condition)


def export_person(person) -> list[dict]:
    data = []
    for consent in Consent.objects.filter(person=person).prefetch_related("events").order_by("pk"):
        data.append({
            "type": "consent", "purpose": consent.purpose, "channel": consent.channel, "status": consent.status,
            "source": consent.source, "text_version": consent.text_version, "ip_address": consent.ip_address,
            "changed_at": plain(consent.changed_at),
            "events": [
                {"action": e.action, "source": e.source, "text_version": e.text_version, "ip_address": e.ip_address,
                 "user_agent": e.user_agent, "occurred_at": plain(e.occurred_at)}
                for e in sorted(consent.events.all(), key=lambda e: (e.occurred_at, e.pk))
            ],
        })
    for member in CampaignMember.objects.filter(person=person).select_related("campaign").order_by("pk"):
        data.append({
            "type": "campaign_member", "campaign": member.campaign.name, "status": member.status,
            "added_at": plain(member.added_at), "call_outcome": member.call_outcome, "call_note": member.call_note,
            "called_at": plain(member.called_at),
        })
    for delivery in Delivery.objects.filter(person=person).select_related("campaign").order_by("pk"):
        data.append({
            "type": "delivery", "campaign": delivery.campaign.name, "email": delivery.email, "status": delivery.status,
            "sent_at": plain(delivery.sent_at), "opened_at": plain(delivery.opened_at),
            "clicked_at": plain(delivery.clicked_at), "error": delivery.error,
        })
    for event in TrackingEvent.objects.filter(person=person).select_related("campaign").order_by("occurred_at", "pk"):
        data.append({"type": "tracking", "campaign": event.campaign.name, "kind": event.kind, "url": event.url,
                     "occurred_at": plain(event.occurred_at)})
    for submission in _submissions(person).select_related("form").order_by("created_at", "pk"):
        data.append({"type": "form_submission", "form": submission.form.name, "data": submission.data,
                     "utm": submission.utm, "wants_newsletter": submission.wants_newsletter,
                     "ip_address": submission.ip_address, "created_at": plain(submission.created_at)})
    for status in EmailAddressStatus.objects.filter(email__in=emails(person)):
        data.append({"type": "blocked_address", "email": status.email, "status": status.status,
                     "reason": status.reason, "recorded_at": plain(status.recorded_at)})
    return data


def erase_person(person) -> int:
    addresses = emails(person)
    touched = ConsentEvent.objects.filter(person=person).delete()[0]
    touched += Consent.objects.filter(person=person).delete()[0]
    touched += _submissions(person).delete()[0]
    touched += EmailAddressStatus.objects.filter(email__in=addresses).delete()[0]
    touched += CampaignMember.objects.filter(person=person).exclude(call_note="").update(call_note="")
    # Messages of a running send that have not gone out yet never will: without an address.
    Delivery.objects.filter(person=person, status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED]).update(
        status=Delivery.Status.FAILED, claim_token=""
    )
    touched += Delivery.objects.filter(person=person).update(email="", error="")
    needles = addresses
    for event in TrackingEvent.objects.filter(person=person).exclude(url=""):
        cleaned = scrub(event.url, needles, "")
        if cleaned != event.url:
            TrackingEvent.objects.filter(pk=event.pk).update(url=cleaned)
            touched += 1
    for address in addresses:
        touched += suppress(address)
    return touched
