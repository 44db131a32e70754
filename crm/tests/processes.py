"""For tests that start other processes (a Celery worker, gunicorn, Dovecot, Radicale) against the
test database: the services they need, free ports, the database's URL for their environment, and
real Celery workers (`celery_workers`).

pytest is imported where it is used: the mailbox benchmark (contacts.benchmarks) starts a Dovecot
through crm/tests/dovecot.py outside pytest."""

import os
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
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


class CeleryWorkers:
    """Real Celery workers (`--pool=solo`, the production settings) on a queue of their own, on
    `broker_url` and the Postgres test database. Inside the `with` block this process's Celery app
    sends its tasks there, not eagerly. `start(name)` starts a worker (again after `kill()`, or
    another beside it under another name), its output appended to `log_path(name)`; leaving the
    block stops them all and empties the queue."""

    def __init__(self, log_dir, broker_url: str, *, prefix: str, env: dict | None = None):
        self.queue = f"test-{prefix}-{uuid.uuid4().hex}"
        self.log_dir, self.broker_url = Path(log_dir), broker_url
        self.env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url, "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,  # what a worker queues itself comes back to it
            "DB_CONN_MAX_AGE": "0", **(env or {}),
        }
        self.started: list[tuple[str, subprocess.Popen]] = []
        self.process = None  # the last one started

    def log_path(self, name: str = "worker") -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str = "worker", **extra_env) -> subprocess.Popen:
        base_dir = Path(settings.BASE_DIR)
        with self.log_path(name).open("a") as log:
            process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                [str(base_dir / ".venv" / "bin" / "celery"), "-A", "crm", "worker", "--pool=solo", "-Q", self.queue,
                 "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h"],
                cwd=base_dir, env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
            )
        self.started.append((name, process))
        self.process = process
        return process

    def kill(self, process: subprocess.Popen | None = None) -> None:
        """SIGKILL: no clean shutdown, the task in hand is lost (the last one started by default)."""
        process = process or self.process
        process.kill()
        process.wait(timeout=15)

    def stop(self) -> None:
        for _name, process in self.started:
            if process.poll() is None:
                process.terminate()
        for _name, process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def logs(self, tail: int = 2000) -> str:
        """The end of each worker's log, for a failing wait's message."""
        names = dict.fromkeys(name for name, _process in self.started)
        return "\n".join(f"--- {name}.log\n{self.log_path(name).read_text()[-tail:]}" for name in names)

    def __enter__(self):
        from crm.celery import app

        self._saved = app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue
        app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = False, self.broker_url, self.queue
        app._pool = None  # a pool made earlier in this process points at the old broker
        return self

    def __exit__(self, *exc):
        from crm.celery import app

        app.conf.task_always_eager, app.conf.broker_url, app.conf.task_default_queue = self._saved
        app._pool = None
        self.stop()
        redis.Redis.from_url(self.broker_url).delete(self.queue)


@contextmanager
def celery_workers(log_dir, broker_url: str, *, prefix: str, env: dict | None = None):
    """`CeleryWorkers` once Postgres and Redis are there (else skipped, or failed in CI)."""
    require_services(broker_url)
    with CeleryWorkers(log_dir, broker_url, prefix=prefix, env=env) as workers:
        yield workers
