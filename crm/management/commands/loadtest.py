"""A mixed read workload against gunicorn on 127.0.0.1: requests per second and latency as users see them.

    manage.py loadtest [--workers 2] [--concurrency 8] [--duration 30] [--max-requests 20000]

Starts `gunicorn crm.wsgi` with DEBUG off (collectstatic into var/loadtest-static first), logs in one
user per role by creating their sessions, builds a shuffled list of URLs from every registered
benchmark endpoint (crm.benchmarks), and has `--concurrency` threads request them until the duration
or the request count runs out, whichever comes first. Reports requests/s, per-endpoint p50/p95 and
every non-200 answer, and writes a JSON report to var/benchmarks/. Traffic goes to 127.0.0.1 only.
"""

import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from crm.benchmarks import endpoints
from crm.management.commands.benchmark import Command as Benchmark
from crm.management.commands.benchmark import git_commit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def session_cookie(user) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


class Command(BaseCommand):
    help = "Measures requests/s and latency of a mixed read workload against gunicorn on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--concurrency", type=int, default=8, help="client threads (default: %(default)s)")
        parser.add_argument("--duration", type=float, default=30.0, help="seconds, at most 600 (default: %(default)s)")
        parser.add_argument("--max-requests", type=int, default=20_000, help="at most this many requests")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--output", type=Path)

    def handle(self, *, workers, concurrency, duration, max_requests, seed, output, **options):
        if not (1 <= concurrency <= 64 and 0 < duration <= 600 and 1 <= max_requests <= 1_000_000):
            raise CommandError("Keep it bounded: 1-64 threads, at most 600 s and 1,000,000 requests.")
        selected = endpoints()
        if not selected:
            raise CommandError("No endpoints registered (see crm.benchmarks).")
        helper = Benchmark()
        rng = random.Random(seed)
        cookies = {}
        plan = []
        for endpoint in selected:
            user = helper.user_for(endpoint.role)
            cookies.setdefault(user.pk, session_cookie(user))
            plan += [(endpoint.name, endpoint.url(user, rng), cookies[user.pk]) for _ in range(200)]
        rng.shuffle(plan)
        connection.close()  # the server processes use their own connections

        port = free_port()
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "STATIC_ROOT": str(Path(settings.VAR_DIR) / "loadtest-static")}
        env.setdefault("SECRET_KEY", settings.SECRET_KEY)
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)  # noqa: S603
        gunicorn = [sys.executable, "-m", "gunicorn", "crm.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                    "--log-level", "warning", "--timeout", "60"]
        server = subprocess.Popen(gunicorn, env=env, cwd=settings.BASE_DIR)  # noqa: S603
        try:
            self.wait_until_up(port, server)
            result = self.run_load(port, plan, concurrency, duration, max_requests)
        finally:
            server.terminate()
            server.wait(timeout=30)

        report = {
            "created_at": timezone.now().isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "database": connection.vendor,
            "dataset": helper.dataset(),
            "gunicorn_workers": workers,
            "concurrency": concurrency,
            **result,
        }
        path = output or Path(settings.VAR_DIR) / "benchmarks" / f"loadtest-{timezone.now().astimezone():%Y-%m-%dT%H%M%S}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.stdout.write(f"\n{'endpoint':<30} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
        for name, row in sorted(result["endpoints"].items()):
            self.stdout.write(f"{name:<30} {row['requests']:>6} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['errors']:>7}")
        self.stdout.write(
            f"\n{result['requests']} requests in {result['seconds']} s: {result['requests_per_second']} requests/s "
            f"with {workers} gunicorn workers and {concurrency} clients, {result['errors']} errors. Report: {path}"
        )
        if result["errors"]:
            raise CommandError(f"{result['errors']} requests failed: {result['error_samples']}")

    def wait_until_up(self, port: int, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("gunicorn exited; see its output above.")
            try:
                # As behind the TLS proxy of production: without the header, DEBUG off redirects to https.
                probe = urllib.request.Request(f"http://127.0.0.1:{port}/login/", headers={"X-Forwarded-Proto": "https"})
                urllib.request.urlopen(probe, timeout=5)  # noqa: S310  # nosec B310 (http://127.0.0.1 only)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise CommandError("gunicorn did not answer within 60 s.")

    def run_load(self, port, plan, concurrency, duration, max_requests) -> dict:
        lock = threading.Lock()
        position = 0
        times = defaultdict(list)
        statuses = defaultdict(Counter)
        samples = []
        stop_at = time.monotonic() + duration

        def worker():
            nonlocal position
            while time.monotonic() < stop_at:
                with lock:
                    if position >= max_requests:
                        return
                    name, url, cookie = plan[position % len(plan)]
                    position += 1
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{url}", headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
                )
                start = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  # nosec B310 (http://127.0.0.1 only)
                        response.read()
                        status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                    status = f"error: {error}"
                elapsed = time.perf_counter() - start
                with lock:
                    times[name].append(elapsed)
                    statuses[name][status] += 1
                    if status != 200 and len(samples) < 10:
                        samples.append(f"{status} {url}")

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 120)
        seconds = time.perf_counter() - started
        total = sum(len(t) for t in times.values())
        rows = {}
        for name, values in times.items():
            ordered = sorted(values)
            rows[name] = {
                "requests": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000, 1),
                "errors": sum(c for s, c in statuses[name].items() if s != 200),
                "status_codes": {str(s): c for s, c in statuses[name].items()},
            }
        return {
            "requests": total,
            "seconds": round(seconds, 1),
            "requests_per_second": round(total / seconds, 1) if seconds else None,
            "errors": sum(r["errors"] for r in rows.values()),
            "error_samples": samples,
            "endpoints": rows,
        }
