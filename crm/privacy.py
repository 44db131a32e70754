"""Data protection (GDPR art. 15 and 17): export everything stored about a person, and erase it.

Each app that stores personal data about a contacts person registers a provider in its
AppConfig.ready():

    privacy.register(PrivacyProvider("service.tickets", _("Tickets"), export=..., erase=..., order=40))

`export(person)` returns JSON-serialisable data (a list of dicts, say); `erase(person)` removes or
anonymises that data, its change history included, and returns how many records it touched.
`export_person` / `erase_person` run every provider and log the request (PrivacyRequest), without
the person's name, so the log itself holds no personal data. Erasure runs in one transaction: it
happens everywhere or nowhere. It runs the providers from the highest order down, so the contacts
provider (order 10), which empties the person record, comes last and the others can still find
what names the person (`identifiers`, `emails`; `scrub` removes them from free text).

Every field of every model of the project is classified once, next to the export and erasure
that handle it (each app's privacy module calls `classify`), and crm/tests/test_personal_data.py
fails for a field that is not, and for a personal field that the export misses or the erasure
leaves behind:

    privacy.classify(Lead, personal="first_name last_name email ...", derived="search_key",
                     not_personal="status source owner ...")

- personal: about the person; in the export, and emptied, anonymised or deleted with its row on
  erasure (a model's export and erasure may read this list: `personal_fields`, `emptied`).
- mentions: free text about something else (a deal's next step) that may name the person: not
  exported as theirs, but scrubbed of their names and addresses on erasure.
- derived: computed from personal fields (search keys): rebuilt on erasure, not exported.
- retained: personal data of many people at once, of no one person (an uploaded import file):
  deleted after a retention period instead.
- not_personal: ids, links, states, dates, figures, configuration, staff data, and values that
  stay on an anonymised record (a person's country, a survey's rating).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone


@dataclass(frozen=True)
class PrivacyProvider:
    key: str
    label: str
    export: Callable  # (person) -> JSON-serialisable data
    erase: Callable  # (person) -> int, records touched
    order: int = 100


_providers: dict[str, PrivacyProvider] = {}


def register(provider: PrivacyProvider) -> None:
    _providers[provider.key] = provider


def providers() -> list[PrivacyProvider]:
    return sorted(_providers.values(), key=lambda p: (p.order, p.key))


def export_person(person, *, by) -> dict:
    from crm.models import PrivacyRequest

    data = {
        "exported_at": timezone.now().isoformat(),
        "person_id": person.pk,
        "sections": {p.key: {"label": str(p.label), "data": p.export(person)} for p in providers()},
    }
    PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.EXPORT, person_id=person.pk, performed_by=by,
        summary={key: len(section["data"]) if isinstance(section["data"], list) else 1
                 for key, section in data["sections"].items()},
    )
    return data


def erase_person(person, *, by) -> dict[str, int]:
    from crm.models import PrivacyRequest

    with transaction.atomic():
        # Dependent apps first, the person record (contacts, lowest order) last: the other
        # providers still see the person's name and addresses to find what names them.
        touched = {p.key: p.erase(person) for p in reversed(providers())}
        PrivacyRequest.objects.create(
            kind=PrivacyRequest.Kind.ERASURE, person_id=person.pk, performed_by=by, summary=touched
        )
    return touched


def plain(value):
    """A model value as JSON-serialisable data (dates as ISO 8601, the rest as text)."""
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def identifiers(person) -> list[str]:
    """The strings that name a person in free text: full name, email addresses, phone numbers.
    Read before the person record itself is emptied (contacts erases last)."""
    full_name = " ".join(p for p in [person.first_name, person.last_name] if p)
    values = [full_name, person.email, person.email_secondary, str(person.phone or ""), str(person.mobile or "")]
    return [v for v in dict.fromkeys(v.strip() for v in values) if len(v) >= 3]


def emails(person) -> list[str]:
    return [e.strip().lower() for e in (person.email, person.email_secondary) if e and e.strip()]


def scrub(text: str, needles: list[str], replacement: str = "[…]") -> str:
    """`text` with every case-insensitive occurrence of the needles replaced."""
    if not text or not needles:
        return text
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)), re.IGNORECASE)
    return pattern.sub(replacement, text)


# --- the classification of every field ---------------------------------------------------------

CLASSES = ("personal", "mentions", "derived", "retained", "not_personal")


@dataclass(frozen=True)
class Classification:
    personal: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    retained: tuple[str, ...] = ()
    not_personal: tuple[str, ...] = ()
    by_field: dict = field(default_factory=dict, compare=False)


_classifications: dict[str, Classification] = {}


def classify(model, **classes: str) -> Classification:
    """Declare how each field of `model` is treated (space-separated field names per class)."""
    unknown = set(classes) - set(CLASSES)
    if unknown:
        raise TypeError(f"unknown classes for {model._meta.label}: {sorted(unknown)}")
    names = {cls: tuple(classes.get(cls, "").split()) for cls in CLASSES}
    by_field: dict[str, str] = {}
    for cls, fields in names.items():
        for name in fields:
            if name in by_field:
                raise ValueError(f"{model._meta.label}.{name} is classified twice ({by_field[name]}, {cls})")
            by_field[name] = cls
    classification = Classification(**names, by_field=by_field)
    _classifications[model._meta.label] = classification
    return classification


def classification(model) -> Classification | None:
    return _classifications.get(model._meta.label)


def personal_fields(model) -> tuple[str, ...]:
    return _classifications[model._meta.label].personal


def emptied(model, fields) -> dict:
    """The erased value of each field: its default, else None where it may be null, else ""."""
    values = {}
    for name in fields:
        model_field = model._meta.get_field(name)
        if model_field.has_default():
            values[name] = model_field.get_default()
        elif model_field.null:
            values[name] = None
        else:
            values[name] = ""
    return values


def register_core_fields() -> None:
    """crm's own models."""
    from crm.models import (
        ApiToken,
        ChangeEvent,
        CustomField,
        IdempotencyKey,
        OutgoingEmail,
        OutgoingEmailAttachment,
        PrivacyRequest,
        Team,
        WebhookAttempt,
        WebhookDelivery,
        WebhookEndpoint,
        WebhookEvent,
    )

    classify(Team, not_personal="name manager members")
    # The definitions of custom fields are configuration; their values are on the records.
    classify(CustomField, not_personal="model key type label_de label_en help_text_de help_text_en required default "
                                       "choices group order view_roles edit_roles is_personal created_at")
    # The log of export and erasure requests names no one: the person's id and a count per app.
    classify(PrivacyRequest, not_personal="kind person_id performed_by performed_at summary")
    # Email to the person is deleted on erasure; email to others that names them is scrubbed.
    classify(
        OutgoingEmail,
        personal="to subject body html last_reply",
        not_personal="created_at state from_email reply_to headers message_id regarding_type regarding_id attempts "
                     "next_attempt_at claimed_at sent_at sender sent_via sent_copy sent_copy_detail",
    )
    classify(OutgoingEmailAttachment, personal="name content file", not_personal="email content_type")
    # API tokens are the staff's; the change feed says which record changed (an erasure too), not how.
    classify(ApiToken, not_personal="user name prefix secret_hash scope created_at expires_at last_used_at "
                                     "last_used_from revoked_at revoked_by")
    classify(ChangeEvent, not_personal="kind object_id action reason survivor_id occurred_at txid")
    # The response an API call got (a person's record, say), kept CRM_API_IDEMPOTENCY_HOURS.
    classify(IdempotencyKey, retained="response_body response_headers",
             not_personal="user key fingerprint created_at status_code")
    # Webhooks: the subscription is configuration; an event's payload is the record as sent (and a
    # receiver's answer may echo it), kept CRM_WEBHOOK_KEEP_DAYS (crm.webhooks.delivery.webhooks_purge).
    classify(WebhookEndpoint, not_personal="url description event_types secret previous_secret "
                                           "previous_secret_expires_at is_active disabled_reason disabled_at "
                                           "consecutive_failures retry_at lease_until lease_owner created_by created_at")
    classify(WebhookEvent, retained="payload", not_personal="msg_id event_type kind object_id occurred_at")
    classify(WebhookDelivery, not_personal="endpoint event record_key state attempts last_status created_at "
                                           "delivered_at")
    classify(WebhookAttempt, retained="response_excerpt",
             not_personal="delivery started_at status_code duration_ms error")
