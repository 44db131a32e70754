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


@dataclass(frozen=True)
class Throughput:
    """A case measured in records per second rather than per request (a batch upsert, paging
    through the change feed). `run(user, rng)` does the work and returns the records it handled
    and the seconds the measured part took; the command rolls back whatever it wrote."""

    name: str
    run: Callable  # (user, rng) -> list[tuple[int, float]]: (records, seconds) per measured call
    role: str = "admin"


_throughputs: dict[str, Throughput] = {}


def register_throughput(case: Throughput) -> None:
    _throughputs[case.name] = case


def throughputs() -> list[Throughput]:
    return list(_throughputs.values())
