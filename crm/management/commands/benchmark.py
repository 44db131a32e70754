"""Server-side time and SQL queries per page, measured in-process (see crm.benchmarks).

    manage.py benchmark [--requests 50] [--output var/benchmarks/<time>.json] [--user USERNAME]

Each endpoint is requested as a user of its role through Django's test client, with DEBUG
off, after a few warm-up requests. The time of each request covers middleware, view,
queries and template rendering: what the server spends, without network and browser. The
JSON report holds the data set size, the database and the commit, so that runs can be compared.
"""

import json
import math
import platform
import random
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from crm.benchmarks import Endpoint, Throughput, endpoints, throughputs


class Command(BaseCommand):
    help = "Measures the server-side time (median, p95, max) and SQL queries of the registered pages."

    def add_arguments(self, parser):
        parser.add_argument(
            "--requests", type=int, default=50, help="measured requests per page (default: %(default)s)"
        )
        parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests first (default: %(default)s)")
        parser.add_argument("--output", type=Path, help="JSON report (default: var/benchmarks/<time>.json)")
        parser.add_argument("--user", help="request every page as this user instead of a user of the page's role")
        parser.add_argument("--only", help="comma-separated endpoint names")
        parser.add_argument("--seed", type=int, default=1, help="random seed for the rows and queries requested")

    def handle(
        self,
        *,
        requests: int,
        warmup: int,
        output: Path | None,
        user: str | None,
        only: str | None,
        seed: int,
        **options,
    ):
        if requests < 1:
            raise CommandError("--requests must be at least 1.")
        from crm import gc_tuning

        gc_tuning.tune()  # as the web server's processes run (crm/wsgi.py)
        selected, cases = endpoints(), throughputs()
        if only:
            names = {name.strip() for name in only.split(",")}
            unknown = names - {e.name for e in selected} - {c.name for c in cases}
            if unknown:
                raise CommandError(f"Unknown endpoints: {', '.join(sorted(unknown))}")
            selected = [e for e in selected if e.name in names]
            cases = [c for c in cases if c.name in names]
        if not selected and not cases:
            raise CommandError("No endpoints registered (see crm.benchmarks).")
        fixed_user = self.get_user(user) if user else None

        started_at = timezone.now()
        dataset = self.dataset()
        self.stdout.write(
            f"Database: {connection.vendor}; data set: "
            + ", ".join(f"{label} {count:,}" for label, count in dataset.items() if count)
        )
        rng = random.Random(seed)
        results = []
        with override_settings(**self.production_like_settings()):
            for endpoint in selected:
                results.append(
                    self.measure(endpoint, fixed_user or self.user_for(endpoint.role), requests, warmup, rng)
                )
                self.print_row(results[-1])
            throughput_results = [self.measure_throughput(case, fixed_user or self.user_for(case.role), rng) for case in cases]

        total_time = sum(sum(r.pop("_times")) for r in results)
        total_requests = sum(r["requests"] for r in results)
        report = {
            "created_at": started_at.isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "database": {"vendor": connection.vendor, "server_version": server_version()},
            "python": platform.python_version(),
            "django": django.get_version(),
            "dataset": dataset,
            "requests_per_endpoint": requests,
            "warmup_per_endpoint": warmup,
            "requests_per_second_sequential": round(total_requests / total_time, 1) if total_time else None,
            "endpoints": results,
            "throughput": throughput_results,
        }
        path = output or Path(settings.VAR_DIR) / "benchmarks" / f"{started_at.astimezone():%Y-%m-%dT%H%M%S}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        errors = sum(r["errors"] for r in results)
        self.stdout.write(
            f"\n{total_requests} requests, {report['requests_per_second_sequential']} requests/s in one process, "
            f"{errors} errors. Report: {path}"
        )
        if errors:
            raise CommandError(f"{errors} requests failed (see the status codes in the report).")

    def production_like_settings(self) -> dict:
        """DEBUG off as in production; the test client's host allowed; static URLs without a manifest."""
        overrides = {"DEBUG": False, "ALLOWED_HOSTS": [*settings.ALLOWED_HOSTS, "testserver"]}
        if isinstance(staticfiles_storage, ManifestFilesMixin) and not staticfiles_storage.hashed_files:
            # No collectstatic has run here: plain static URLs cost the same and do not fail.
            storages = dict(settings.STORAGES)
            storages["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
            overrides["STORAGES"] = storages
        return overrides

    def get_user(self, username: str):
        try:
            return get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user {username!r}.") from None

    def user_for(self, role: str):
        condition = Q(groups__name=role) | (Q(is_superuser=True) if role == "admin" else Q(pk__in=[]))
        user = get_user_model().objects.filter(condition, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError(f"No user with the role {role!r}: run `manage.py seed_demo` first, or pass --user.")
        return user

    def measure(self, endpoint: Endpoint, user, requests: int, warmup: int, rng: random.Random) -> dict:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for _ in range(warmup):
            client.get(endpoint.url(user, rng), secure=True)
        times, query_counts, sql_times, statuses = [], [], [], Counter()
        slowest_query = {"ms": 0.0, "sql": ""}
        for _ in range(requests):
            url = endpoint.url(user, rng)  # outside the measurement: it may query for a random row
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(url, secure=True)
                times.append(time.perf_counter() - start)
            statuses[response.status_code] += 1
            query_counts.append(len(captured.captured_queries))
            query_ms = [float(query["time"]) * 1000 for query in captured.captured_queries]
            sql_times.append(sum(query_ms))
            for ms, query in zip(query_ms, captured.captured_queries, strict=True):
                if ms > slowest_query["ms"]:
                    slowest_query = {"ms": round(ms, 2), "sql": query["sql"][:500]}
        ordered = sorted(times)
        return {
            "name": endpoint.name,
            "role": endpoint.role,
            "user": user.get_username(),
            "requests": requests,
            "errors": sum(count for status, count in statuses.items() if status != 200),
            "status_codes": {str(status): count for status, count in sorted(statuses.items())},
            "median_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(times) * 1000, 2),
            "mean_queries": round(statistics.fmean(query_counts), 1),
            "mean_sql_ms": round(statistics.fmean(sql_times), 2),  # the rest is Python: views, templates
            "max_queries": max(query_counts),
            "slowest_query": slowest_query,
            "_times": times,
        }

    def measure_throughput(self, case: Throughput, user, rng: random.Random) -> dict:
        """Records per second of one case; what it wrote is rolled back, so runs stay comparable."""
        with transaction.atomic():
            calls = case.run(user, rng)
            transaction.set_rollback(True)
        records, seconds = sum(n for n, _ in calls), sum(s for _, s in calls)
        result = {
            "name": case.name, "role": case.role, "user": user.get_username(), "calls": len(calls),
            "records": records, "seconds": round(seconds, 3),
            "records_per_second": round(records / seconds, 1) if seconds else None,
        }
        if len(calls) > 1:
            # Cases that measure many calls (the slot computation) are judged by their p95 per call.
            times = sorted(s for _, s in calls)
            result["p50_ms_per_call"] = round(times[len(times) // 2] * 1000, 1)
            result["p95_ms_per_call"] = round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 1)
        if not getattr(self, "_throughput_header_printed", False):
            self.stdout.write(f"\n{'throughput':<30} {'role':<14} {'calls':>5} {'records':>8} {'seconds':>8} {'records/s':>10}")
            self._throughput_header_printed = True
        self.stdout.write(
            f"{case.name:<30} {case.role:<14} {len(calls):>5} {records:>8} {seconds:>8.2f} "
            f"{result['records_per_second'] or 0:>10.1f}"
            + (f"   p50 {result['p50_ms_per_call']} ms, p95 {result['p95_ms_per_call']} ms per call" if "p95_ms_per_call" in result else "")
        )
        return result

    def print_row(self, result: dict) -> None:
        if not getattr(self, "_header_printed", False):
            self.stdout.write(
                f"\n{'endpoint':<30} {'role':<14} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} "
                f"{'queries':>8} {'SQL ms':>7} {'errors':>7}"
            )
            self._header_printed = True
        line = (
            f"{result['name']:<30} {result['role']:<14} {result['requests']:>4} {result['median_ms']:>10.1f} "
            f"{result['p95_ms']:>8.1f} {result['max_ms']:>8.1f} {result['mean_queries']:>8.1f} "
            f"{result['mean_sql_ms']:>7.1f} {result['errors']:>7}"
        )
        self.stdout.write(self.style.ERROR(line) if result["errors"] else line)

    def dataset(self) -> dict[str, int]:
        """Row counts of the project's own models (not of history tables or libraries)."""
        base = Path(settings.BASE_DIR).resolve()
        counts = {"users": get_user_model().objects.count()}
        for config in apps.get_app_configs():
            path = Path(config.path).resolve()
            if base not in path.parents or ".venv" in path.parts or "site-packages" in path.parts:
                continue
            for model in config.get_models():
                if model._meta.auto_created or model.__name__.startswith("Historical"):
                    continue
                counts[model._meta.label_lower] = model._default_manager.count()
        return counts


def git_commit() -> str | None:
    try:
        result = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "HEAD"],  # noqa: S607  (git from PATH, fixed arguments, read-only)
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def server_version() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return cursor.fetchone()[0]
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    return ""
