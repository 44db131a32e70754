"""Which segments a user may push to their address book. Segments are marketing's, and contacts
knows no app above it (ARCHITECTURE.md), so marketing registers them here in its ready():

    scopes.register_segments(scopes.SegmentSource(choices=..., people=...))

`choices(user)` lists (id, name) of the segments the user may see; `people(user, id)` is the
segment's people, or None when it is gone or the user may no longer see it. Without marketing
installed, only "all people" can be chosen."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentSource:
    choices: Callable  # (user) -> list[tuple[int, str]]
    people: Callable  # (user, segment_id) -> QuerySet of Person | None


_source: SegmentSource | None = None


def register_segments(source: SegmentSource) -> None:
    global _source
    _source = source


def segment_choices(user) -> list[tuple[int, str]]:
    return list(_source.choices(user)) if _source else []


def segment_people(user, segment_id: int):
    return _source.people(user, segment_id) if _source else None
