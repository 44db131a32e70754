"""The activity timeline: the 360-degree view of a person or organization.

Each app registers a provider, under a kind the user can filter by ("Deals", "Tickets"), that
returns its entries about a person and/or an organization, newest first, before a point in
time. An organization's entries include those of its people. The timeline merges them; each
provider runs a fixed number of queries, so the page cost does not grow with history.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str
    kind_label: str
    icon: str
    title: str
    body: str = ""
    url: str | None = None
    actor: str = ""
    extra: dict = field(default_factory=dict)


class TimelineProvider(Protocol):
    def __call__(self, *, user, person=None, organization=None, before: datetime | None, limit: int) -> list[TimelineEntry]: ...


@dataclass(frozen=True)
class TimelineKind:
    """One filter of the timeline ("Deals", "Tickets"): the provider that makes its entries."""

    key: str
    label: str
    provider: Callable
    order: int = 100


_kinds: dict[str, TimelineKind] = {}


def register(provider: Callable, *, kind: str, label: str, order: int = 100) -> None:
    _kinds[kind] = TimelineKind(kind, label, provider, order)


def kinds() -> list[TimelineKind]:
    return sorted(_kinds.values(), key=lambda k: (k.order, k.key))


def parse_kinds(values) -> set[str] | None:
    """The kinds a request asks for (?kind=deal&kind=ticket); None (all) for none or only unknown ones."""
    wanted = {value for value in values if value in _kinds}
    return wanted or None


def timeline_for(*, user, person=None, organization=None, before: datetime | None = None, limit: int = 30,
                 kinds: set[str] | None = None):
    """Up to `limit` entries newest first, and the cursor for the next page (or None). `kinds`
    limits the timeline to those providers; the others do not run at all."""
    entries: list[TimelineEntry] = []
    for kind in _kinds.values():
        if kinds is not None and kind.key not in kinds:
            continue
        entries.extend(kind.provider(user=user, person=person, organization=organization, before=before, limit=limit + 1))
    entries.sort(key=lambda e: e.when, reverse=True)
    page = entries[:limit]
    next_before = page[-1].when if len(entries) > limit and page else None
    return page, next_before
