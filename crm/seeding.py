"""Demo and benchmark data: each app registers a seeder; `manage.py seed_demo` runs them in order."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone


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


def moment_this_month(now: datetime, rng: random.Random) -> datetime:
    """A moment between the start of the current month (local time) and now. Demo data that would
    otherwise lie in the future (a deal closing, an appointment booked) goes here, so that "this
    month" on the dashboards shows figures on any day, the 1st shortly after midnight included."""
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start + (now - start) * rng.random()
