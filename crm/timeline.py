"""The activity timeline: the 360-degree view of a person or organization.

Each app registers a provider that returns its entries about a person and/or an
organization, newest first, before a point in time. The timeline merges them; each
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


_providers: list[Callable] = []


def register(provider: Callable) -> None:
    if provider not in _providers:
        _providers.append(provider)


def timeline_for(*, user, person=None, organization=None, before: datetime | None = None, limit: int = 30):
    """Up to `limit` entries newest first, and the cursor for the next page (or None)."""
    entries: list[TimelineEntry] = []
    for provider in _providers:
        entries.extend(provider(user=user, person=person, organization=organization, before=before, limit=limit + 1))
    entries.sort(key=lambda e: e.when, reverse=True)
    page = entries[:limit]
    next_before = page[-1].when if len(entries) > limit and page else None
    return page, next_before
