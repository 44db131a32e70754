"""Demo and benchmark data: each app registers a seeder; `manage.py seed_demo` runs them in order."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Seeder:
    name: str
    run: Callable  # (*, scale: int, users: dict[str, list], faker, log) -> None
    order: int = 100
    # () -> bool: whether the app already holds data (`seed_demo --if-empty` then does nothing).
    has_data: Callable | None = None


_seeders: dict[str, Seeder] = {}


def register(seeder: Seeder) -> None:
    _seeders[seeder.name] = seeder


def seeders() -> list[Seeder]:
    return sorted(_seeders.values(), key=lambda s: s.order)
