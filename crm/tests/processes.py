"""For tests that start other processes (a Celery worker, gunicorn, Dovecot, Radicale) against the
test database: the services they need, free ports, and the database's URL for their environment.

pytest is imported where it is used: the mailbox benchmark (contacts.benchmarks) starts a Dovecot
through crm/tests/dovecot.py outside pytest."""

import os
import socket
import time
from urllib.parse import quote

import redis
from django.db import connection


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require(condition: bool, message: str) -> None:
    """Nothing when `condition` holds; otherwise skips the test, or fails it when REQUIRE_SERVICES=1
    (CI), where a missing service is a broken set-up, not a reason to test less."""
    if condition:
        return
    import pytest

    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def require_services(redis_url: str, *, who: str = "a worker process") -> None:
    """Postgres as the test database and Redis at `redis_url`; fails instead of skipping when
    REQUIRE_SERVICES=1 (CI)."""
    problems = []
    if connection.vendor != "postgresql":
        problems.append(f"the test database is not Postgres ({who} cannot share an SQLite test database)")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        problems.append(f"Redis is not reachable at {redis_url} ({error})")
    require(not problems, "; ".join(problems))


def require_postgres(why: str) -> None:
    """Postgres as the test database; fails instead of skipping when REQUIRE_SERVICES=1 (CI)."""
    require(connection.vendor == "postgresql", f"this test needs Postgres ({why})")


def database_url() -> str:
    """The test database as a DATABASE_URL for another process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


def wait_for(condition, seconds: float, what):
    """The first truthy value of `condition()` within `seconds`; fails the test after that,
    saying `what` (a text, or a function giving it then: a worker's log as it is at the end)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    import pytest

    pytest.fail(f"waited {seconds} s for {what() if callable(what) else what}")
