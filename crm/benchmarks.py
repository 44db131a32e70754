"""Endpoints measured by `manage.py benchmark`; apps register theirs."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: Callable  # (user, rng) -> str, a different row each call where it matters
    role: str = "admin"


_endpoints: dict[str, Endpoint] = {}


def register(endpoint: Endpoint) -> None:
    _endpoints[endpoint.name] = endpoint


def endpoints() -> list[Endpoint]:
    return list(_endpoints.values())
