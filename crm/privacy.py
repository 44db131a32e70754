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
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

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
